// `streamcheck live --proxy URL`: the run options handed to live::run, its reports written.
#pragma once
#include "harness/cli_options.h"

namespace streamcheck::harness::live {

int live_command(cli_options o);

} // namespace streamcheck::harness::live
