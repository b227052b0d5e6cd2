// A file of the source tree as text, for the tests that judge a config as a file (the static
// analysers on the fixtures and the recommended configs):
// source_text("fixtures/caddy/stock.Caddyfile"). A missing file is a failed expectation, so a
// renamed fixture cannot leave a test checking nothing.
#pragma once
#include <string>

#include <gtest/gtest.h>

#include "harness/process.h"

namespace streamcheck::harness {

inline std::string source_text(const std::string &path) {
  std::string text = read_file(std::string(STREAMCHECK_SOURCE_DIR) + "/" + path);
  EXPECT_FALSE(text.empty()) << path;
  return text;
}

} // namespace streamcheck::harness
