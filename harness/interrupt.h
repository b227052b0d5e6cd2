// Ctrl-C, SIGTERM and SIGHUP while streamcheck runs: taken by one thread, which stops the
// proxy streamcheck started (by pid), undoes what the running command registered (its temp
// prefix, unless --keep-temp) and exits 128 + the signal: 130 (SIGINT), 143 (SIGTERM).
#pragma once
#include <functional>

namespace streamcheck::harness {

inline constexpr int exit_interrupted_base = 128;

// First thing in main, before any other thread exists: every thread inherits the mask.
void handle_interrupts();

// While alive, `undo` runs if a signal comes (after the child process is stopped).
class interrupt_guard {
public:
  explicit interrupt_guard(std::function<void()> undo);
  ~interrupt_guard();
  interrupt_guard(const interrupt_guard &) = delete;
  interrupt_guard &operator=(const interrupt_guard &) = delete;

private:
  unsigned id_;
};

} // namespace streamcheck::harness
