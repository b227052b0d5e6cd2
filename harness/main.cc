#include <csignal>

#include "harness/cli.h"

int main(int argc, char **argv) {
  std::signal(SIGPIPE, SIG_IGN);
  return streamcheck::harness::run_cli(argc, argv);
}
