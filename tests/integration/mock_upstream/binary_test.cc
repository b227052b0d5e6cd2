// The real streamcheck-mock binary: port files, serving, SIGTERM/SIGINT to exit 0 (even with a
// stream in flight), and the documented exit codes for usage errors and an unusable address.
#include <gtest/gtest.h>

#include <csignal>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/integration/mock_upstream/mock_fixture.h"

#ifndef STREAMCHECK_MOCK_BINARY
#error "STREAMCHECK_MOCK_BINARY must name the streamcheck-mock executable"
#endif

namespace streamcheck::test {
namespace {

struct running_mock {
  temp_dir dir{"streamcheck-mock-bin"};
  std::optional<process> proc;
  unsigned short port = 0;
  unsigned short control = 0;

  std::string out() const { return read_file(dir / "stdout"); }
  std::string err() const { return read_file(dir / "stderr"); }
};

std::string describe_status(int st) {
  if (WIFEXITED(st)) return "exit " + std::to_string(WEXITSTATUS(st));
  if (WIFSIGNALED(st)) return "signal " + std::to_string(WTERMSIG(st));
  return "status " + std::to_string(st);
}

// Starts the binary on ephemeral ports and waits for both port files.
void start(running_mock &m, const std::vector<std::string> &extra = {}) {
  std::vector<std::string> argv = {STREAMCHECK_MOCK_BINARY,
                                   "--listen",
                                   "127.0.0.1:0",
                                   "--control",
                                   "127.0.0.1:0",
                                   "--port-file",
                                   (m.dir / "port").string(),
                                   "--control-port-file",
                                   (m.dir / "control-port").string(),
                                   "--threads",
                                   "2"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  m.proc = process::spawn(argv, m.dir / "stdout", m.dir / "stderr");
  ASSERT_TRUE(m.proc) << "cannot run " << STREAMCHECK_MOCK_BINARY;
  const auto port = wait_for_port_file(m.dir / "port", deadline_in(10s), &*m.proc);
  const auto control = wait_for_port_file(m.dir / "control-port", deadline_in(10s), &*m.proc);
  ASSERT_TRUE(port && control) << m.err();
  m.port = *port;
  m.control = *control;
}

// Runs the binary to completion (it must end by itself) and returns its wait status.
int run_to_exit(const std::vector<std::string> &args, std::string &out, std::string &err) {
  temp_dir dir("streamcheck-mock-bin");
  std::vector<std::string> argv = {STREAMCHECK_MOCK_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  auto p = process::spawn(argv, dir / "stdout", dir / "stderr");
  if (!p) return -1;
  const auto st = p->wait_until(deadline_in(10s));
  out = read_file(dir / "stdout");
  err = read_file(dir / "stderr");
  return st ? *st : p->stop();
}

TEST(MockBinary, ServesOnItsPortFilesAndStopsOnSigterm) {
  running_mock m;
  start(m);
  const auto version = http_exchange(m.port, request_bytes("GET", "/api/version", "HTTP/1.0"));
  ASSERT_TRUE(version);
  EXPECT_EQ(parse_http_response(*version).status, 200);

  const auto health =
      http_exchange(m.control, request_bytes("GET", "/health", "HTTP/1.1",
                                             {"Host: 127.0.0.1", "Connection: close"}));
  ASSERT_TRUE(health);
  const json h = json::parse(parse_http_response(*health).body, nullptr, false);
  EXPECT_EQ(h["status"], "ok") << *health;
  EXPECT_EQ(h["port"], m.port);
  EXPECT_EQ(h["profile"], "ollama");

  const int st = m.proc->stop(5s);
  EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << describe_status(st) << "\n" << m.err();
  EXPECT_NE(m.out().find("listening on http://127.0.0.1:" + std::to_string(m.port)),
            std::string::npos)
      << m.out();
  EXPECT_NE(m.out().find("stopped (SIGTERM)"), std::string::npos) << m.out();
  EXPECT_EQ(m.err(), "");
}

TEST(MockBinary, PolicyFlagAndItsOlderNameProfile) {
  for (const char *flag : {"--policy", "--profile"}) {
    running_mock m;
    start(m, {flag, "openai"});
    const auto health =
        http_exchange(m.control, request_bytes("GET", "/health", "HTTP/1.1",
                                               {"Host: 127.0.0.1", "Connection: close"}));
    ASSERT_TRUE(health) << flag;
    const json h = json::parse(parse_http_response(*health).body, nullptr, false);
    EXPECT_EQ(h["profile"], "openai") << flag;
  }
  std::string out, err;
  const int st = run_to_exit({"--policy", "nonsense"}, out, err);
  EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 3) << describe_status(st);
  EXPECT_NE(err.find("--policy: unknown policy 'nonsense'"), std::string::npos) << err;
}

TEST(MockBinary, SigintWithAStreamInFlightExitsZeroPromptly) {
  running_mock m;
  start(m, {"--policy", "openai"});
  auto c = tcp_client::connect(m.port);
  ASSERT_TRUE(c);
  const std::string body =
      generate_body({{"first_token_ms", 0}, {"tokens", 5}, {"stall_at", 2}, {"stall_ms", 60000}});
  ASSERT_TRUE(
      c->send_all(request_bytes("POST", "/api/generate", "HTTP/1.1", {"Host: 127.0.0.1"}, body)));
  ASSERT_EQ(c->read_until(
                [](std::string_view raw) { return parse_http_response(raw).chunks.size() >= 2; },
                deadline_in(5s)),
            read_end::open);

  ASSERT_EQ(::kill(m.proc->pid(), SIGINT), 0);
  const auto st = m.proc->wait_until(deadline_in(5s));
  ASSERT_TRUE(st) << "still running 5 s after SIGINT";
  EXPECT_TRUE(WIFEXITED(*st) && WEXITSTATUS(*st) == 0) << describe_status(*st) << m.err();
  EXPECT_NE(m.out().find("stopped (SIGINT)"), std::string::npos) << m.out();
  // The client learns the stream is over (EOF or reset), without its last chunk.
  const read_end end = c->read_until_eof(deadline_in(5s));
  EXPECT_TRUE(end == read_end::eof || end == read_end::reset) << to_string(end);
  EXPECT_FALSE(parse_http_response(c->received()).complete);
}

TEST(MockBinary, UsageErrorsExitThree) {
  std::string out, err;
  int st = run_to_exit({"--bogus", "1"}, out, err);
  EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 3) << describe_status(st);
  EXPECT_NE(err.find("see --help"), std::string::npos) << err;

  st = run_to_exit({"--host-check", "maybe"}, out, err);
  EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 3) << describe_status(st);

  st = run_to_exit({"--help"}, out, err);
  EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << describe_status(st);
  EXPECT_EQ(out.rfind("usage: streamcheck-mock", 0), 0u) << out;
}

TEST(MockBinary, AnAddressInUseExitsTwo) {
  // Hold a listening socket on an ephemeral port, then ask the mock for that port.
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr *>(&a), sizeof a), 0);
  ASSERT_EQ(::listen(fd, 1), 0);
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr *>(&a), &len), 0);
  const std::string taken = "127.0.0.1:" + std::to_string(ntohs(a.sin_port));

  std::string out, err;
  const int st = run_to_exit({"--listen", taken}, out, err);
  ::close(fd);
  EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 2) << describe_status(st) << err;
  EXPECT_NE(err.find("cannot listen"), std::string::npos) << err;
}

} // namespace
} // namespace streamcheck::test
