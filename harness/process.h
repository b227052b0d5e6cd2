// The harness runs nginx, a user's proxy command and --after-suite hooks with the one spawner
// (common/child_process.h); this adds what it reads back from their logs.
#pragma once
#include <string>

#include "common/child_process.h"

namespace streamcheck::harness {

using streamcheck::child_process;
using streamcheck::free_ports;
using streamcheck::run_shell;
using streamcheck::spawn_request;

std::string read_file(const std::string &path);
std::string last_lines(const std::string &text, std::size_t n);

} // namespace streamcheck::harness
