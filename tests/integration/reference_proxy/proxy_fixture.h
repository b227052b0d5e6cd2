// The real streamcheck-proxy in front of the real streamcheck-mock, both on ephemeral loopback
// ports, both stopped by pid. Tests talk to the proxy with a raw tcp_client (bytes on the wire),
// read what the proxy forwarded from the mock's journal (its control port) and what the proxy
// recorded from its access log.
#pragma once
#include <gtest/gtest.h>

#include <cstdio>
#include <optional>
#include <string>
#include <string_view>
#include <sys/wait.h>
#include <thread>
#include <vector>

#include "tests/integration/mock_upstream/mock_fixture.h"

#ifndef STREAMCHECK_MOCK_BINARY
#error "STREAMCHECK_MOCK_BINARY must name the streamcheck-mock executable"
#endif
#ifndef STREAMCHECK_PROXY_BINARY
#error "STREAMCHECK_PROXY_BINARY must name the streamcheck-proxy executable"
#endif

namespace streamcheck::test {

inline constexpr std::string_view app_origin = "https://app.example.test";
inline constexpr std::string_view evil_origin = "https://evil.example.test";
inline constexpr std::string_view public_host = "llm.example.test";

inline std::string describe_status(int st) {
  if (st < 0) return "not reaped";
  if (WIFEXITED(st)) return "exit " + std::to_string(WEXITSTATUS(st));
  if (WIFSIGNALED(st)) return "signal " + std::to_string(WTERMSIG(st));
  return "status " + std::to_string(st);
}

inline bool exited_with(std::optional<int> st, int code) {
  return st && WIFEXITED(*st) && WEXITSTATUS(*st) == code;
}

// A journal entry's headers ([[name, value], ...]): the first value of `name` (case-insensitive).
inline std::optional<std::string> journal_header(const json &entry, std::string_view name) {
  for (const auto &h : entry["headers"])
    if (beast::iequals(h[0].get<std::string>(), name)) return h[1].get<std::string>();
  return std::nullopt;
}

inline std::size_t journal_header_count(const json &entry, std::string_view name) {
  std::size_t n = 0;
  for (const auto &h : entry["headers"])
    n += beast::iequals(h[0].get<std::string>(), name) ? 1 : 0;
  return n;
}

// Comma-separated header value contains `token` (case-insensitive).
inline bool has_token(const std::optional<std::string> &value, std::string_view token) {
  if (!value) return false;
  std::string_view rest = *value;
  while (!rest.empty()) {
    const auto comma = rest.find(',');
    std::string_view t = rest.substr(0, comma);
    while (!t.empty() && t.front() == ' ')
      t.remove_prefix(1);
    while (!t.empty() && t.back() == ' ')
      t.remove_suffix(1);
    if (beast::iequals(t, token)) return true;
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
  }
  return false;
}

// The parsed JSON body of a response, or a discarded value.
inline json json_body(const http_response &r) {
  return json::parse(r.body, nullptr, false);
}

// FNV-1a 64, written out here so the test does not share the mock's implementation.
inline std::string fnv1a64_hex(std::string_view data) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : data) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  char buf[20];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

inline const std::string origin_header = "Origin: " + std::string(app_origin);
inline const std::string allow_app = "--allow-origin=" + std::string(app_origin);

// A short, quick stream: tokens + 1 events.
inline json quick_stream(int tokens = 6) {
  return {{"first_token_ms", 0}, {"gap_ms", 5}, {"tokens", tokens}};
}

// The connection ends (FIN, or a reset after the response) before the deadline.
inline void expect_closed(tcp_client &c) {
  const read_end end = c.read_until_eof(deadline_in(5s));
  EXPECT_TRUE(end == read_end::eof || end == read_end::reset)
      << "connection still " << to_string(end) << "; received:\n"
      << c.received();
}

// A proxy-made error: the status and a JSON {"error": "..."} body.
inline void expect_json_error(const http_response &r, int status) {
  EXPECT_EQ(r.status, status) << r.raw_head << r.body;
  EXPECT_TRUE(r.complete) << r.raw_head << r.body;
  EXPECT_TRUE(r.header("Content-Type").value_or("").starts_with("application/json")) << r.raw_head;
  const json body = json_body(r);
  ASSERT_TRUE(body.is_object()) << r.body;
  ASSERT_TRUE(body.contains("error")) << r.body;
  EXPECT_TRUE(body["error"].is_string()) << r.body;
  EXPECT_FALSE(body["error"].get<std::string>().empty());
}

inline void expect_cors_for_app(const http_response &r) {
  EXPECT_EQ(r.header_count("Access-Control-Allow-Origin"), 1u) << r.raw_head;
  EXPECT_EQ(r.header("Access-Control-Allow-Origin").value_or(""), app_origin) << r.raw_head;
  EXPECT_TRUE(has_token(r.header("Vary"), "Origin")) << r.raw_head;
}

// The NDJSON events of a /api/generate body: all parsed, the last one done.
inline void expect_whole_stream(const http_response &r, int tokens) {
  const auto events = ndjson_lines(r.body);
  ASSERT_EQ(events.size(), static_cast<std::size_t>(tokens + 1)) << r.body;
  for (int i = 0; i <= tokens; ++i) {
    ASSERT_TRUE(events[static_cast<std::size_t>(i)].is_object()) << r.body;
    EXPECT_EQ(events[static_cast<std::size_t>(i)]["streamcheck"]["seq"], i);
  }
  EXPECT_EQ(events.back()["done"], true);
}

class ProxyTest : public ::testing::Test {
protected:
  void TearDown() override {
    if (proxy_ && proxy_->running()) {
      const int st = proxy_->stop(10s);
      // A proxy that crashed or hung (or tripped a sanitizer) fails the test that ran it.
      EXPECT_TRUE(exited_with(st, 0)) << "proxy: " << describe_status(st) << "\n" << proxy_err();
    }
    if (mock_) mock_->stop();
  }

  // The mock (profile: ollama, ollama-open, openai, bare) and a proxy in front of it.
  void start(const std::vector<std::string> &proxy_flags = {},
             const std::string &mock_profile = "ollama") {
    ASSERT_NO_FATAL_FAILURE(start_mock(mock_profile));
    ASSERT_NO_FATAL_FAILURE(
        start_proxy("http://127.0.0.1:" + std::to_string(mock_port_), proxy_flags));
  }

  void start_mock(const std::string &profile) {
    mock_ = process::spawn({STREAMCHECK_MOCK_BINARY, "--listen", "127.0.0.1:0", "--port-file",
                            (dir_ / "mock.port").string(), "--control", "127.0.0.1:0",
                            "--control-port-file", (dir_ / "mock.control").string(), "--threads",
                            "1", "--profile", profile},
                           dir_ / "mock.stdout", dir_ / "mock.stderr");
    ASSERT_TRUE(mock_) << "cannot run " << STREAMCHECK_MOCK_BINARY;
    const auto port = wait_for_port_file(dir_ / "mock.port", deadline_in(10s), &*mock_);
    const auto control = wait_for_port_file(dir_ / "mock.control", deadline_in(10s), &*mock_);
    ASSERT_TRUE(port && control) << read_file(dir_ / "mock.stderr");
    mock_port_ = *port;
    control_port_ = *control;
  }

  // Later flags override earlier ones, so per-test flags win over these defaults.
  void start_proxy(const std::string &upstream, const std::vector<std::string> &flags) {
    std::vector<std::string> argv = {STREAMCHECK_PROXY_BINARY,
                                     "--listen",
                                     "127.0.0.1:0",
                                     "--port-file",
                                     (dir_ / "proxy.port").string(),
                                     "--upstream",
                                     upstream,
                                     "--threads",
                                     "1",
                                     "--access-log",
                                     access_log_path().string(),
                                     "--drain-timeout",
                                     "3s"};
    argv.insert(argv.end(), flags.begin(), flags.end());
    proxy_ = process::spawn(argv, dir_ / "proxy.stdout", dir_ / "proxy.stderr");
    ASSERT_TRUE(proxy_) << "cannot run " << STREAMCHECK_PROXY_BINARY;
    const auto port = wait_for_port_file(dir_ / "proxy.port", deadline_in(10s), &*proxy_);
    ASSERT_TRUE(port) << proxy_err();
    proxy_port_ = *port;
  }

  unsigned short port() const { return proxy_port_; }
  std::string mock_authority() const { return "127.0.0.1:" + std::to_string(mock_port_); }
  std::filesystem::path access_log_path() const { return dir_ / "access.log"; }
  std::string proxy_err() const { return read_file(dir_ / "proxy.stderr"); }

  tcp_client connect() {
    auto c = tcp_client::connect(proxy_port_);
    EXPECT_TRUE(c) << "cannot connect to the proxy on " << proxy_port_;
    if (!c) throw std::runtime_error("cannot connect to the proxy");
    return std::move(*c);
  }

  // One request on a fresh connection; reads one response (or until the connection ends).
  http_response exchange(std::string_view request, read_end *end = nullptr,
                         mono_clock::time_point deadline = deadline_in(10s)) {
    tcp_client c = connect();
    EXPECT_TRUE(c.send_all(request));
    return read_response(c, deadline, 0, false, end);
  }

  // GET /journal[?id=ID] on the mock's control listener: the "entries" array.
  json journal(const std::string &id = {}) const {
    const std::string target = id.empty() ? "/journal" : "/journal?id=" + id;
    const auto raw =
        http_exchange(control_port_, request_bytes("GET", target, "HTTP/1.1",
                                                   {"Host: 127.0.0.1", "Connection: close"}));
    if (!raw) return json::array();
    const json doc = json::parse(parse_http_response(*raw).body, nullptr, false);
    return doc.is_object() && doc.contains("entries") ? doc["entries"] : json::array();
  }

  // Waits until the journal holds an entry with this id (the mock has read the whole request).
  json wait_for_entry(const std::string &id,
                      mono_clock::time_point deadline = deadline_in(5s)) const {
    for (;;) {
      const json entries = journal(id);
      if (!entries.empty() || mono_clock::now() >= deadline)
        return entries.empty() ? json() : entries[0];
      std::this_thread::sleep_for(5ms);
    }
  }

  // The one entry with this id once its request ended (outcome not in_progress); at the
  // deadline whatever is there (null when nothing).
  json finished_entry(const std::string &id,
                      mono_clock::time_point deadline = deadline_in(5s)) const {
    for (;;) {
      const json entries = journal(id);
      if (entries.size() == 1 && entries[0]["outcome"] != "in_progress") return entries[0];
      if (mono_clock::now() >= deadline) return entries.size() == 1 ? entries[0] : json();
      std::this_thread::sleep_for(10ms);
    }
  }

  // The access log's lines, parsed.
  std::vector<json> access_log() const {
    std::vector<json> out;
    const std::string text = read_file(access_log_path());
    std::string_view rest = text;
    while (!rest.empty()) {
      const auto nl = rest.find('\n');
      out.push_back(json::parse(rest.substr(0, nl), nullptr, false));
      if (nl == std::string_view::npos) break;
      rest.remove_prefix(nl + 1);
    }
    return out;
  }

  // Waits until the access log holds at least n lines (a line is written when a request ends).
  std::vector<json> wait_for_log_lines(std::size_t n,
                                       mono_clock::time_point deadline = deadline_in(5s)) const {
    for (;;) {
      auto lines = access_log();
      if (lines.size() >= n || mono_clock::now() >= deadline) return lines;
      std::this_thread::sleep_for(10ms);
    }
  }

  // The access-log line of the request whose target is `target`, once written.
  json log_line_for(const std::string &target,
                    mono_clock::time_point deadline = deadline_in(5s)) const {
    for (;;) {
      for (const auto &line : access_log())
        if (line.is_object() && line.value("target", "") == target) return line;
      if (mono_clock::now() >= deadline) return json();
      std::this_thread::sleep_for(10ms);
    }
  }

  // POST /api/generate with a scenario; `id` is the journal's correlation id (in the body and
  // the query, which also keeps access-log lines apart by target).
  static std::string generate_request(const std::string &id, json knobs,
                                      const std::vector<std::string> &headers = {},
                                      std::string_view version = "HTTP/1.1") {
    knobs["id"] = id;
    std::vector<std::string> lines = {"Host: " + std::string(public_host),
                                      "Content-Type: application/json"};
    lines.insert(lines.end(), headers.begin(), headers.end());
    return request_bytes("POST", "/api/generate?streamcheck.id=" + id, version, lines,
                         generate_body(knobs));
  }

  // A request head exactly as given (request_bytes adds a Content-Length to every POST, which a
  // chunked request must not have).
  static std::string raw_head(std::string_view request_line,
                              const std::vector<std::string> &headers) {
    std::string out = std::string(request_line) + "\r\n";
    for (const auto &h : headers)
      out += h + "\r\n";
    return out + "\r\n";
  }

  temp_dir dir_{"streamcheck-proxy-test"};
  std::optional<process> mock_;
  std::optional<process> proxy_;
  unsigned short mock_port_ = 0;
  unsigned short control_port_ = 0;
  unsigned short proxy_port_ = 0;
};

} // namespace streamcheck::test
