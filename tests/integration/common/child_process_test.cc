// The one spawner's safety properties, on real processes: a child holds none of the parent's
// descriptors (a mock connection closed by the parent must reach the peer as EOF), dies with the
// thread that started it, and every wait and stop keeps its deadline.
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <poll.h>
#include <string>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "common/child_process.h"
#include "tests/support/test_support.h"

namespace streamcheck {
namespace {

using namespace std::chrono_literals;
using test::deadline_in;
using test::temp_dir;

// Orphans of the processes a test starts are reparented to this process, which can then reap
// them and see how they died (in a container, PID 1 may never reap them).
class subreaper {
public:
  subreaper() { prctl(PR_SET_CHILD_SUBREAPER, 1); }
  ~subreaper() { prctl(PR_SET_CHILD_SUBREAPER, 0); }
};

// The wait status of `pid` (this process's child or adopted orphan), or nullopt at the deadline.
std::optional<int> reap(pid_t pid, mono_clock::time_point deadline) {
  for (;;) {
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) return status;
    if (mono_clock::now() >= deadline) return std::nullopt;
    usleep(10'000);
  }
}

bool peer_sees_eof(int fd, int timeout_ms) {
  pollfd p{fd, POLLIN, 0};
  char byte = 0;
  return poll(&p, 1, timeout_ms) == 1 && read(fd, &byte, 1) == 0;
}

TEST(ChildProcess, DoesNotInheritAnOpenSocket) {
  // Not close-on-exec, as Asio's sockets are.
  int pair[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, pair), 0);
  child_process child;
  ASSERT_TRUE(child.start({.argv = {"sleep", "30"}}));
  close(pair[0]); // the parent's side of "a connection" goes away...
  // ...and the peer must see it go at once, not when the child exits.
  EXPECT_TRUE(peer_sees_eof(pair[1], 2000)) << "the child holds a copy of the socket";
  close(pair[1]);
  EXPECT_EQ(child.stop(5s), 128 + SIGTERM);
}

TEST(ChildProcess, DiesWhenTheParentDies) {
  subreaper adopt;
  int report[2];
  ASSERT_EQ(pipe(report), 0);
  const pid_t parent = fork();
  ASSERT_GE(parent, 0);
  if (parent == 0) { // an intermediate parent that starts a child and dies without stopping it
    close(report[0]);
    auto *child = new child_process; // never destroyed: _exit skips every destructor
    pid_t pid = child->start({.argv = {"sleep", "30"}}) ? child->pid() : -1;
    [[maybe_unused]] auto n = write(report[1], &pid, sizeof pid);
    _exit(0);
  }
  close(report[1]);
  pid_t child = -1;
  ASSERT_EQ(read(report[0], &child, sizeof child), static_cast<ssize_t>(sizeof child));
  close(report[0]);
  ASSERT_GT(child, 0);
  ASSERT_TRUE(reap(parent, deadline_in(5s)));
  const auto status = reap(child, deadline_in(5s));
  if (!status) kill(child, SIGKILL);
  ASSERT_TRUE(status) << "the child outlived its parent";
  EXPECT_TRUE(WIFSIGNALED(*status) && WTERMSIG(*status) == SIGKILL);
}

TEST(ChildProcess, WaitKeepsItsDeadline) {
  child_process child;
  ASSERT_TRUE(child.start({.argv = {"sleep", "30"}}));
  const auto before = mono_clock::now();
  EXPECT_EQ(child.wait(200ms), -1);
  EXPECT_LT(mono_clock::now() - before, 5s);
  EXPECT_TRUE(child.running());
  child_process quick;
  ASSERT_TRUE(quick.start({.argv = {"sh", "-c", "exit 7"}}));
  EXPECT_EQ(quick.wait(10s), 7);
  EXPECT_EQ(quick.wait_status().value_or(-1) >> 8, 7);
}

TEST(ChildProcess, StopKillsAChildThatIgnoresSigtermAfterTheGrace) {
  temp_dir dir;
  const std::string log = (dir / "out").string();
  child_process child;
  // The shell says it is ready once the trap is set, so SIGTERM cannot arrive before it.
  ASSERT_TRUE(child.start(
      {.argv = {"sh", "-c", "trap '' TERM; echo ready; while :; do sleep 1; done"}, .log = log}));
  const auto ready_by = deadline_in(5s);
  while (test::read_file(log).find("ready") == std::string::npos && mono_clock::now() < ready_by)
    usleep(10'000);
  const auto before = mono_clock::now();
  EXPECT_EQ(child.stop(300ms), 128 + SIGKILL);
  const auto took = mono_clock::now() - before;
  EXPECT_GE(took, 300ms);
  EXPECT_LT(took, 5s);
}

TEST(ChildProcess, StopAlsoEndsWhatIsLeftOfItsGroup) {
  subreaper adopt;
  temp_dir dir;
  const std::string pid_file = (dir / "grandchild").string();
  child_process child;
  ASSERT_TRUE(child.start(
      {.argv = {"sh", "-c", "sleep 30 & echo $! > " + pid_file + "; wait"}, .log = ""}));
  pid_t grandchild = 0;
  const auto by = deadline_in(5s);
  while ((grandchild = std::atoi(test::read_file(pid_file).c_str())) <= 0 && mono_clock::now() < by)
    usleep(10'000);
  ASSERT_GT(grandchild, 0);
  child.stop(5s);
  const auto status = reap(grandchild, deadline_in(5s));
  if (!status) kill(grandchild, SIGKILL);
  ASSERT_TRUE(status) << "the shell's background child survived stop()";
  EXPECT_TRUE(WIFSIGNALED(*status));
}

TEST(ChildProcess, ReportsAProgramThatCannotRun) {
  child_process child;
  const auto missing = child.start({.argv = {"/nonexistent/streamcheck-no-such-program"}});
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.message(),
            "cannot run /nonexistent/streamcheck-no-such-program: No such file or directory");
  const auto not_on_path = child.start({.argv = {"streamcheck-no-such-program"}});
  ASSERT_FALSE(not_on_path);
  EXPECT_NE(not_on_path.message().find("No such file or directory"), std::string::npos);
  EXPECT_EQ(child.pid(), -1);
}

TEST(ChildProcess, WritesOutputAndErrorWhereAsked) {
  temp_dir dir;
  const std::string out = (dir / "out").string(), err = (dir / "err").string();
  { std::ofstream(out) << "old\n"; }
  child_process child;
  ASSERT_TRUE(child.start({.argv = {"sh", "-c", "echo to-out; echo to-err >&2; echo $EXTRA"},
                           .log = out,
                           .extra_env = {"EXTRA=extra-value"},
                           .stderr_log = err,
                           .truncate = true}));
  EXPECT_EQ(child.wait(10s), 0);
  EXPECT_EQ(test::read_file(out), "to-out\nextra-value\n");
  EXPECT_EQ(test::read_file(err), "to-err\n");
}

} // namespace
} // namespace streamcheck
