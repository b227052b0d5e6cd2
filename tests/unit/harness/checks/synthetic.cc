#include "tests/unit/harness/checks/synthetic.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <stdexcept>

#include "common/fnv.h"

namespace streamcheck::harness::synthetic {
namespace {

// A header line as a probe states it ("Name: value").
std::pair<std::string, std::string> split_header(const std::string &line) {
  const auto colon = line.find(':');
  return {line.substr(0, colon), line.substr(line.find_first_not_of(' ', colon + 1))};
}

} // namespace

const check_context &ctx() {
  static const check_context c{*find_profile("quick"), tolerances{}};
  return c;
}

const check &by_id(const std::string &id) {
  for (const auto &c : catalog())
    if (c.id == id) return c;
  throw std::runtime_error("no check '" + id + "' in the catalog");
}

const std::vector<probe_spec> &specs_of(const std::string &id) {
  static std::map<std::string, std::vector<probe_spec>> cache;
  if (auto it = cache.find(id); it != cache.end()) return it->second;
  return cache.emplace(id, by_id(id).probes(ctx())).first->second;
}

probe_spec spec_named(const std::vector<probe_spec> &specs, const std::string &name) {
  for (const auto &s : specs)
    if (s.name == name) return s;
  throw std::runtime_error("no probe '" + name + "'");
}

// --- synthetic observations ---------------------------------------------------------------------

protocol::scenario scenario_of(const probe_spec &s) {
  return s.timeline.value_or(protocol::scenario{});
}

int expected_events(const probe_spec &s) {
  return protocol::emitted_events(scenario_of(s));
}

bool is_sse(const probe_spec &s) {
  return s.path.rfind("/v1/", 0) == 0;
}

probe_result answered(const probe_spec &spec, long status, const std::string &content_type) {
  probe_result r;
  r.name = spec.name;
  r.url = "http://127.0.0.1:8080" + spec.path;
  r.started = true;
  r.status = status;
  r.http_version = "1.1";
  r.headers_us = 2'000;
  r.header_lines = {"HTTP/1.1 " + std::to_string(status) + " X", "Content-Type: " + content_type,
                    "Transfer-Encoding: chunked"};
  r.framing = body_framing::chunked;
  return r;
}

parsed_event event(const json &value, int seq, std::int64_t emitted_us, std::int64_t arrival_us,
                   std::size_t write_index) {
  parsed_event e;
  e.value = value;
  e.value["streamcheck"] = {{"seq", seq}, {"t_us", emitted_us}};
  e.text = e.value.dump();
  e.seq = seq;
  e.emitted_us = emitted_us;
  e.arrival_us = arrival_us;
  e.write_index = write_index;
  return e;
}

void deliver(probe_result &r, parsed_event e) {
  e.write_index = r.writes.size();
  r.writes.push_back({e.arrival_us, e.text.size() + 1});
  r.body += e.text + "\n";
  r.body_bytes = r.body.size();
  if (r.first_byte_us < 0) r.first_byte_us = e.arrival_us;
  r.finished_us = e.arrival_us + 500;
  r.events.push_back(std::move(e));
}

const json token = {{"model", "llama3.2"},
                    {"message", {{"role", "assistant"}, {"content", "blue"}}},
                    {"done", false}};

const json final_object = {{"model", "llama3.2"}, {"done", true}, {"done_reason", "stop"}};

probe_result streamed(const probe_spec &spec, std::int64_t lag_us) {
  const protocol::scenario sc = scenario_of(spec);
  probe_result r =
      answered(spec, sc.status, is_sse(spec) ? "text/event-stream" : "application/x-ndjson");
  for (int i = 0; i < protocol::emitted_events(sc); ++i) {
    if (spec.abort_after_events >= 0 && i == spec.abort_after_events) {
      r.aborted = true;
      r.aborted_us = r.events.back().arrival_us + 1'000;
      r.finished_us = r.aborted_us;
      return r;
    }
    const std::int64_t emitted = protocol::emission_us(sc, i);
    const json value = i == sc.error_after ? json{{"error", sc.error_message}}
                       : i == sc.tokens    ? final_object
                                           : token;
    deliver(r, event(value, i, emitted, emitted + lag_us, 0));
  }
  if (protocol::aborts_midway(sc)) {
    r.curl_code = 18;
    r.curl_error = "Transfer closed with outstanding read data remaining";
  }
  return r;
}

void release_together(probe_result &r, std::size_t group, std::size_t from, std::size_t to) {
  group = std::max<std::size_t>(group, 1);
  to = std::min(to, r.events.size());
  std::vector<body_write> writes;
  std::size_t i = 0;
  while (i < r.events.size()) {
    const std::size_t end = i >= from && i < to ? std::min(i + group, to) : i + 1;
    const std::int64_t at = r.events[end - 1].arrival_us;
    std::size_t bytes = 0;
    for (; i < end; ++i) {
      r.events[i].arrival_us = at;
      r.events[i].write_index = writes.size();
      bytes += r.events[i].text.size() + 1;
    }
    writes.push_back({at, bytes});
  }
  r.writes = writes;
}

void delay_all(probe_result &r, std::int64_t us) {
  for (auto &e : r.events)
    e.arrival_us += us;
  for (auto &w : r.writes)
    w.at_us += us;
}

journal_entry entry(stream_end outcome, std::int64_t ended_us, std::int64_t peer_closed_us) {
  journal_entry e;
  e.outcome = outcome;
  e.ended_us = ended_us;
  e.peer_closed_us = peer_closed_us;
  return e;
}

probe_result &probe_in(observations &o, const std::string &name) {
  for (auto &p : o.probes)
    if (p.name == name) return p;
  throw std::runtime_error("no probe '" + name + "' in the observations");
}

std::vector<journal_entry> &journal_in(observations &o, const std::string &name) {
  for (std::size_t i = 0; i < o.probes.size(); ++i)
    if (o.probes[i].name == name) return o.journal.at(i);
  throw std::runtime_error("no journal for '" + name + "'");
}

// --- what a correct proxy (or the mock itself) produces, per check ------------------------------

bool via_proxy(std::int64_t lag_us) {
  return lag_us != direct_lag_us;
}

observations every_probe_streamed(const std::vector<probe_spec> &specs, std::int64_t lag_us) {
  observations o;
  for (const auto &s : specs) {
    o.probes.push_back(streamed(s, lag_us));
    o.journal.push_back({entry(stream_end::completed, o.probes.back().finished_us)});
  }
  return o;
}

observations cancelled(const std::vector<probe_spec> &specs, std::int64_t lag_us) {
  observations o;
  for (const auto &s : specs) {
    probe_result r = streamed(s, lag_us);
    if (s.abort_after_ms >= 0) { // closed before the upstream said anything
      r = answered(s, 0, "");
      r.header_lines.clear();
      r.aborted = true;
      r.aborted_us = s.abort_after_ms * 1000LL;
      r.finished_us = r.aborted_us;
    }
    const std::int64_t closed = r.aborted_us + 2'000 + lag_us;
    o.probes.push_back(r);
    o.journal.push_back({entry(stream_end::peer_closed, closed + 300, closed)});
  }
  return o;
}

observations reset_once(const std::vector<probe_spec> &specs, std::int64_t) {
  observations o;
  for (const auto &s : specs) {
    probe_result r = answered(s, 502, "text/html");
    r.body = "<html><body>502 Bad Gateway</body></html>";
    o.probes.push_back(r);
    o.journal.push_back({entry(stream_end::aborted_rst, 1'000)});
  }
  return o;
}

observations routes(const std::vector<probe_spec> &specs, std::int64_t lag_us) {
  observations o;
  for (const auto &s : specs) {
    probe_result r = answered(s, 200, "application/json; charset=utf-8");
    r.header_lines.back() = "Content-Length: 64";
    r.framing = body_framing::content_length;
    const json body = {{"route", s.path},
                       {"models", json::array({{{"name", "llama3.2:latest"}}})},
                       {"created_at", "2025-01-01T00:00:00." + std::to_string(lag_us) + "Z"}};
    r.body = body.dump();
    r.body_bytes = r.body.size();
    r.finished_us = 3'000 + lag_us;
    o.probes.push_back(r);
    o.journal.push_back({entry(stream_end::completed, 2'000)});
  }
  return o;
}

long upstream_status(const probe_spec &s) {
  const protocol::scenario sc = scenario_of(s);
  if (sc.status != 200) return sc.status;
  return s.body.value("model", "") == "no-such-model" ? 404 : 200;
}

probe_result upstream_error(const probe_spec &s) {
  probe_result r = answered(s, upstream_status(s), "application/json; charset=utf-8");
  r.body = is_sse(s)
               ? json{{"error", {{"message", "model not found"}, {"type", "api_error"}}}}.dump()
               : json{{"error", "model 'no-such-model' not found"}}.dump();
  r.body_bytes = r.body.size();
  return r;
}

observations upstream_errors(const std::vector<probe_spec> &specs, std::int64_t) {
  observations o;
  for (const auto &s : specs) {
    o.probes.push_back(upstream_error(s));
    o.journal.push_back({entry(stream_end::completed, 1'000)});
  }
  return o;
}

// --- the request as the upstream saw it (the mock's journal) -------------------------------------

std::string fnv_hex(const std::string &data) {
  char buf[20];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(fnv1a64_of(data)));
  return buf;
}

bool same_name(const std::string &a, const std::string &b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

request_body body_of(const probe_spec &s) {
  const std::string text = s.raw_body.empty() && !s.body.is_null() ? s.body.dump() : s.raw_body;
  return {text.size(), fnv_hex(text)};
}

void record_sent(probe_result &r, const request_body &b) {
  r.request_bytes = b.bytes;
  r.request_fnv1a64 = b.fnv;
}

journal_entry upstream_saw(const probe_spec &s, const request_body &body, bool proxied, long status,
                           int connection) {
  journal_entry e;
  e.headers.emplace_back("Host", proxied ? "localhost:11434" : "127.0.0.1:11434");
  for (const auto &h : s.headers) {
    const auto [name, value] = split_header(h);
    if (same_name(name, "Host") || (proxied && same_name(name, "Origin"))) continue;
    e.headers.emplace_back(name, value);
  }
  if (body.bytes > 0) {
    e.headers.emplace_back("Content-Type", "application/json");
    e.headers.emplace_back("Content-Length", std::to_string(body.bytes));
  }
  if (proxied) {
    e.headers.emplace_back("X-Forwarded-For", "127.0.0.1");
    e.headers.emplace_back("X-Forwarded-Proto", "http");
  }
  e.id = s.name;
  e.connection = static_cast<std::uint64_t>(connection);
  e.method = s.method;
  e.target = s.path;
  e.version = "1.1";
  e.body_bytes = body.bytes;
  e.body_fnv1a64 = body.fnv;
  e.status = static_cast<int>(status);
  e.outcome = stream_end::completed;
  e.ended_us = 1'000'000;
  return e;
}

observations forwarded_streams(const std::vector<probe_spec> &specs, std::int64_t lag_us) {
  observations o;
  int connection = 0;
  for (const auto &s : specs) {
    probe_result r = streamed(s, lag_us);
    const request_body body = body_of(s);
    record_sent(r, body);
    r.local_port = 40'000 + connection;
    o.probes.push_back(r);
    o.journal.push_back({upstream_saw(s, body, via_proxy(lag_us), 200, ++connection)});
  }
  return o;
}

observations kept_alive(const std::vector<probe_spec> &specs, std::int64_t lag_us) {
  observations o = forwarded_streams(specs, lag_us);
  for (std::size_t i = 0; i < o.probes.size(); ++i) {
    o.probes[i].local_port = 40'000;
    o.probes[i].reused_connection = i > 0;
    o.journal[i].back().connection = 1;
  }
  return o;
}

std::string header_of(const probe_spec &s, const std::string &name) {
  for (const auto &h : s.headers)
    if (auto [n, value] = split_header(h); same_name(n, name)) return value;
  return "";
}

const char *const mock_allow_methods = "GET,POST,PUT,PATCH,DELETE,HEAD,OPTIONS";

const char *const mock_allow_headers =
    "Authorization,Content-Type,User-Agent,Accept,X-Requested-With,Openai-Beta,X-Stainless-Arch,"
    "X-Stainless-Lang,X-Stainless-Os,X-Stainless-Package-Version,X-Stainless-Runtime";

void add_cors(probe_result &r, bool proxied) {
  r.header_lines.push_back("Access-Control-Allow-Origin: " +
                           (proxied ? ctx().origin : std::string("*")));
  if (proxied) r.header_lines.push_back("Vary: Origin");
}

observations cors_answers(const std::vector<probe_spec> &specs, std::int64_t lag_us) {
  const bool proxied = via_proxy(lag_us);
  observations o;
  for (const auto &s : specs) {
    probe_result r;
    std::vector<journal_entry> journal;
    const request_body body = body_of(s);
    const protocol::scenario sc = scenario_of(s);
    if (s.method == "OPTIONS") { // answered by the proxy itself; directly, by the mock's CORS
      r = answered(s, 204, "");
      r.header_lines.resize(1);
      r.framing = body_framing::none;
      r.finished_us = 2'000 + lag_us;
      add_cors(r, proxied);
      r.header_lines.push_back(std::string("Access-Control-Allow-Methods: ") +
                               (proxied ? "GET, POST, OPTIONS" : mock_allow_methods));
      r.header_lines.push_back("Access-Control-Allow-Headers: " +
                               (proxied ? header_of(s, "Access-Control-Request-Headers")
                                        : std::string(mock_allow_headers)));
      r.header_lines.push_back("Access-Control-Max-Age: 86400");
      if (!proxied) journal.push_back(upstream_saw(s, body, false, 204, 1));
    } else if (sc.abort_after == 0) { // the upstream resets before any header
      if (proxied) {
        r = answered(s, 502, "application/json");
        r.header_lines[2] = "Content-Length: 49";
        r.framing = body_framing::content_length;
        r.body = R"({"error":"upstream closed the connection early"})";
        r.body_bytes = r.body.size();
        add_cors(r, true);
      } else {
        r = answered(s, 0, "");
        r.header_lines.clear();
        r.framing = body_framing::none;
        r.curl_code = 52;
        r.curl_error = "Server returned nothing (no headers, no data)";
      }
      journal.push_back(entry(stream_end::aborted_rst, 1'000));
    } else if (upstream_status(s) != 200) {
      r = upstream_error(s);
      add_cors(r, proxied);
      journal.push_back(upstream_saw(s, body, proxied, r.status, 1));
    } else {
      r = streamed(s, lag_us);
      add_cors(r, proxied);
      journal.push_back(upstream_saw(s, body, proxied, 200, 1));
    }
    record_sent(r, body);
    o.probes.push_back(r);
    o.journal.push_back(journal);
  }
  return o;
}

const std::map<std::string, builder> &correct_proxy() {
  static const std::map<std::string, builder> all = {
      {"stream.first-token", every_probe_streamed},
      {"stream.no-coalescing.ndjson", every_probe_streamed},
      {"stream.no-coalescing.sse", every_probe_streamed},
      {"stream.compressed-client", every_probe_streamed},
      {"stream.large-response", every_probe_streamed},
      {"stream.content-type", every_probe_streamed},
      {"stream.framing", every_probe_streamed},
      {"timeout.slow-first-token", every_probe_streamed},
      {"timeout.idle-gap", every_probe_streamed},
      {"timeout.long-stream", every_probe_streamed},
      {"abort.cancel-propagates", cancelled},
      {"abort.cancel-during-pause", cancelled},
      {"abort.cancel-before-first-token", cancelled},
      {"abort.truncation-visible", every_probe_streamed},
      {"abort.no-replay", reset_once},
      {"api.endpoints", routes},
      {"api.error-passthrough", upstream_errors},
      {"api.in-band-error", every_probe_streamed},
      {"cors.preflight", cors_answers},
      {"cors.stream-response", cors_answers},
      {"cors.single-value", cors_answers},
      {"cors.error-responses", cors_answers},
      {"cors.proxy-errors", cors_answers},
      {"cors.credentials", cors_answers},
      {"cors.vary-origin", cors_answers},
      {"upstream.origin-accepted", forwarded_streams},
      {"upstream.host-accepted", forwarded_streams},
      {"headers.authorization", forwarded_streams},
      {"headers.forwarded", forwarded_streams},
      {"conn.keepalive", kept_alive},
      {"conn.upstream-keepalive", kept_alive},
      {"conn.concurrent-streams", forwarded_streams},
      {"body.large-request", forwarded_streams},
  };
  return all;
}

const observations &correct(const std::string &id, std::int64_t lag_us) {
  static std::map<std::pair<std::string, std::int64_t>, observations> cache;
  const auto key = std::make_pair(id, lag_us);
  if (auto it = cache.find(key); it != cache.end()) return it->second;
  return cache.emplace(key, correct_proxy().at(id)(specs_of(id), lag_us)).first->second;
}

std::string test_name(const ::testing::TestParamInfo<std::string> &info) {
  std::string n = info.param;
  for (auto &ch : n)
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  return n;
}

mock::plan mock_plan_for(const probe_spec &s) {
  mock::request_view req;
  req.method = s.method;
  req.target = s.path;
  if (header_of(s, "Host").empty()) req.headers.push_back({"Host", "127.0.0.1:11434"});
  for (const auto &h : s.headers)
    req.headers.push_back(split_header(h));
  req.body = s.raw_body.empty() && !s.body.is_null() ? go_json(s.body) : s.raw_body;
  if (!req.body.empty()) req.headers.push_back({"Content-Type", "application/json"});
  return mock::handle(req, mock::mock_options{}, 1);
}

} // namespace streamcheck::harness::synthetic
