#include "harness/process.h"

#include <arpa/inet.h>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <netinet/in.h>
#include <spawn.h>
#include <sstream>
#include <string_view>
#include <sys/socket.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

extern char **environ;

namespace streamcheck::harness {
namespace {

using clock = std::chrono::steady_clock;

// The running child, for the interrupt thread (harness/interrupt.cc): it runs in its own process
// group, so a Ctrl-C on the terminal would not reach it.
std::atomic<pid_t> running_child{-1};

// Children get their own process group (so a whole tree, e.g. nginx's workers, can be
// signalled) and SIGPIPE back at its default, which streamcheck ignores for itself.
void init_child_attributes(posix_spawnattr_t &attr) {
  posix_spawnattr_init(&attr);
  posix_spawnattr_setpgroup(&attr, 0);
  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  // streamcheck blocks SIGINT/SIGTERM/SIGHUP for its interrupt thread; a child must not inherit
  // that, or SIGTERM would not stop it.
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
}

std::vector<char *> environment(const spawn_request &r) {
  std::vector<char *> env;
  for (char **e = environ; *e; ++e) {
    bool dropped = false;
    for (const auto &prefix : r.drop_env)
      dropped = dropped || std::string_view(*e).rfind(prefix, 0) == 0;
    if (!dropped) env.push_back(*e);
  }
  for (const auto &e : r.extra_env)
    env.push_back(const_cast<char *>(e.c_str()));
  env.push_back(nullptr);
  return env;
}

bool port_answers(unsigned short port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = connect(fd, reinterpret_cast<sockaddr *>(&a), sizeof a) == 0;
  close(fd);
  return ok;
}

} // namespace

result<bool> child_process::start(const spawn_request &r) {
  if (r.argv.empty()) return error{"no command to run"};
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, r.log.c_str(), O_WRONLY | O_CREAT | O_APPEND,
                                   0600);
  posix_spawn_file_actions_adddup2(&fa, STDOUT_FILENO, STDERR_FILENO);
  posix_spawnattr_t attr;
  init_child_attributes(attr);
  std::vector<char *> args;
  for (const auto &a : r.argv)
    args.push_back(const_cast<char *>(a.c_str()));
  args.push_back(nullptr);
  auto env = environment(r);
  const int rc = posix_spawnp(&pid_, args[0], &fa, &attr, args.data(), env.data());
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    pid_ = -1;
    return error{"cannot run " + r.argv[0] + ": " + std::strerror(rc)};
  }
  running_child = pid_;
  exit_status_ = -1;
  return true;
}

child_process::readiness child_process::wait_listening(unsigned short port,
                                                       std::chrono::milliseconds deadline) {
  const auto end = clock::now() + deadline;
  while (clock::now() < end) {
    if (port_answers(port)) return readiness::listening;
    int status = 0;
    if (pid_ > 0 && waitpid(pid_, &status, WNOHANG) == pid_) {
      exit_status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      pid_ = -1;
      running_child = -1;
      return readiness::exited;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return readiness::timed_out;
}

int child_process::wait(std::chrono::milliseconds deadline) {
  if (pid_ <= 0) return exit_status_;
  const int status = wait_for(pid_, deadline);
  if (status != -1) {
    exit_status_ = status;
    pid_ = -1;
    running_child = -1;
  }
  return status;
}

int child_process::stop(std::chrono::milliseconds deadline) {
  if (pid_ <= 0) return -1;
  running_child = -1;
  kill(pid_, SIGTERM);
  int status = wait_for(pid_, deadline);
  if (status == -1) {
    kill(-pid_, SIGKILL); // the whole group: nginx's workers, a shell's children
    status = wait_for(pid_, std::chrono::seconds(5));
  }
  pid_ = -1;
  return status;
}

void stop_running_child(std::chrono::milliseconds deadline) {
  const pid_t pid = running_child.exchange(-1);
  if (pid <= 0) return;
  kill(pid, SIGTERM);
  if (wait_for(pid, deadline) == -1) {
    kill(-pid, SIGKILL);
    wait_for(pid, std::chrono::seconds(5));
  }
}

int wait_for(pid_t pid, std::chrono::milliseconds deadline) {
  const auto end = clock::now() + deadline;
  for (;;) {
    int status = 0;
    const pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (r < 0) return errno == ECHILD ? 0 : -1;
    if (clock::now() >= end) return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

result<std::vector<unsigned short>> free_ports(int n) {
  std::vector<int> fds;
  std::vector<unsigned short> ports;
  std::string problem;
  for (int i = 0; i < n && problem.empty(); ++i) {
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      problem = "socket() failed";
      break;
    }
    fds.push_back(fd);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (bind(fd, reinterpret_cast<sockaddr *>(&a), sizeof a) != 0 ||
        getsockname(fd, reinterpret_cast<sockaddr *>(&a), &len) != 0)
      problem = "cannot bind a loopback port";
    else
      ports.push_back(ntohs(a.sin_port));
  }
  for (int fd : fds)
    close(fd);
  if (!problem.empty()) return error{problem};
  return ports;
}

int run_shell(const std::string &command, const std::vector<std::string> &env,
              std::chrono::milliseconds deadline) {
  posix_spawnattr_t attr;
  init_child_attributes(attr);
  spawn_request r;
  r.extra_env = env;
  auto envp = environment(r);
  const char *argv[] = {"/bin/sh", "-c", command.c_str(), nullptr};
  pid_t pid = -1;
  const int rc =
      posix_spawn(&pid, "/bin/sh", nullptr, &attr, const_cast<char **>(argv), envp.data());
  posix_spawnattr_destroy(&attr);
  if (rc != 0) return -1;
  const int status = wait_for(pid, deadline);
  if (status == -1) {
    kill(-pid, SIGKILL);
    wait_for(pid, std::chrono::seconds(2));
  }
  return status;
}

std::string read_file(const std::string &path) {
  std::ifstream f(path, std::ios::binary);
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

std::string last_lines(const std::string &text, std::size_t n) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);)
    if (!l.empty()) lines.push_back(l);
  std::string out;
  for (std::size_t i = lines.size() > n ? lines.size() - n : 0; i < lines.size(); ++i)
    out += (out.empty() ? "" : "\n") + lines[i];
  return out;
}

} // namespace streamcheck::harness
