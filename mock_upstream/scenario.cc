#include "mock_upstream/scenario.h"

#include <charconv>

namespace streamcheck::mock {
namespace {

scenario with(scenario s, auto &&edit) {
  edit(s);
  return s;
}

std::vector<preset> make_presets() {
  const scenario d{};
  return {
      {"llama3.2:latest", "a warm model: 40 ms to first token, 24 tokens 15 ms apart", d},
      {"steady:latest", "100 tokens 20 ms apart",
       with(d,
            [](scenario &s) {
              s.tokens = 100;
              s.gap_ms = 20;
            })},
      {"slow-first-65s:latest", "silent for 65 s (no headers), then streams",
       with(d, [](scenario &s) { s.first_token_ms = 65'000; })},
      {"stall-65s:latest", "pauses 65 s after token 5",
       with(d,
            [](scenario &s) {
              s.stall_at = 5;
              s.stall_ms = 65'000;
            })},
      {"stall-90s:latest", "pauses 90 s after token 5",
       with(d,
            [](scenario &s) {
              s.stall_at = 5;
              s.stall_ms = 90'000;
            })},
      {"long-35s:latest", "a steady 35 s stream, 10 tokens/s",
       with(d,
            [](scenario &s) {
              s.tokens = 350;
              s.gap_ms = 100;
            })},
      {"large-400:latest", "400 tokens of 64 bytes, 5 ms apart",
       with(d,
            [](scenario &s) {
              s.tokens = 400;
              s.token_bytes = 64;
              s.gap_ms = 5;
            })},
      {"abort-fin:latest", "the connection is closed (FIN) after 5 tokens",
       with(d,
            [](scenario &s) {
              s.abort_after = 5;
              s.abort = abort_kind::fin;
            })},
      {"abort-rst:latest", "the connection is reset (RST) after 5 tokens",
       with(d,
            [](scenario &s) {
              s.abort_after = 5;
              s.abort = abort_kind::rst;
            })},
      {"in-band-error:latest", "an in-band {\"error\":...} line after 5 tokens",
       with(d, [](scenario &s) { s.error_after = 5; })},
      {"burst:latest", "tokens leave five per write",
       with(d, [](scenario &s) { s.events_per_write = 5; })},
  };
}

} // namespace

const std::vector<preset> &presets() {
  static const std::vector<preset> all = make_presets();
  return all;
}

std::string normalize_model_name(const std::string &name) {
  const auto slash = name.rfind('/');
  const auto colon = name.rfind(':');
  if (colon != std::string::npos && (slash == std::string::npos || colon > slash)) return name;
  return name + ":latest";
}

const preset *find_preset(const std::string &model) {
  const std::string wanted = normalize_model_name(model);
  for (const auto &p : presets())
    if (p.name == wanted) return &p;
  return nullptr;
}

namespace {

std::string percent_decode(std::string_view in) {
  std::string out;
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '+') {
      out += ' ';
    } else if (in[i] == '%' && i + 2 < in.size()) {
      unsigned v = 0;
      const auto [p, ec] = std::from_chars(in.data() + i + 1, in.data() + i + 3, v, 16);
      if (ec == std::errc{} && p == in.data() + i + 3) {
        out += static_cast<char>(v);
        i += 2;
      } else {
        out += in[i];
      }
    } else {
      out += in[i];
    }
  }
  return out;
}

json scalar_from_text(const std::string &text) {
  const json parsed = json::parse(text, nullptr, false);
  if (!parsed.is_discarded() && !parsed.is_structured()) return parsed;
  return text;
}

} // namespace

json overrides_from_query(const std::string &query) {
  json out = json::object();
  std::string_view rest = query;
  constexpr std::string_view prefix = "streamcheck.";
  while (!rest.empty()) {
    const auto amp = rest.find('&');
    const std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view{} : rest.substr(amp + 1);
    const auto eq = pair.find('=');
    const std::string key = percent_decode(pair.substr(0, eq));
    const std::string value =
        eq == std::string_view::npos ? "" : percent_decode(pair.substr(eq + 1));
    if (key.rfind(prefix, 0) != 0) continue;
    const std::string name = key.substr(prefix.size());
    if (name.rfind("headers.", 0) == 0) {
      // After a scalar streamcheck.headers=V, keep V so that apply_overrides reports it; indexing
      // the scalar would throw.
      if (out.contains("headers") && !out["headers"].is_object()) continue;
      out["headers"][name.substr(8)] = value;
    } else if (name == "id" || name == "error_message" || name == "abort")
      out[name] = value;
    else
      out[name] = scalar_from_text(value);
  }
  return out;
}

} // namespace streamcheck::mock
