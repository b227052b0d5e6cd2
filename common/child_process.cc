#include "common/child_process.h"

#include <arpa/inet.h>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <netinet/in.h>
#include <sstream>
#include <string_view>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

extern char **environ;

namespace streamcheck {
namespace {

using clock = std::chrono::steady_clock;

// For stop_last_child: a child runs in its own process group, so a Ctrl-C on the terminal does
// not reach it; the signal thread stops it by pid.
std::atomic<pid_t> last_child{-1};

void pause_briefly() {
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
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

int open_log(const std::string &path, bool truncate) {
  if (path.empty()) return open("/dev/null", O_WRONLY | O_CLOEXEC);
  return open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | (truncate ? O_TRUNC : O_APPEND), 0600);
}

// Every descriptor from 3 up except `keep` (the exec-failure pipe, close-on-exec itself).
// Between fork and exec: only async-signal-safe calls.
void close_inherited(int keep, int max_fd) {
  const auto k = static_cast<unsigned>(keep);
  if ((k == 3 || syscall(SYS_close_range, 3U, k - 1, 0U) == 0) &&
      syscall(SYS_close_range, k + 1, ~0U, 0U) == 0)
    return;
  for (int fd = 3; fd < max_fd; ++fd) // kernels before 5.9
    if (fd != keep) close(fd);
}

int code_of(int status) {
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// The descriptors the child gets as 0, 1 and 2, opened before fork.
struct child_stdio {
  int in = -1, out = -1, err = -1;
  ~child_stdio() {
    for (int fd : {in, out, err == out ? -1 : err})
      if (fd >= 0) close(fd);
  }
};

} // namespace

child_process::child_process(child_process &&other) noexcept
    : pid_(other.pid_), status_(other.status_) {
  other.pid_ = -1;
  other.status_.reset();
}

child_process &child_process::operator=(child_process &&other) noexcept {
  if (this != &other) {
    stop(std::chrono::seconds(5));
    pid_ = other.pid_;
    status_ = other.status_;
    other.pid_ = -1;
    other.status_.reset();
  }
  return *this;
}

result<bool> child_process::start(const spawn_request &r) {
  if (r.argv.empty()) return error{"no command to run"};
  stop(std::chrono::seconds(5)); // a previous child of this object
  pid_ = -1;
  status_.reset();
  // Resolved before fork, so the child only calls execve.
  const bool names_a_path = r.argv[0].find('/') != std::string::npos;
  const std::string program = names_a_path ? r.argv[0] : find_program(r.argv[0]);
  if (program.empty() || access(program.c_str(), X_OK) != 0)
    return error{"cannot run " + r.argv[0] + ": " +
                 std::strerror(program.empty() ? ENOENT : errno)};
  std::vector<char *> args;
  for (const auto &a : r.argv)
    args.push_back(const_cast<char *>(a.c_str()));
  args.push_back(nullptr);
  auto env = environment(r);

  child_stdio io;
  if (!r.keep_stdio) {
    io.in = open("/dev/null", O_RDONLY | O_CLOEXEC);
    io.out = open_log(r.log, r.truncate);
    io.err = r.stderr_log.empty() ? io.out : open_log(r.stderr_log, r.truncate);
    if (io.in < 0 || io.out < 0 || io.err < 0)
      return error{"cannot run " + r.argv[0] + ": cannot open its log: " + std::strerror(errno)};
  }
  int report[2] = {-1, -1}; // exec failure: the child writes errno here
  if (pipe2(report, O_CLOEXEC) != 0) return error{"cannot run " + r.argv[0] + ": pipe2 failed"};
  rlimit files{};
  getrlimit(RLIMIT_NOFILE, &files);
  const int max_fd = files.rlim_cur == RLIM_INFINITY || files.rlim_cur > 65536
                         ? 65536
                         : static_cast<int>(files.rlim_cur);
  const pid_t parent = getpid();

  const pid_t pid = fork();
  if (pid == 0) {
    // Only async-signal-safe calls from here to exec: other threads may hold locks.
    if (r.own_group) setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127); // the parent died before prctl
    if (!r.keep_stdio) {
      dup2(io.in, STDIN_FILENO);
      dup2(io.out, STDOUT_FILENO);
      dup2(io.err, STDERR_FILENO);
    }
    // This process ignores SIGPIPE and may block SIGINT/SIGTERM/SIGHUP for its signal thread; a
    // child expects neither, or SIGTERM would not stop it.
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    sigaction(SIGPIPE, &dfl, nullptr);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    close_inherited(report[1], max_fd);
    execve(program.c_str(), args.data(), env.data());
    const int e = errno;
    [[maybe_unused]] const auto n = write(report[1], &e, sizeof e);
    _exit(127);
  }
  close(report[1]);
  if (pid < 0) {
    close(report[0]);
    return error{"cannot run " + r.argv[0] + ": fork failed: " + std::strerror(errno)};
  }
  if (r.own_group) setpgid(pid, pid); // also here: whichever side runs first, the group exists
  int child_errno = 0;
  ssize_t n;
  do
    n = read(report[0], &child_errno, sizeof child_errno);
  while (n < 0 && errno == EINTR);
  close(report[0]);
  if (n > 0) {
    int status = 0;
    waitpid(pid, &status, 0); // it exits right after writing
    return error{"cannot run " + r.argv[0] + ": " + std::strerror(child_errno)};
  }
  pid_ = pid;
  last_child = pid;
  return true;
}

child_process::readiness child_process::wait_listening(unsigned short port,
                                                       std::chrono::milliseconds deadline) {
  const auto end = clock::now() + deadline;
  while (clock::now() < end) {
    if (port_answers(port)) return readiness::listening;
    if (!running()) return readiness::exited;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return readiness::timed_out;
}

bool child_process::running() {
  if (pid_ <= 0 || status_) return false;
  int status = 0;
  const pid_t r = waitpid(pid_, &status, WNOHANG);
  if (r == 0) return true;
  // ECHILD: stop_last_child reaped it on another thread.
  status_ = r == pid_ ? status : 0;
  pid_t expected = pid_;
  last_child.compare_exchange_strong(expected, -1);
  return false;
}

int child_process::wait(std::chrono::milliseconds deadline) {
  const auto end = clock::now() + deadline;
  while (running()) {
    if (clock::now() >= end) return -1;
    pause_briefly();
  }
  return exit_status();
}

bool child_process::exited_within(std::chrono::milliseconds deadline) const {
  const auto end = clock::now() + deadline;
  for (;;) {
    siginfo_t info{};
    // WNOWAIT: it stays a zombie, so its pid (and group id) cannot be reused before the group
    // is signalled.
    if (waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT) != 0)
      return true; // not ours any more
    if (info.si_pid == pid_) return true;
    if (clock::now() >= end) return false;
    pause_briefly();
  }
}

int child_process::stop(std::chrono::milliseconds deadline) {
  if (pid_ <= 0) return -1;
  if (status_) return exit_status();
  pid_t expected = pid_;
  last_child.compare_exchange_strong(expected, -1);
  kill(pid_, SIGTERM);
  if (!exited_within(deadline)) {
    kill(-pid_, SIGKILL); // the whole group: nginx's workers, a shell's children
    kill(pid_, SIGKILL);  // and the child itself when it has no group of its own
    exited_within(std::chrono::seconds(5));
  }
  kill(-pid_, SIGKILL); // what is left of its group (socat's children still draining)
  running();
  return exit_status();
}

int child_process::exit_status() const {
  return status_ ? code_of(*status_) : -1;
}

void stop_last_child(std::chrono::milliseconds deadline) {
  const pid_t pid = last_child.exchange(-1);
  if (pid <= 0) return;
  kill(pid, SIGTERM);
  const auto end = clock::now() + deadline;
  int status = 0;
  while (waitpid(pid, &status, WNOHANG) == 0) {
    if (clock::now() >= end) {
      kill(-pid, SIGKILL);
      kill(pid, SIGKILL);
      for (int i = 0; i < 1000 && waitpid(pid, &status, WNOHANG) == 0; ++i)
        pause_briefly();
      return;
    }
    pause_briefly();
  }
}

std::string find_program(const std::string &name) {
  auto runnable = [](const std::string &p) {
    struct stat st {};
    return stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode) && access(p.c_str(), X_OK) == 0;
  };
  if (name.empty()) return "";
  if (name.find('/') != std::string::npos) return runnable(name) ? name : "";
  const char *path = std::getenv("PATH");
  std::istringstream dirs(path && *path ? path : "/usr/local/bin:/usr/bin:/bin");
  for (std::string dir; std::getline(dirs, dir, ':');) {
    const std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
    if (runnable(candidate)) return candidate;
  }
  return "";
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

int run_shell(const std::string &command, const std::vector<std::string> &env,
              std::chrono::milliseconds deadline) {
  child_process shell;
  if (!shell.start({.argv = {"/bin/sh", "-c", command}, .extra_env = env, .keep_stdio = true}))
    return -1;
  const int status = shell.wait(deadline);
  if (status == -1) shell.stop(std::chrono::milliseconds(0));
  return status;
}

} // namespace streamcheck
