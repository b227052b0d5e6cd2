// Child processes the harness runs for a user (nginx, a proxy command, an --after-suite hook):
// own process group, output to a log file, started and stopped by pid with deadlines.
#pragma once
#include <chrono>
#include <string>
#include <sys/types.h>
#include <vector>

#include "common/result.h"

namespace streamcheck::harness {

struct spawn_request {
  std::vector<std::string> argv;      // argv[0] is searched on PATH when it has no '/'
  std::string log;                    // stdout and stderr are appended here
  std::vector<std::string> extra_env; // NAME=VALUE
  std::vector<std::string> drop_env;  // NAME= prefixes not passed on
};

// A running child; stopped (SIGTERM, then SIGKILL to its group) when destroyed.
class child_process {
public:
  child_process() = default;
  child_process(const child_process &) = delete;
  child_process &operator=(const child_process &) = delete;
  ~child_process() { stop(std::chrono::seconds(5)); }

  result<bool> start(const spawn_request &r);

  enum class readiness { listening, exited, timed_out };
  // Until 127.0.0.1:port accepts a connection, the child exits, or the deadline passes.
  readiness wait_listening(unsigned short port, std::chrono::milliseconds deadline);

  // Until the child exits (its status) or the deadline passes (-1, still running).
  int wait(std::chrono::milliseconds deadline);
  // SIGTERM; after the deadline SIGKILL to the whole process group. Returns the exit status
  // (128 + signal when killed), or -1 when there was nothing to stop.
  int stop(std::chrono::milliseconds deadline);
  pid_t pid() const { return pid_; }
  int exit_status() const { return exit_status_; } // after wait_listening says exited

private:
  pid_t pid_ = -1;
  int exit_status_ = -1;
};

// The child started last and still running, stopped as child_process::stop does (for the
// interrupt thread; safe from any thread).
void stop_running_child(std::chrono::milliseconds deadline);

// Waits for pid until the deadline; the exit status, or -1 if it is still running.
int wait_for(pid_t pid, std::chrono::milliseconds deadline);

// n distinct free loopback ports: bound together (so they differ), read back, released. For
// programs that cannot listen on port 0 and report it; a race with another process is possible.
result<std::vector<unsigned short>> free_ports(int n);

// Runs `/bin/sh -c command` with extra environment, waits up to the deadline (then kills its
// process group); returns the exit status or -1.
int run_shell(const std::string &command, const std::vector<std::string> &env,
              std::chrono::milliseconds deadline);

std::string read_file(const std::string &path);
std::string last_lines(const std::string &text, std::size_t n);

} // namespace streamcheck::harness
