#include "harness/managed/session.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "harness/process.h"

namespace streamcheck::harness::managed {

bool temp_prefix::create(const std::string &kind) {
  std::string pattern = "/tmp/streamcheck-" + kind + "-XXXXXX";
  if (!mkdtemp(pattern.data())) return false;
  path = pattern;
  on_interrupt.emplace([this] {
    finish();
    if (!keep) std::fprintf(stderr, "streamcheck: removed %s\n", path.c_str());
  });
  return true;
}

void temp_prefix::finish() const {
  if (path.empty()) return;
  if (keep) {
    std::fprintf(stderr, "streamcheck: kept %s (%s)\n", path.c_str(), contents.c_str());
    return;
  }
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
}

temp_prefix::~temp_prefix() {
  on_interrupt.reset(); // waits for a signal's cleanup that is under way
  finish();
}

result<std::unique_ptr<mock::server>> start_embedded_mock() {
  mock::server_options mo;
  mo.control = mo.listen;
  mo.behaviour.request_policy = *mock::policy_for_profile("ollama");
  // Lives for one run, whose checks read back every request they made: keep them all.
  mo.journal_entries = 100'000;
  auto srv = mock::server::start(mo);
  if (!srv) return error{"cannot start the embedded mock: " + srv.message()};
  return std::move(srv.value());
}

void run_after_suite(const std::string &command, const std::string &url) {
  if (command.empty()) return;
  const int rc = run_shell(command, {"STREAMCHECK_PROXY_URL=" + url}, std::chrono::seconds(120));
  if (rc != 0)
    std::fprintf(stderr, "streamcheck: --after-suite command %s\n",
                 rc < 0 ? "did not finish within 120 s" : ("exited " + std::to_string(rc)).c_str());
}

} // namespace streamcheck::harness::managed
