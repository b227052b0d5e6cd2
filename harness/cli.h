// The streamcheck command line: parses arguments, runs, writes reports, returns the exit code.
#pragma once

namespace streamcheck::harness {

inline constexpr int exit_ok = 0;
inline constexpr int exit_check_failed = 1;
inline constexpr int exit_setup_error = 2;
inline constexpr int exit_usage = 3;

int run_cli(int argc, char **argv);

} // namespace streamcheck::harness
