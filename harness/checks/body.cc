// body.*: big requests (images) get through.
#include <cstdint>

#include "harness/checks/catalog_parts.h"
#include "harness/checks/requests.h"

namespace streamcheck::harness {
namespace {

// A chat request as a vision client sends it: the image base64-encoded inside the JSON.
probe_spec image_request(std::size_t bytes) {
  probe_spec p = chat_stream("upload", {.tokens = 2});
  std::string image;
  image.reserve(bytes);
  static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::uint32_t x = 2463534242u;
  for (std::size_t i = 0; i < bytes; ++i) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    image += alphabet[x % 64];
  }
  p.body["messages"][0]["images"] = json::array({std::move(image)});
  p.exact_body_bytes = bytes; // the whole body, as a body limit counts it
  p.timeout_ms = 120'000;
  p.start_after_ms = heavy_start_ms;
  return p;
}

check large_request() {
  // Fault: client_max_body_size 1m (nginx's default): a photo sent to a vision model gets an
  // HTML 413, or a request-body limit truncates it.
  return {
      .id = "body.large-request",
      .title = "Large requests (images) get through",
      .severity = level::must,
      .requirement =
          [](const check_context &ctx) {
            return "A realistic chat request with a base64 image, " +
                   std::to_string(ctx.prof.large_body >> 20) + " MiB in all (the " + ctx.prof.name +
                   " profile's size), reaches the upstream byte for byte.";
          },
      .fixes = {{"nginx", "client_max_body_size 100m; (above the largest image request)"},
                {"generic", "raise the request body limit above the largest image request"}},
      .probes =
          [](const check_context &ctx) { return std::vector{image_request(ctx.prof.large_body)}; },
      .judge = [](const observations &o, const check_context &) -> verdict {
        const probe_result *r = o.probe("upload");
        const auto *entries = o.journal_of("upload");
        json m = {{"sent_bytes", r->request_bytes}, {"client_status", r->status}};
        if (entries->empty())
          return fail(std::to_string(r->request_bytes) + " bytes at the upstream",
                      "the request never reached the upstream (client got " + describe_failure(*r) +
                          ")",
                      "the proxy's request body limit is smaller than the request", m);
        const journal_entry &e = entries->back();
        m["upstream_bytes"] = e.body_bytes;
        if (e.body_bytes != r->request_bytes || e.body_fnv1a64 != r->request_fnv1a64)
          return fail(std::to_string(r->request_bytes) + " identical bytes at the upstream",
                      std::to_string(e.body_bytes) + " bytes, hash " + e.body_fnv1a64,
                      "the proxy truncated or altered the request body", m);
        if (r->status != 200)
          return fail("HTTP 200", describe_failure(*r), "the proxy failed the response", m);
        return pass(std::to_string(r->request_bytes) + " bytes (" +
                        std::to_string(r->request_bytes >> 20) + " MiB) arrived intact",
                    m);
      }};
}

} // namespace

void add_body_checks(std::vector<check> &out) {
  out.push_back(large_request());
}

} // namespace streamcheck::harness
