#include "harness/nginx/launcher.h"

#include <arpa/inet.h>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdlib>
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

namespace streamcheck::harness::nginx {
namespace {

using clock = std::chrono::steady_clock;

// The running nginx master, for the signal handler: nginx runs in its own process group, so a
// Ctrl-C on the terminal would not reach it.
std::atomic<pid_t> running_master{-1};

extern "C" void stop_nginx_and_exit(int sig) {
  const pid_t pid = running_master.load();
  if (pid > 0) kill(pid, SIGTERM); // async-signal-safe; nginx stops its workers itself
  std::signal(sig, SIG_DFL);
  raise(sig);
}

void stop_on_signals() {
  static bool installed = false;
  if (installed) return;
  installed = true;
  for (int sig : {SIGINT, SIGTERM, SIGHUP})
    std::signal(sig, stop_nginx_and_exit);
}

bool executable(const std::string &p) {
  return !p.empty() && access(p.c_str(), X_OK) == 0;
}

// Children get their own process group (so the whole nginx tree can be signalled) and SIGPIPE
// back at its default, which streamcheck ignores for itself.
void init_child_attributes(posix_spawnattr_t &attr) {
  posix_spawnattr_init(&attr);
  posix_spawnattr_setpgroup(&attr, 0);
  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF);
}

std::string slurp(const std::string &path) {
  std::ifstream f(path, std::ios::binary);
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

// Spawns argv with stdout and stderr appended to `log`, in its own process group.
pid_t spawn(const std::vector<std::string> &argv, const std::string &log,
            const std::vector<std::string> &extra_env = {}) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, log.c_str(), O_WRONLY | O_CREAT | O_APPEND,
                                   0600);
  posix_spawn_file_actions_adddup2(&fa, STDOUT_FILENO, STDERR_FILENO);
  posix_spawnattr_t attr;
  init_child_attributes(attr);
  std::vector<char *> args;
  for (const auto &a : argv)
    args.push_back(const_cast<char *>(a.c_str()));
  args.push_back(nullptr);
  std::vector<char *> env;
  for (char **e = environ; *e; ++e)
    if (std::string_view(*e).rfind("NGINX=", 0) != 0) // nginx reads it as inherited sockets
      env.push_back(*e);
  for (const auto &e : extra_env)
    env.push_back(const_cast<char *>(e.c_str()));
  env.push_back(nullptr);
  pid_t pid = -1;
  if (posix_spawn(&pid, args[0], &fa, &attr, args.data(), env.data()) != 0) pid = -1;
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  return pid;
}

// Waits for pid until the deadline; the exit status, or -1 if it is still running.
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

std::string tail_lines(const std::string &text, std::size_t n) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);)
    if (!l.empty()) lines.push_back(l);
  std::string out;
  for (std::size_t i = lines.size() > n ? lines.size() - n : 0; i < lines.size(); ++i)
    out += (out.empty() ? "" : "\n") + lines[i];
  return out;
}

std::vector<std::string> nginx_args(const nginx_files &f) {
  return {f.binary, "-p", f.prefix + "/", "-e", f.error_log(), "-c", f.conf, "-g", "daemon off;"};
}

} // namespace

std::string find_nginx(const std::string &explicit_path) {
  if (!explicit_path.empty()) return executable(explicit_path) ? explicit_path : "";
  if (const char *path = std::getenv("PATH")) {
    std::istringstream dirs(path);
    for (std::string d; std::getline(dirs, d, ':');)
      if (!d.empty() && executable(d + "/nginx")) return d + "/nginx";
  }
  return executable("/usr/sbin/nginx") ? "/usr/sbin/nginx" : "";
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

std::string map_back(const std::string &text, const std::string &flat_path,
                     const std::vector<source_loc> &line_map) {
  std::string out;
  std::size_t pos = 0;
  const std::string needle = flat_path + ":";
  for (;;) {
    const auto at = text.find(needle, pos);
    if (at == std::string::npos) break;
    std::size_t end = at + needle.size();
    int line = 0;
    while (end < text.size() && std::isdigit(static_cast<unsigned char>(text[end])))
      line = line * 10 + (text[end++] - '0');
    out += text.substr(pos, at - pos);
    const bool known = line >= 1 && static_cast<std::size_t>(line) <= line_map.size() &&
                       !line_map[line - 1].file.empty();
    out += known ? line_map[line - 1].str()
                 : "(streamcheck's rewritten config, line " + std::to_string(line) + ")";
    pos = end;
  }
  return out + text.substr(pos);
}

result<bool> test_config(const nginx_files &f, const std::vector<source_loc> &line_map,
                         std::chrono::milliseconds deadline) {
  const std::string log = f.prefix + "/logs/nginx-t.log";
  auto argv = nginx_args(f);
  argv.insert(argv.begin() + 1, "-t");
  const pid_t pid = spawn(argv, log);
  if (pid < 0) return error{"cannot run " + f.binary};
  const int status = wait_for(pid, deadline);
  if (status == -1) {
    kill(-pid, SIGKILL);
    wait_for(pid, std::chrono::seconds(2));
    return error{"nginx -t did not finish within " + std::to_string(deadline.count() / 1000) +
                 " s"};
  }
  if (status == 0) return true;
  std::string text = map_back(slurp(log), f.conf, line_map);
  std::string kept;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);)
    if (l.find("test failed") == std::string::npos && !l.empty())
      kept += (kept.empty() ? "" : "\n") + l;
  return error{"nginx -t rejected the config:\n" + (kept.empty() ? text : kept)};
}

result<bool> nginx_process::start(const nginx_files &f, unsigned short port,
                                  std::chrono::milliseconds deadline, bool &address_in_use) {
  address_in_use = false;
  const std::string log = f.prefix + "/logs/stderr.log";
  stop_on_signals();
  pid_ = spawn(nginx_args(f), log);
  if (pid_ < 0) return error{"cannot run " + f.binary};
  running_master = pid_;
  const auto end = clock::now() + deadline;
  while (clock::now() < end) {
    if (port_answers(port)) return true;
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      running_master = -1;
      const std::string said = slurp(log) + slurp(f.error_log());
      address_in_use = said.find("Address already in use") != std::string::npos;
      return error{"nginx exited at startup:\n" + tail_lines(said, 5)};
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  stop(std::chrono::seconds(5));
  return error{"nginx did not accept connections on 127.0.0.1:" + std::to_string(port) +
               " within " + std::to_string(deadline.count() / 1000) + " s:\n" +
               tail_lines(slurp(log) + slurp(f.error_log()), 5)};
}

void nginx_process::stop(std::chrono::milliseconds deadline) {
  if (pid_ <= 0) return;
  running_master = -1;
  kill(pid_, SIGTERM);
  if (wait_for(pid_, deadline) == -1) {
    kill(-pid_, SIGKILL); // the master and its workers: nginx runs in its own process group
    wait_for(pid_, std::chrono::seconds(5));
  }
  pid_ = -1;
}

std::vector<std::string> relevant_log_lines(const std::string &path, std::size_t max) {
  std::vector<std::string> lines;
  std::ifstream f(path);
  for (std::string l; std::getline(f, l);)
    if (l.find("[error]") != std::string::npos || l.find("[crit]") != std::string::npos ||
        l.find("[alert]") != std::string::npos || l.find("[emerg]") != std::string::npos)
      lines.push_back(l);
  if (lines.size() > max) lines.erase(lines.begin(), lines.end() - static_cast<long>(max));
  return lines;
}

int run_shell(const std::string &command, const std::vector<std::string> &env,
              std::chrono::milliseconds deadline) {
  posix_spawnattr_t attr;
  init_child_attributes(attr);
  std::vector<char *> envp;
  for (char **e = environ; *e; ++e)
    envp.push_back(*e);
  for (const auto &e : env)
    envp.push_back(const_cast<char *>(e.c_str()));
  envp.push_back(nullptr);
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

} // namespace streamcheck::harness::nginx
