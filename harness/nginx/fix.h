// `streamcheck nginx CONF --fix[=OUT]`: the remedies the analysis located, written to a copy of
// the user's file (never the file itself), shown as a diff, and proven by a second run.
#pragma once
#include <string>

#include "harness/cli_options.h"
#include "harness/nginx/gate.h"

namespace streamcheck::harness::nginx {

// --fix: where the patched copy goes unless --fix=OUT says (site.conf -> site.fixed.conf).
std::string default_fix_path(const std::string &conf);

// After the first run's reports: patch, diff, rerun, and say how many failing checks pass now.
void fix_and_verify(const cli_options &o, const nginx_run &first);

} // namespace streamcheck::harness::nginx
