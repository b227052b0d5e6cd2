// The streamcheck-proxy binary's contract: usage errors exit 3 with one line on stderr, an
// unusable address exits 2, --help exits 0 and lists every option, --config files are read and
// flags win over them.
#include <gtest/gtest.h>

#include <algorithm>
#include <netinet/in.h>
#include <sys/socket.h>
#include <tuple>
#include <unistd.h>

#include "tests/integration/reference_proxy/proxy_fixture.h"

namespace streamcheck::test {
namespace {

struct run_result {
  std::optional<int> status;
  std::string out, err;
};

// Runs the binary; it must end by itself within the deadline.
run_result run_proxy(const std::vector<std::string> &args) {
  temp_dir dir("streamcheck-proxy-bin");
  std::vector<std::string> argv = {STREAMCHECK_PROXY_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  run_result r;
  auto p = process::spawn(argv, dir / "stdout", dir / "stderr");
  if (!p) return r;
  r.status = p->wait_until(deadline_in(10s));
  if (!r.status) p->stop();
  r.out = read_file(dir / "stdout");
  r.err = read_file(dir / "stderr");
  return r;
}

void expect_usage_error(const std::vector<std::string> &args, std::string_view mentions) {
  std::string joined;
  for (const auto &a : args)
    joined += a + " ";
  SCOPED_TRACE(joined);
  const run_result r = run_proxy(args);
  ASSERT_TRUE(r.status) << "did not exit";
  EXPECT_TRUE(exited_with(r.status, 3)) << describe_status(*r.status) << "\n" << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << "not one line:\n" << r.err;
  EXPECT_TRUE(r.err.starts_with("streamcheck-proxy: ")) << r.err;
  EXPECT_NE(r.err.find(mentions), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "");
}

TEST(ProxyBinary, UsageErrorsExitThreeWithOneLine) {
  expect_usage_error({"--bogus", "1"}, "--bogus");
  expect_usage_error({"--upstream", "https://x"}, "https");
  expect_usage_error({"--upstream", "http://x:1/path"}, "upstream");
  expect_usage_error({"--idle-timeout", "0"}, "idle-timeout");
  expect_usage_error({"--idle-timeout", "soon"}, "idle-timeout");
  expect_usage_error({"--max-body", "lots"}, "max-body");
  expect_usage_error({"--threads", "0"}, "threads");
  expect_usage_error({"--allow-origin", "app.example.test"}, "allow-origin");
  expect_usage_error({"--log-format", "xml"}, "log-format");
  expect_usage_error({"--listen"}, "--listen");
}

TEST(ProxyBinary, BadConfigFilesExitThree) {
  temp_dir dir("streamcheck-proxy-bin");
  ASSERT_TRUE(write_file(dir / "malformed.json", "{\"upstream\": \"http://127.0.0.1:1\","));
  expect_usage_error({"--config", (dir / "malformed.json").string()}, "malformed.json");
  ASSERT_TRUE(write_file(dir / "unknown.json", R"({"upstreams": "http://127.0.0.1:1"})"));
  expect_usage_error({"--config", (dir / "unknown.json").string()}, "upstreams");
  ASSERT_TRUE(write_file(dir / "array.json", "[1, 2]"));
  expect_usage_error({"--config", (dir / "array.json").string()}, "array.json");
  ASSERT_TRUE(write_file(dir / "bad-value.json", R"({"idle-timeout": "forever"})"));
  expect_usage_error({"--config", (dir / "bad-value.json").string()}, "idle-timeout");
  expect_usage_error({"--config", (dir / "missing.json").string()}, "missing.json");
}

TEST(ProxyBinary, AnAddressInUseExitsTwo) {
  // Hold a listening socket on an ephemeral port, then ask the proxy for that port.
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
  const run_result r = run_proxy({"--listen", taken, "--upstream", "http://127.0.0.1:1"});
  ::close(fd);
  ASSERT_TRUE(r.status) << "did not exit";
  EXPECT_TRUE(exited_with(r.status, 2)) << describe_status(*r.status) << "\n" << r.err;
  EXPECT_NE(r.err.find("cannot listen"), std::string::npos) << r.err;
}

// A certificate or key that cannot be loaded stops the proxy at start, not at the first
// handshake; one without the other is a usage error.
TEST(ProxyBinary, UnusableTlsFilesExitTwoWithOneLine) {
  temp_dir dir("streamcheck-proxy-tls");
  ASSERT_TRUE(write_file(dir / "not-a-cert.pem", "hello\n"));
  for (const auto &[cert, key, mentions] :
       {std::tuple{dir / "missing.pem", dir / "missing-key.pem", "missing.pem"},
        std::tuple{dir / "not-a-cert.pem", dir / "not-a-cert.pem", "not-a-cert.pem"}}) {
    const run_result r = run_proxy({"--listen", "127.0.0.1:0", "--upstream", "http://127.0.0.1:1",
                                    "--tls-cert", cert.string(), "--tls-key", key.string()});
    ASSERT_TRUE(r.status) << "did not exit";
    EXPECT_TRUE(exited_with(r.status, 2)) << describe_status(*r.status) << "\n" << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << "not one line:\n" << r.err;
    EXPECT_NE(r.err.find(mentions), std::string::npos) << r.err;
  }
  expect_usage_error({"--tls-cert", (dir / "c.pem").string()}, "--tls-key");
}

TEST(ProxyBinary, HelpListsEveryOption) {
  const run_result r = run_proxy({"--help"});
  ASSERT_TRUE(r.status);
  EXPECT_TRUE(exited_with(r.status, 0)) << describe_status(*r.status);
  EXPECT_TRUE(r.out.starts_with("usage: streamcheck-proxy")) << r.out;
  for (const char *option : {"--listen",
                             "--upstream",
                             "--allow-origin",
                             "--threads",
                             "--connect-timeout",
                             "--first-byte-timeout",
                             "--idle-timeout",
                             "--header-timeout",
                             "--body-timeout",
                             "--send-timeout",
                             "--keepalive-timeout",
                             "--drain-timeout",
                             "--max-body",
                             "--max-header-bytes",
                             "--max-target-bytes",
                             "--max-connections",
                             "--upstream-pool",
                             "--access-log",
                             "--log-format",
                             "--port-file",
                             "--tls-cert",
                             "--tls-key",
                             "--config",
                             "--help"})
    EXPECT_NE(r.out.find(std::string("  ") + option + " "), std::string::npos) << option;
  EXPECT_EQ(r.err, "");
}

using ProxyConfigFile = ProxyTest;

// The file's options apply; flags win over it whatever their order.
TEST_F(ProxyConfigFile, OptionsComeFromTheFileAndFlagsWin) {
  ASSERT_NO_FATAL_FAILURE(start_mock("ollama"));
  const unsigned short dead = pick_free_port();
  const json config = {{"upstream", "http://127.0.0.1:" + std::to_string(dead)},
                       {"allow-origin", json::array({app_origin, "http://localhost:*"})},
                       {"max-body", 512},
                       {"log-format", "json"}};
  ASSERT_TRUE(write_file(dir_ / "proxy.json", config.dump()));
  // start_proxy's --upstream (the mock) comes before --config here, and still wins.
  ASSERT_NO_FATAL_FAILURE(
      start_proxy("http://127.0.0.1:" + std::to_string(mock_port_),
                  {"--config", (dir_ / "proxy.json").string(), "--max-body", "4KiB"}));
  // 1.5 KB: over the file's --max-body, under the flag's.
  const json body = {{"model", "llama3.2"},
                     {"prompt", std::string(1500, 'p')},
                     {"streamcheck", {{"id", "configured"}, {"first_token_ms", 0}, {"tokens", 2}}}};
  const http_response r = exchange(request_bytes(
      "POST", "/api/generate", "HTTP/1.1",
      {"Host: " + std::string(public_host), "Origin: http://localhost:5173"}, body.dump()));
  ASSERT_TRUE(r.complete) << r.raw_head << r.body;
  EXPECT_EQ(r.status, 200) << r.body; // the flag's upstream and the flag's --max-body
  EXPECT_EQ(r.header("Access-Control-Allow-Origin").value_or(""), "http://localhost:5173")
      << r.raw_head; // the file's origins
  EXPECT_EQ(journal("configured").size(), 1u);
}

} // namespace
} // namespace streamcheck::test
