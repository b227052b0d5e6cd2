// streamcheck live: a running proxy in front of a real Ollama or OpenAI-compatible server (no
// mock, no scripted scenario). A reduced catalog judged from what a real model's streams show:
// through the proxy against the server directly (--direct), or from the stream itself.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "common/result.h"
#include "harness/report/report.h"

namespace streamcheck::harness::live {

enum class api { automatic, ollama, openai };

struct options {
  std::string proxy_url;
  std::string direct_url; // "" = judge from the stream itself
  std::string model;      // "" = the first model the server lists
  api flavour = api::automatic;
  std::vector<std::string> headers; // "Name: value", sent on every request, never printed
  int max_tokens = 48;
  int runs = 3; // interleaved streaming runs per target: the median, with the spread
  bool strict = false;
  double tolerance_mult = 1.0;
  std::string proxy_kind;                          // "" = detected
  std::string origin = "https://app.example.test"; // the browser app the cors checks stand for
};

// Setup problems (unreachable, not an LLM API, 401, no or unknown model) come back as an error
// value: exit 2. `say` gets the plan and the progress lines.
result<run_report> run(const options &o, const std::function<void(const std::string &)> &say);

} // namespace streamcheck::harness::live
