// streamcheck-proxy: flags in, server out, signals handled here. The proxy itself lives in the
// reference_proxy library.
#include <csignal>
#include <cstdio>
#include <ctime>
#include <string>

#include "common/endpoint.h"
#include "common/fd_limit.h"
#include "common/port_file.h"
#include "reference_proxy/server.h"

namespace {

constexpr int exit_runtime = 2;
constexpr int exit_usage = 3;

// Waits for the connections to finish, up to the deadline; a second SIGINT/SIGTERM cuts it short.
void drain(streamcheck::proxy::server &srv, const sigset_t &signals,
           std::chrono::milliseconds deadline) {
  const auto until = std::chrono::steady_clock::now() + deadline;
  const timespec tick{0, 50'000'000};
  while (srv.connections() > 0 && std::chrono::steady_clock::now() < until)
    if (const int sig = sigtimedwait(&signals, nullptr, &tick); sig == SIGINT || sig == SIGTERM)
      return;
}

} // namespace

int main(int argc, char **argv) {
  using namespace streamcheck;
  auto parsed = proxy::parse_args(std::vector<std::string>(argv + 1, argv + argc));
  if (!parsed) {
    std::fprintf(stderr, "streamcheck-proxy: %s (see --help)\n", parsed.message().c_str());
    return exit_usage;
  }
  if (parsed->help) {
    std::fputs(proxy::usage().c_str(), stdout);
    return 0;
  }
  const proxy::proxy_config &config = parsed->config;

  // Signals are taken synchronously by this thread; the loops never see them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
  raise_fd_limit();

  auto log = proxy::access_log::open(config.access_log, config.log);
  if (!log) {
    std::fprintf(stderr, "streamcheck-proxy: %s\n", log.message().c_str());
    return exit_runtime;
  }
  auto started = proxy::server::start(config, **log);
  if (!started) {
    std::fprintf(stderr, "streamcheck-proxy: %s\n", started.message().c_str());
    return exit_runtime;
  }
  auto &srv = *started.value();
  std::string err;
  if (!config.port_file.empty() && !write_port_file(config.port_file, srv.port(), err)) {
    std::fprintf(stderr, "streamcheck-proxy: %s\n", err.c_str());
    return exit_runtime;
  }
  tcp::endpoint bound = config.listen;
  bound.port(srv.port());
  std::fprintf(stderr, "streamcheck-proxy: listening on %s://%s (%s), upstream http://%s\n",
               config.tls_cert.empty() ? "http" : "https", to_url_authority(bound).c_str(),
               config.tls_cert.empty() ? "HTTP/1.1, h2c" : "TLS: h2, http/1.1",
               config.upstream.authority().c_str());

  int sig = 0;
  while (sigwait(&stop_signals, &sig) == 0 && sig == SIGHUP)
    if (auto reopened = (*log)->reopen(); !reopened)
      std::fprintf(stderr, "streamcheck-proxy: SIGHUP: %s\n", reopened.message().c_str());
  std::fprintf(stderr, "streamcheck-proxy: %s: draining %zu connection(s)\n",
               sig == SIGINT ? "SIGINT" : "SIGTERM", srv.connections());
  srv.drain();
  drain(srv, stop_signals, config.drain_timeout);
  const std::size_t left = srv.connections();
  srv.stop();
  std::fprintf(stderr, "streamcheck-proxy: stopped (%zu connection(s) cut)\n", left);
  return 0;
}
