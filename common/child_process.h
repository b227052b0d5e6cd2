// The one way streamcheck, its tests and its benches run another program: fork/exec into its own
// process group, output to files, started and stopped by pid with deadlines. A child never
// outlives the thread that started it (PR_SET_PDEATHSIG) and inherits no descriptor but 0-2:
// Asio's sockets are not close-on-exec, and a proxy holding a copy of a mock connection would
// keep it open after the mock closed it.
#pragma once
#include <chrono>
#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

#include "common/result.h"

namespace streamcheck {

// Every member has a default, so a request names only what it needs:
// {.argv = {...}, .log = path, .truncate = true}.
struct spawn_request {
  std::vector<std::string> argv = {};      // argv[0] is searched on PATH when it has no '/'
  std::string log = {};                    // stdout, and stderr unless stderr_log; "" = /dev/null
  std::vector<std::string> extra_env = {}; // NAME=VALUE
  std::vector<std::string> drop_env = {};  // NAME= prefixes not passed on
  std::string stderr_log = {};             // stderr on its own ("" = into log)
  bool truncate = false;                   // start the logs empty instead of appending
  bool keep_stdio = false;                 // stdin, stdout, stderr stay this process's (log unused)
  // Its own process group, so that a whole tree (nginx's workers, socat's or a shell's
  // children) can be signalled; off, it stays in this process's group.
  bool own_group = true;
};

// A running child; stopped (as stop() does, 5 s grace) when destroyed. Start it from a thread
// that lives as long as the child should: the parent-death signal follows the starting thread.
class child_process {
public:
  child_process() = default;
  child_process(child_process &&other) noexcept;
  child_process &operator=(child_process &&other) noexcept;
  child_process(const child_process &) = delete;
  child_process &operator=(const child_process &) = delete;
  ~child_process() { stop(std::chrono::seconds(5)); }

  // An error names the program and why it could not run (not found, not executable, a log that
  // cannot be opened); exec failures are reported here, not as an exit status.
  result<bool> start(const spawn_request &r);

  enum class readiness { listening, exited, timed_out };
  // Until 127.0.0.1:port accepts a connection, the child exits, or the deadline passes.
  readiness wait_listening(unsigned short port, std::chrono::milliseconds deadline);

  // Reaps the child if it has exited; true while it runs.
  bool running();
  // Until the child exits (its exit code) or the deadline passes (-1, still running).
  int wait(std::chrono::milliseconds deadline);
  // SIGTERM to the child; after the deadline SIGKILL to its group; once it has exited, SIGKILL to
  // whatever of its group is left (children still draining). Returns the exit code, or -1 when
  // there was nothing to stop.
  int stop(std::chrono::milliseconds deadline);

  pid_t pid() const { return pid_; }
  // Once reaped: the exit status, 128 + signal when killed; -1 before.
  int exit_status() const;
  // Once reaped: waitpid's status word (WIFEXITED, WTERMSIG...).
  std::optional<int> wait_status() const { return status_; }

private:
  bool exited_within(std::chrono::milliseconds deadline) const; // without reaping it
  pid_t pid_ = -1;
  std::optional<int> status_;
};

// The child started last and still running, stopped as child_process::stop does: for a signal
// handling thread (safe from any thread; the child_process object then finds nothing to stop).
void stop_last_child(std::chrono::milliseconds deadline);

// n distinct free loopback ports: bound together (so they differ), read back, released. For
// programs that cannot listen on port 0 and report it; a race with another process is possible.
result<std::vector<unsigned short>> free_ports(int n);

// The program start() would run: `name` itself when it names a path, else the first executable
// of that name on PATH; "" when there is none.
std::string find_program(const std::string &name);

// True once 127.0.0.1:port accepts a TCP connection (one attempt).
bool port_answers(unsigned short port);

// Runs `/bin/sh -c command` with extra environment, waits up to the deadline (then kills its
// process group); returns the exit code or -1.
int run_shell(const std::string &command, const std::vector<std::string> &env,
              std::chrono::milliseconds deadline);

} // namespace streamcheck
