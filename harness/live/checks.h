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
// ctx.origin is the browser app's origin the cors probes send.
std::vector<probe_spec> probes(const request_plan &plan, const check_context &ctx);
// How many of those ask the model to generate.
int generations(const request_plan &plan);

// A live check, the name its reproduction shows (its first probe), and the scripted check that
// judges the same fault against the mock: the two must agree on the same proxy (the agreement
// test reads this mapping from the JSON report). "" when no scripted check is its twin.
struct live_check {
  check c;
  std::string probe;
  std::string scripted;
  std::string scripted_sse = ""; // the twin when the run streams SSE (--api openai), if another
  // The twin for a run on this API.
  const std::string &twin(bool openai) const {
    return openai && !scripted_sse.empty() ? scripted_sse : scripted;
  }
};
const std::vector<live_check> &catalog();

// The scripted checks live mode does not run, each skipped with the reason and the command that
// covers it.
std::vector<check_result> not_run();

} // namespace streamcheck::harness::live
