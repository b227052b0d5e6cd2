#include "harness/interrupt.h"

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <map>
#include <mutex>
#include <pthread.h>
#include <thread>
#include <unistd.h>

#include "harness/process.h"

namespace streamcheck::harness {
namespace {

std::mutex guards_mutex;
std::map<unsigned, std::function<void()>> guards; // by registration order
unsigned next_guard = 1;

sigset_t stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  for (const int sig : {SIGINT, SIGTERM, SIGHUP})
    sigaddset(&set, sig);
  return set;
}

[[noreturn]] void on_signal(int sig) {
  const std::lock_guard lock(guards_mutex); // held until _exit: no guard ends meanwhile
  std::fprintf(stderr, "\nstreamcheck: %s: stopping\n", strsignal(sig));
  stop_last_child(std::chrono::seconds(5));
  for (auto it = guards.rbegin(); it != guards.rend(); ++it)
    it->second();
  std::fflush(stderr);
  _exit(exit_interrupted_base + sig);
}

} // namespace

void handle_interrupts() {
  static const sigset_t set = stop_signals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::thread([] {
    int sig = 0;
    if (sigwait(&set, &sig) == 0) on_signal(sig);
  }).detach();
}

interrupt_guard::interrupt_guard(std::function<void()> undo) {
  const std::lock_guard lock(guards_mutex);
  id_ = next_guard++;
  guards.emplace(id_, std::move(undo));
}

interrupt_guard::~interrupt_guard() {
  const std::lock_guard lock(guards_mutex);
  guards.erase(id_);
}

} // namespace streamcheck::harness
