#include "reference_proxy/headers.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "common/ascii.h"
#include "common/asio.h"

namespace streamcheck::proxy {
namespace {

template <class F> void for_each_token(std::string_view list, F f) {
  while (!list.empty()) {
    const auto comma = list.find(',');
    const auto token = trim_ows(list.substr(0, comma));
    if (!token.empty()) f(token);
    list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
  }
}

// A comma-separated list without repeats (case-insensitive), in first-seen order: one set
// lookup per token.
class token_list {
public:
  void add(std::string_view token) {
    if (!seen_.insert(ascii_lower(std::string(token))).second) return;
    text_ += (text_.empty() ? "" : ", ") + std::string(token);
  }
  const std::string &text() const { return text_; }

private:
  std::unordered_set<std::string> seen_;
  std::string text_;
};

bool starts_with_icase(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

void add(std::string &out, std::string_view name, std::string_view value) {
  out.append(name).append(": ").append(value).append("\r\n");
}

void add_framing(std::string &out, body_framing body, std::uint64_t length) {
  if (body == body_framing::content_length) add(out, "Content-Length", std::to_string(length));
  if (body == body_framing::chunked) add(out, "Transfer-Encoding", "chunked");
}

void add_framing(header_list &out, body_framing body, std::uint64_t length) {
  if (body == body_framing::content_length)
    out.emplace_back("Content-Length", std::to_string(length));
  if (body == body_framing::chunked) out.emplace_back("Transfer-Encoding", "chunked");
}

std::string status_line(int status, std::string_view reason) {
  if (reason.empty())
    reason = http::obsolete_reason(http::int_to_status(static_cast<unsigned>(status)));
  return "HTTP/1.1 " + std::to_string(status) + " " + std::string(reason) + "\r\n";
}

} // namespace

hop_by_hop_names::hop_by_hop_names(const header_list &headers) {
  for (const std::string_view fixed :
       {"connection", "keep-alive", "proxy-connection", "te", "trailer", "upgrade",
        "transfer-encoding", "proxy-authenticate", "proxy-authorization"})
    named_.emplace(fixed);
  for (const auto &[n, v] : headers)
    if (iequals(n, "Connection"))
      for_each_token(v, [&](std::string_view t) { named_.insert(ascii_lower(std::string(t))); });
}

bool hop_by_hop_names::contains(std::string_view name) const {
  return named_.count(ascii_lower(std::string(name))) > 0;
}

bool is_hop_by_hop(std::string_view name, const header_list &headers) {
  return hop_by_hop_names(headers).contains(name);
}

std::string upstream_request_head(const request_head &req, const forward_context &ctx) {
  std::string out = req.method + " " + req.target + " HTTP/1.1\r\n";
  add(out, "Host", ctx.upstream_authority);
  std::string forwarded_for;
  const hop_by_hop_names hop_by_hop(req.headers);
  for (const auto &[name, value] : req.headers) {
    if (iequals(name, "X-Forwarded-For")) {
      forwarded_for += (forwarded_for.empty() ? "" : ", ") + value;
      continue;
    }
    if (hop_by_hop.contains(name) ||
        (!ctx.forward_underscores && name.find('_') != std::string::npos) ||
        iequals(name, "Host") || iequals(name, "Origin") || iequals(name, "Content-Length") ||
        iequals(name, "Expect") || iequals(name, "X-Forwarded-Proto") ||
        iequals(name, "X-Forwarded-Host"))
      continue;
    add(out, name, value);
  }
  // Appended, as nginx's $proxy_add_x_forwarded_for: the upstream sees the whole chain.
  add(out, "X-Forwarded-For",
      forwarded_for.empty() ? ctx.client_address : forwarded_for + ", " + ctx.client_address);
  add(out, "X-Forwarded-Proto", ctx.client_scheme);
  if (const auto host = find_header(req.headers, "Host"); !host.empty())
    add(out, "X-Forwarded-Host", host);
  add_framing(out, ctx.body, ctx.content_length);
  out += "\r\n";
  return out;
}

header_list client_response_fields(const response_head &res, const client_context &ctx) {
  header_list out;
  token_list vary;
  const auto add_vary = [&](std::string_view token) { vary.add(token); };
  const hop_by_hop_names hop_by_hop(res.headers);
  for (const auto &[name, value] : res.headers) {
    if (hop_by_hop.contains(name) || iequals(name, "Content-Length") ||
        starts_with_icase(name, "Access-Control-"))
      continue;
    if (iequals(name, "Vary")) {
      // The upstream's Origin-related tokens belong to its CORS layer, which is not ours.
      for_each_token(value, [&](std::string_view t) {
        if (!iequals(t, "Origin") && !starts_with_icase(t, "Access-Control-")) add_vary(t);
      });
      continue;
    }
    out.emplace_back(name, value);
  }
  for (const auto &[name, value] : ctx.cors) {
    if (iequals(name, "Vary"))
      for_each_token(value, add_vary);
    else
      out.emplace_back(name, value);
  }
  if (!vary.text().empty()) out.emplace_back("Vary", vary.text());
  add_framing(out, ctx.body, ctx.content_length);
  if (ctx.close)
    out.emplace_back("Connection", "close");
  else if (ctx.keep_alive_10)
    out.emplace_back("Connection", "keep-alive");
  return out;
}

std::string client_response_head(const response_head &res, const client_context &ctx) {
  std::string out = status_line(res.status, res.reason);
  for (const auto &[name, value] : client_response_fields(res, ctx))
    add(out, name, value);
  out += "\r\n";
  return out;
}

local_answer local_response_parts(int status, const header_list &headers,
                                  std::string_view message) {
  response_head res{status, {}, {}};
  local_answer out;
  if (!message.empty()) {
    out.body = nlohmann::json{{"error", message}}.dump(-1, ' ', false,
                                                       nlohmann::json::error_handler_t::replace);
    res.headers.emplace_back("Content-Type", "application/json; charset=utf-8");
  }
  client_context ctx;
  ctx.cors = headers; // ours: added as given (only the upstream's Access-Control-* are dropped)
  ctx.body = body_framing::content_length;
  ctx.content_length = out.body.size();
  out.fields = client_response_fields(res, ctx);
  return out;
}

std::string local_response(int status, const header_list &headers, std::string_view message,
                           bool close) {
  local_answer parts = local_response_parts(status, headers, message);
  if (close) parts.fields.emplace_back("Connection", "close");
  std::string out = status_line(status, {});
  for (const auto &[name, value] : parts.fields)
    add(out, name, value);
  return out + "\r\n" + parts.body;
}

} // namespace streamcheck::proxy
