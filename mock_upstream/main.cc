// streamcheck-mock: flags in, server out. Everything else lives in the mock_upstream library.
#include <csignal>
#include <cstdio>
#include <cstring>
#include <string>

#include "common/endpoint.h"
#include "common/fd_limit.h"
#include "common/port_file.h"
#include "mock_upstream/server.h"

namespace {

constexpr int exit_runtime = 2;
constexpr int exit_usage = 3;

const char *const usage_text = R"(usage: streamcheck-mock [options]

A mock Ollama (and OpenAI-compatible) server with scripted, timestamped token streams and a
journal of every request it received.

  --listen ADDR            where clients and proxies connect (default 127.0.0.1:0 = any free port)
  --control ADDR           journal and health API, e.g. 127.0.0.1:0 (default: none)
  --port-file FILE         write the bound --listen port to FILE
  --control-port-file FILE write the bound --control port to FILE
  --policy NAME            upstream policy (--profile is an older name for it): ollama
                           (default: Origin allow-list, Host check),
                           ollama-lan (OLLAMA_HOST=0.0.0.0, default origins: no Host check),
                           ollama-open (OLLAMA_HOST=0.0.0.0, OLLAMA_ORIGINS=*), openai (CORS *),
                           openai-only (CORS *, only /v1/ routes: vLLM, llama.cpp, LiteLLM),
                           bare (no CORS, no Host check: OPTIONS gets a 405)
  --origins LIST           like OLLAMA_ORIGINS: "*", "default", or comma list added to the defaults
  --host-check on|off      reject non-local Host headers with a bare 403, as Ollama on loopback
  --openai-chunks current|legacy
                           /v1 SSE chunk layout (legacy = Ollama <= v0.32.5; default current)
  --threads N              event loops (default: one per core)
  --max-body BYTES         largest request body accepted (default 536870912)
  --journal-entries N      requests the journal keeps, the oldest dropped first (default 10000,
                           about 120 MiB at most; 0 keeps none)
  --no-stamps              events carry no {"streamcheck":{"seq","t_us"}} stamps (timings
                           unchanged): stands in for a real server in streamcheck live tests
  --help                   this text

Scenarios: a request's "model" picks a preset (GET /api/tags lists them) and a top-level
"streamcheck" object in the body overrides any knob, e.g.
  {"model":"llama3.2","streamcheck":{"id":"t1","first_token_ms":500,"gap_ms":20,"tokens":50}}
Knobs: id first_token_ms gap_ms jitter_ms tokens token_bytes stall_at stall_ms duration_ms
events_per_write split_events split_gap_ms abort_after abort(fin|rst) error_after error_message
status headers{} legacy_chunks seed. Body-less requests: ?streamcheck.KEY=VALUE.
?streamcheck.policy=PROFILE applies another profile's policy to one request.

Control API (--control): GET /journal[?id=ID&prefix=P&after=SEQ] ({"entries": [...],
"capacity": N, "dropped": entries evicted since start or DELETE, "first_seq": oldest kept}),
DELETE /journal, GET /health, GET /presets.

Exit codes: 0 stopped by SIGINT/SIGTERM, 2 cannot listen, 3 usage error.
)";

int usage_error(const std::string &message) {
  std::fprintf(stderr, "streamcheck-mock: %s (see --help)\n", message.c_str());
  return exit_usage;
}

} // namespace

int main(int argc, char **argv) {
  using namespace streamcheck;
  mock::server_options opts;
  opts.behaviour.request_policy = *mock::policy_for_profile("ollama");
  std::string port_file, control_port_file, origins, host_check;

  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::fputs(usage_text, stdout);
      return 0;
    }
    if (arg == "--no-stamps") {
      opts.behaviour.stamps = false;
      continue;
    }
    if (i + 1 >= argc) return usage_error("unknown option or missing value: " + arg);
    const std::string value = argv[++i];
    if (arg == "--listen" || arg == "--control") {
      auto ep = parse_listen_address(value);
      if (auto *e = std::get_if<endpoint_error>(&ep)) return usage_error(arg + ": " + e->message);
      (arg == "--listen" ? opts.listen : opts.control.emplace()) = std::get<tcp::endpoint>(ep);
    } else if (arg == "--port-file") {
      port_file = value;
    } else if (arg == "--control-port-file") {
      control_port_file = value;
    } else if (arg == "--policy" || arg == "--profile") {
      // --policy, as the harness's streamcheck.policy= says; --profile kept for old scripts
      // (in the harness "profile" means durations).
      auto p = mock::policy_for_profile(value);
      if (!p)
        return usage_error(arg + ": unknown policy '" + value + "' (" + mock::profile_names() +
                           ")");
      opts.behaviour.request_policy = *p;
      opts.profile_name = value;
    } else if (arg == "--origins") {
      origins = value;
    } else if (arg == "--host-check") {
      if (value != "on" && value != "off")
        return usage_error("--host-check: expected on or off, got '" + value + "'");
      host_check = value;
    } else if (arg == "--openai-chunks") {
      if (value != "current" && value != "legacy")
        return usage_error("--openai-chunks: expected current or legacy, got '" + value + "'");
      opts.behaviour.legacy_chunks = value == "legacy";
    } else if (arg == "--threads" || arg == "--max-body" || arg == "--journal-entries") {
      char *end = nullptr;
      const unsigned long long n = std::strtoull(value.c_str(), &end, 10);
      if (value.empty() || *end != '\0' || (arg == "--threads" && (n == 0 || n > 256)))
        return usage_error(arg + ": expected a positive number, got '" + value + "'");
      if (arg == "--threads")
        opts.threads = static_cast<unsigned>(n);
      else if (arg == "--journal-entries")
        opts.journal_entries = n;
      else
        opts.max_body_bytes = n;
    } else {
      return usage_error("unknown option: " + arg);
    }
  }
  if (!origins.empty())
    opts.behaviour.request_policy = mock::with_origins(opts.behaviour.request_policy, origins);
  if (!host_check.empty()) opts.behaviour.request_policy.host_check = host_check == "on";

  // Signals are taken synchronously by this thread; the loops never see them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
  raise_fd_limit();

  auto started = mock::server::start(opts);
  if (!started) {
    std::fprintf(stderr, "streamcheck-mock: %s\n", started.message().c_str());
    return exit_runtime;
  }
  auto &srv = *started.value();
  std::string err;
  if (!port_file.empty() && !write_port_file(port_file, srv.port(), err))
    return std::fprintf(stderr, "streamcheck-mock: %s\n", err.c_str()), exit_runtime;
  if (!control_port_file.empty() && !write_port_file(control_port_file, srv.control_port(), err))
    return std::fprintf(stderr, "streamcheck-mock: %s\n", err.c_str()), exit_runtime;

  const std::string host = opts.listen.address().is_v6()
                               ? "[" + opts.listen.address().to_string() + "]"
                               : opts.listen.address().to_string();
  std::printf("streamcheck-mock: listening on http://%s:%u (profile %s)", host.c_str(), srv.port(),
              opts.profile_name.c_str());
  if (srv.control_port() != 0)
    std::printf(", control http://%s:%u", host.c_str(), srv.control_port());
  std::printf("\n");
  std::fflush(stdout);

  int sig = 0;
  sigwait(&stop_signals, &sig);
  srv.stop();
  std::printf("streamcheck-mock: stopped (%s)\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
  return 0;
}
