// Runs the selected checks against a proxy and, at the same time, against the mock directly, then
// judges: a check that fails directly is a harness error, never blamed on the proxy.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "common/result.h"
#include "harness/check.h"
#include "harness/engine.h"
#include "harness/report/report.h"
#include "harness/routes.h"

namespace streamcheck::harness {

struct run_options {
  std::string proxy_url;    // e.g. http://127.0.0.1:8080 (no trailing slash needed)
  std::string mock_control; // e.g. http://127.0.0.1:9001
  std::string profile = "standard";
  std::vector<std::string> only; // --check globs (empty: all)
  std::vector<std::string> skip; // --skip globs
  bool strict = false;
  double tolerance_mult = 1.0;
  std::string proxy_kind;        // empty: detect (harness/proxy_kind.h)
  std::string proxy_kind_source; // how a given kind is known (default "--proxy-kind")
  std::string target_label;      // shown in reports; default "proxy URL"
  std::string origin = "https://app.example.test";
  std::string public_host = "llm.example.test";
  // --host: the Host every request through the proxy carries (a host-routed frontend or vhost);
  // empty: the URL's. upstream.host-accepted keeps its own (public_host).
  std::string host;
  std::string upstream_profile = "ollama"; // ollama, ollama-open, openai, bare
  bool self_test = false;                  // the "proxy" is the mock itself
  route_map routes; // where the proxy serves each upstream route (--base-path, nginx locations)
  // --header / --user: sent on every request through the proxy (gated proxies), never printed.
  std::vector<std::string> extra_headers;
  std::vector<std::string> notes; // setup facts for the report ("assumed: ...")
  // --http: auto (ALPN on TLS, HTTP/1.1 on cleartext), 1.1, 2 (h2 over TLS, required), h2c
  // (prior knowledge), both (the suite over 1.1 and over h2, IDs suffixed @h1 / @h2).
  std::string http = "auto";
};

// How the proxied leg speaks for an --http mode ("both" is two runs: see run_suite).
client_http client_http_for(const std::string &mode, const std::string &proxy_url);

// `both`: a check's ID in the run over one protocol ("stream.first-token@h2").
std::string protocol_suffixed(const std::string &id, bool http2);

// Called as checks finish (for live console lines) and periodically with engine progress.
struct run_callbacks {
  std::function<void(const check_result &)> on_check;
  std::function<void(const engine_progress &)> on_progress;
};

bool selected(const std::string &id, const run_options &o);

// Setup problems (mock or proxy unreachable, bad profile) come back as an error value: exit 2.
result<run_report> run_suite(const run_options &o, const run_callbacks &cb);

// Now, RFC 3339 UTC to the second: a report's started_at.
std::string utc_now();

// Judging, separated from the network for tests: direct and proxied observations -> result.
check_result judge_check(const check &c, const check_context &ctx, const observations &direct,
                         observations proxied, bool strict, const std::string &proxy_kind);

// "curl -N ..." reproducing a probe against the proxy, at the client path it was sent to.
std::string reproduction(const std::string &proxy_url, const probe_spec &spec,
                         const std::string &body);
std::string reproduction(const std::string &proxy_url, const std::string &path,
                         const probe_spec &spec, const std::string &body);

} // namespace streamcheck::harness
