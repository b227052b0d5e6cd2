// streamcheck-mock: flags in, server out. Everything else lives in the mock_upstream library.
#include <csignal>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "common/endpoint.h"
#include "common/fd_limit.h"
#include "common/options.h"
#include "common/port_file.h"
#include "mock_upstream/server.h"

namespace {

constexpr int exit_runtime = 2;
constexpr int exit_usage = 3;

struct mock_flags {
  streamcheck::mock::server_options server;
  std::string port_file, control_port_file, origins, host_check;
};

using streamcheck::options::expected;
using streamcheck::options::problem;

problem listen_address(std::optional<tcp::endpoint> &to, const std::string &v) {
  auto ep = streamcheck::parse_listen_address(v);
  if (auto *e = std::get_if<streamcheck::endpoint_error>(&ep)) return e->message;
  to = std::get<tcp::endpoint>(ep);
  return std::nullopt;
}

// A count as the mock has always read it: any non-negative number.
template <class Field> auto count(Field field, unsigned long long lo, unsigned long long hi) {
  return [field, lo, hi](mock_flags &f, const std::string &v) -> problem {
    const auto n = streamcheck::options::parse_integer(v, static_cast<long long>(lo),
                                                       static_cast<long long>(hi));
    if (!n) return expected("a positive number", v);
    auto &to = field(f);
    to = static_cast<std::remove_reference_t<decltype(to)>>(*n);
    return std::nullopt;
  };
}

const std::vector<streamcheck::options::option<mock_flags>> &flag_table() {
  namespace o = streamcheck::options;
  namespace mock = streamcheck::mock;
  static const std::vector<o::option<mock_flags>> table = {
      {"listen", "ADDR", "where clients and proxies connect",
       [](mock_flags &f, const std::string &v) -> problem {
         std::optional<tcp::endpoint> ep;
         auto p = listen_address(ep, v);
         if (ep) f.server.listen = *ep;
         return p;
       },
       "127.0.0.1:0 = any free port"},
      {"control", "ADDR", "journal and health API, e.g. 127.0.0.1:0",
       [](mock_flags &f, const std::string &v) { return listen_address(f.server.control, v); },
       "none"},
      {"port-file", "FILE", "write the bound --listen port to FILE",
       o::store([](mock_flags & f) -> auto & { return f.port_file; })},
      {"control-port-file", "FILE", "write the bound --control port to FILE",
       o::store([](mock_flags & f) -> auto & { return f.control_port_file; })},
      // --policy, as the harness's streamcheck.policy= says; --profile kept for old scripts (in
      // the harness "profile" means durations).
      {"policy|profile", "NAME",
       "upstream policy: ollama (default: Origin allow-list, Host check), ollama-lan "
       "(OLLAMA_HOST=0.0.0.0, default origins: no Host check), ollama-open (OLLAMA_HOST=0.0.0.0, "
       "OLLAMA_ORIGINS=*), openai (CORS *), openai-only (CORS *, only /v1/ routes: vLLM, "
       "llama.cpp, LiteLLM), bare (no CORS, no Host check: OPTIONS gets a 405)",
       [](mock_flags &f, const std::string &v) -> problem {
         auto p = mock::policy_for_profile(v);
         if (!p) return "unknown policy '" + v + "' (" + mock::profile_names() + ")";
         f.server.behaviour.request_policy = *p;
         f.server.profile_name = v;
         return std::nullopt;
       }},
      {"origins", "LIST",
       "like OLLAMA_ORIGINS: \"*\", \"default\", or comma list added to the defaults",
       o::store([](mock_flags & f) -> auto & { return f.origins; })},
      {"host-check", "on|off",
       "reject non-local Host headers with a bare 403, as Ollama on loopback",
       [](mock_flags &f, const std::string &v) -> problem {
         if (!o::one_of(v, {"on", "off"})) return expected("on or off", v);
         f.host_check = v;
         return std::nullopt;
       }},
      {"openai-chunks", "current|legacy", "/v1 SSE chunk layout (legacy = Ollama <= v0.32.5)",
       [](mock_flags &f, const std::string &v) -> problem {
         if (!o::one_of(v, {"current", "legacy"})) return expected("current or legacy", v);
         f.server.behaviour.legacy_chunks = v == "legacy";
         return std::nullopt;
       },
       "current"},
      {"threads", "N", "event loops",
       count(
           [](mock_flags & f) -> auto & { return f.server.threads; }, 1, 256),
       "one per core"},
      {"max-body", "BYTES", "largest request body accepted",
       count(
           [](mock_flags & f) -> auto & { return f.server.max_body_bytes; }, 0, 1ull << 62),
       "536870912"},
      {"journal-entries", "N",
       "requests the journal keeps, the oldest dropped first (about 120 MiB at most for the "
       "default; 0 keeps none)",
       count(
           [](mock_flags & f) -> auto & { return f.server.journal_entries; }, 0, 1ull << 62),
       "10000"},
      {"no-stamps", "",
       "events carry no {\"streamcheck\":{\"seq\",\"t_us\"}} stamps (timings unchanged): "
       "stands in for a real server in streamcheck live tests",
       [](mock_flags &f, const std::string &) -> problem {
         f.server.behaviour.stamps = false;
         return std::nullopt;
       },
       "", o::takes::nothing},
      {"no-models", "",
       "/api/tags and /v1/models list no model, as a server with nothing pulled or loaded",
       [](mock_flags &f, const std::string &) -> problem {
         f.server.behaviour.list_models = false;
         return std::nullopt;
       },
       "", o::takes::nothing},
      {"api-key", "KEY",
       "answer 401 {\"error\":...} to requests without Authorization: Bearer KEY, as llama.cpp "
       "server's --api-key (preflights still pass)",
       o::store([](mock_flags & f) -> auto & { return f.server.behaviour.api_key; })},
  };
  return table;
}

std::string usage() {
  return R"(usage: streamcheck-mock [options]

A mock Ollama (and OpenAI-compatible) server with scripted, timestamped token streams and a
journal of every request it received.

)" + streamcheck::options::help_text(flag_table(), 27) +
         R"(  --help                   this text

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
}

} // namespace

int main(int argc, char **argv) {
  using namespace streamcheck;
  mock_flags flags;
  flags.server.behaviour.request_policy = *mock::policy_for_profile("ollama");
  if (auto stop = options::parse_main("streamcheck-mock", flag_table(), argc, argv, flags, usage,
                                      exit_usage))
    return *stop;
  mock::server_options &opts = flags.server;
  if (!flags.origins.empty())
    opts.behaviour.request_policy =
        mock::with_origins(opts.behaviour.request_policy, flags.origins);
  if (!flags.host_check.empty())
    opts.behaviour.request_policy.host_check = flags.host_check == "on";
  const std::string &port_file = flags.port_file;
  const std::string &control_port_file = flags.control_port_file;

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
