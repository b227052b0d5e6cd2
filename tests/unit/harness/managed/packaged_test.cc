// Where a Debian-packaged proxy's binary is, and the error that names the package when it is not
// installed (exit 2 for the managed targets).
#include <gtest/gtest.h>

#include <fstream>

#include "harness/managed/packaged.h"

namespace streamcheck::harness::managed {
namespace {

TEST(PackagedBinary, MissingBinaryNamesTheDebianPackage) {
  const auto r = find_packaged_binary("streamcheck-no-such-proxy", "no-such-package");
  ASSERT_FALSE(r);
  EXPECT_NE(r.message().find("streamcheck-no-such-proxy not found"), std::string::npos);
  EXPECT_NE(r.message().find("apt-get install no-such-package"), std::string::npos);
}

TEST(PackagedBinary, FoundOnPathOrGivenExplicitly) {
  const auto sh = find_packaged_binary("sh", "dash");
  ASSERT_TRUE(sh) << sh.message();
  EXPECT_EQ(sh->back(), 'h');
  EXPECT_EQ(*find_packaged_binary("x", "x", "/bin/sh"), "/bin/sh");
  const std::string plain_file = testing::TempDir() + "/packaged-test-not-executable";
  std::ofstream(plain_file) << "not a program\n"; // created 0644: no execute bit
  const auto not_executable = find_packaged_binary("x", "x", plain_file);
  ASSERT_FALSE(not_executable);
  EXPECT_NE(not_executable.message().find("not an executable"), std::string::npos);
}

} // namespace
} // namespace streamcheck::harness::managed
