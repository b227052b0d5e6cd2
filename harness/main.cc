#include <csignal>

#include "harness/cli.h"
#include "harness/interrupt.h"

int main(int argc, char **argv) {
  std::signal(SIGPIPE, SIG_IGN);
  streamcheck::harness::handle_interrupts();
  return streamcheck::harness::run_cli(argc, argv);
}
