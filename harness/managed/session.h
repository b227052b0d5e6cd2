// What every managed run (nginx, the packaged proxies, exec) and self-test set up around the
// proxy: a private temp prefix, the embedded mock the proxy forwards to, and the user's
// --after-suite command while the proxy still runs.
#pragma once
#include <memory>
#include <optional>
#include <string>

#include "common/result.h"
#include "harness/interrupt.h"
#include "mock_upstream/server.h"

namespace streamcheck::harness::managed {

// A private directory (0700) under /tmp, removed again unless --keep-temp, on a signal too.
struct temp_prefix {
  std::string path;
  bool keep = false;
  std::string contents; // what it holds, for the --keep-temp message
  std::optional<interrupt_guard> on_interrupt;

  // /tmp/streamcheck-KIND-XXXXXX; false when it cannot be made.
  bool create(const std::string &kind);
  // Removes the directory, or says where it was kept.
  void finish() const;
  ~temp_prefix();
};

// The mock in this process that self-test measures and every managed target forwards to: a
// stock Ollama's policy, its journal on a control port.
result<std::unique_ptr<mock::server>> start_embedded_mock();

// --after-suite: the user's command, while the proxy still runs (STREAMCHECK_PROXY_URL=url).
void run_after_suite(const std::string &command, const std::string &url);

} // namespace streamcheck::harness::managed
