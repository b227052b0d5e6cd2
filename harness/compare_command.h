// `streamcheck compare TARGET...`: DESIGN §1 job 2. Each target run as its own command would
// run it (one after another, each with its own embedded mock), then one matrix (compare.h).
#pragma once
#include "harness/cli_options.h"

namespace streamcheck::harness {

int compare_command(const cli_options &o);

} // namespace streamcheck::harness
