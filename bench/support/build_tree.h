// Where the benches find the programs they measure: in the build tree next to their own.
#pragma once
#include <filesystem>
#include <string>

namespace streamcheck::bench {

// "<build dir>/relative" for a bench at <build dir>/bench/NAME, e.g.
// build_tree_binary("mock_upstream/streamcheck-mock"); "" when /proc/self/exe cannot be read.
inline std::string build_tree_binary(const std::string &relative) {
  std::error_code ec;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return "";
  return (self.parent_path().parent_path() / relative).string();
}

} // namespace streamcheck::bench
