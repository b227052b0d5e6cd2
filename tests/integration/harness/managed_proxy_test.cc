// The managed-proxy launcher's workflow, kind-independent, on a real program: streamcheck-mock
// plays the proxy (it listens where it is told, says "address already in use" like any server,
// exits 0 on SIGTERM), and `sh -c` plays its config check.
#include <chrono>
#include <csignal>
#include <netinet/in.h>
#include <string>
#include <sys/socket.h>
#include <unistd.h>
#include <vector>

#include <gtest/gtest.h>

#include "harness/managed/proxy.h"
#include "tests/support/test_support.h"

namespace streamcheck::harness::managed {
namespace {

using namespace std::chrono_literals;

bool has(const std::string &text, const std::string &needle) {
  return text.find(needle) != std::string::npos;
}

// A port bound (not listening) by this test: another server's bind() fails with "address in use",
// and a connect() is refused, so the launcher cannot mistake it for its proxy.
class taken_port {
public:
  taken_port() {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (bind(fd_, reinterpret_cast<sockaddr *>(&a), sizeof a) == 0 &&
        getsockname(fd_, reinterpret_cast<sockaddr *>(&a), &len) == 0)
      port_ = ntohs(a.sin_port);
  }
  ~taken_port() { close(fd_); }
  unsigned short port() const { return port_; }

private:
  int fd_ = -1;
  unsigned short port_ = 0;
};

// The mock as "the proxy": its config is the port it is told to listen on.
class mock_as_proxy : public proxy_kind {
public:
  explicit mock_as_proxy(const test::temp_dir &dir) : dir_(dir.path().string()) {}

  std::string kind() const override { return "mock"; }
  std::string version() const override { return "streamcheck-mock (this build)"; }
  std::string binary() const override { return binary_name; }
  std::string debian_package() const override { return "streamcheck-mock-package"; }
  int ports_needed() const override { return 1; }
  result<unsigned short> write_config(const std::vector<unsigned short> &ports) override {
    ++configs_written;
    // The first attempt's port is taken by another process when the test says so.
    port_ = configs_written == 1 && first_port_taken != 0 ? first_port_taken : ports.front();
    return port_;
  }
  result<bool> prepare() override {
    ++prepared;
    return true;
  }
  std::vector<std::string> check_command() const override { return {"sh", "-c", check_script}; }
  std::string check_name() const override { return "mock -t"; }
  std::string explain_rejection(const std::string &output) const override {
    return "mock -t rejected the config: " + output;
  }
  std::vector<std::string> start_command() const override {
    if (!start_override.empty()) return start_override;
    return {STREAMCHECK_MOCK_BINARY, "--listen", "127.0.0.1:" + std::to_string(port_)};
  }
  std::string error_log() const override { return dir_ + "/error.log"; }
  std::string pid_file() const override { return ""; }
  std::string logs_dir() const override { return dir_; }
  bool relevant_log_line(const std::string &line) const override { return has(line, "[error]"); }

  std::string binary_name = STREAMCHECK_MOCK_BINARY;
  std::string check_script = "exit 0";
  std::vector<std::string> start_override;
  unsigned short first_port_taken = 0;
  int configs_written = 0;
  int prepared = 0;

private:
  std::string dir_;
  unsigned short port_ = 0;
};

TEST(ManagedProxy, StartsAnswersAndStopsByPid) {
  test::temp_dir dir;
  mock_as_proxy kind(dir);
  managed_proxy proxy(kind);
  auto port = proxy.start();
  ASSERT_TRUE(port) << port.message();
  EXPECT_TRUE(port_answers(*port));
  EXPECT_GT(proxy.pid(), 0);
  EXPECT_EQ(kind.prepared, 1);
  EXPECT_EQ(proxy.stop(5s), 0); // the mock exits 0 on SIGTERM
  EXPECT_FALSE(port_answers(*port));
}

TEST(ManagedProxy, ARejectedConfigIsTheKindsOwnMessageAndNothingStarts) {
  test::temp_dir dir;
  mock_as_proxy kind(dir);
  kind.check_script = "echo 'unknown directive at conf:3' >&2; exit 1";
  managed_proxy proxy(kind);
  auto port = proxy.start();
  ASSERT_FALSE(port);
  EXPECT_EQ(port.message(), "mock -t rejected the config: unknown directive at conf:3\n");
  EXPECT_EQ(proxy.pid(), -1);
}

TEST(ManagedProxy, ACheckThatHangsKeepsItsDeadline) {
  test::temp_dir dir;
  mock_as_proxy kind(dir);
  kind.check_script = "sleep 30";
  managed_proxy proxy(kind);
  launch_options o;
  o.check_deadline = 300ms;
  const auto before = mono_clock::now();
  auto port = proxy.start(o);
  ASSERT_FALSE(port);
  EXPECT_EQ(port.message(), "mock -t did not finish within 0.3 s");
  EXPECT_LT(mono_clock::now() - before, 10s);
}

TEST(ManagedProxy, RetriesOnAnotherPortWhenTheFirstWasTakenMeanwhile) {
  test::temp_dir dir;
  taken_port taken;
  ASSERT_NE(taken.port(), 0);
  mock_as_proxy kind(dir);
  kind.first_port_taken = taken.port();
  managed_proxy proxy(kind);
  auto port = proxy.start();
  ASSERT_TRUE(port) << port.message();
  EXPECT_NE(*port, taken.port());
  EXPECT_EQ(kind.configs_written, 2);
  EXPECT_EQ(kind.prepared, 1); // prepared and checked once, not per attempt
  EXPECT_TRUE(port_answers(*port));
}

TEST(ManagedProxy, AFixedPortIsNotRetried) {
  test::temp_dir dir;
  taken_port taken;
  mock_as_proxy kind(dir);
  managed_proxy proxy(kind);
  launch_options o;
  o.listen_port = taken.port(); // the user's --listen-port, taken by someone else
  auto port = proxy.start(o);
  ASSERT_FALSE(port);
  EXPECT_TRUE(has(port.message(), "mock exited at startup:")) << port.message();
  EXPECT_TRUE(has(port.message(), "ddress already in use")) << port.message();
  EXPECT_EQ(kind.configs_written, 1);
}

TEST(ManagedProxy, AProxyThatNeverListensIsStoppedAtTheDeadline) {
  test::temp_dir dir;
  mock_as_proxy kind(dir);
  kind.start_override = {"sh", "-c", "echo starting up; exec sleep 30"};
  managed_proxy proxy(kind);
  launch_options o;
  o.start_deadline = 1s;
  auto port = proxy.start(o);
  ASSERT_FALSE(port);
  EXPECT_TRUE(has(port.message(), "mock did not accept connections on 127.0.0.1:"))
      << port.message();
  EXPECT_TRUE(has(port.message(), "within 1 s:\nstarting up")) << port.message();
  EXPECT_FALSE(proxy.running()); // stopped, not left behind
}

TEST(ManagedProxy, AMissingBinaryNamesItsPackage) {
  test::temp_dir dir;
  mock_as_proxy kind(dir);
  kind.binary_name = "streamcheck-no-such-proxy";
  managed_proxy proxy(kind);
  auto port = proxy.start();
  ASSERT_FALSE(port);
  EXPECT_EQ(port.message(), "cannot run streamcheck-no-such-proxy: No such file or directory "
                            "(Debian: apt-get install streamcheck-mock-package)");
  EXPECT_EQ(kind.configs_written, 0);
}

TEST(ManagedProxy, ErrorLogExcerptKeepsTheLastRelevantLines) {
  test::temp_dir dir;
  mock_as_proxy kind(dir);
  ASSERT_TRUE(
      test::write_file(dir / "error.log", "[info] a\n[error] one\n[error] two\n[error] three\n"));
  managed_proxy proxy(kind);
  EXPECT_EQ(proxy.error_log_excerpt(2), (std::vector<std::string>{"[error] two", "[error] three"}));
}

} // namespace
} // namespace streamcheck::harness::managed
