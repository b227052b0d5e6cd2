// The live catalog: the checks that need no scripted upstream, their requests shaped for a real
// model (few tokens, temperature 0), and the scripted checks live mode cannot run, with why.
#pragma once
#include <string>
#include <vector>

#include "harness/check.h"

namespace streamcheck::harness::live {

struct request_plan {
  bool openai = false; // streams on /v1/chat/completions (SSE) instead of /api/chat (NDJSON)
  std::string model;
  int max_tokens = 48;
  int runs = 3;
};

// Every probe of a live run, in the order they are sent (one at a time, so a server that
// generates one answer at a time does not queue them and the timings stay the model's).
std::vector<probe_spec> probes(const request_plan &plan);
// How many of those ask the model to generate.
int generations(const request_plan &plan);

// The name a check's reproduction shows (its first probe).
struct live_check {
  check c;
  std::string probe;
};
const std::vector<live_check> &catalog();

// The scripted checks live mode does not run, each skipped with the reason and the command that
// covers it.
std::vector<check_result> not_run();

} // namespace streamcheck::harness::live
