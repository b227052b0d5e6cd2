// Runs many probes at once on one thread with libcurl's multi interface, timestamping every
// header, body write and event on the monotonic clock, and closing connections on cue.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "harness/probe.h"

namespace streamcheck::harness {

struct scheduled_probe {
  probe_spec spec;
  std::string url;                    // base URL + spec.path
  std::string body;                   // serialized request body ("" = none)
  int after_index = -1;               // index in the same vector of the probe this one waits for
  std::string pool;                   // private connection cache name ("" = the shared one)
  int expected_ms = 0;                // planned duration, for progress estimates only
  client_http http = client_http::h1; // spec.http10 overrides it
};

struct engine_progress {
  int running = 0;
  int finished = 0;
  int total = 0;
  int remaining_ms = 0; // best estimate
};

// Returns one result per probe, in order. Never throws; transport failures are in curl_code.
std::vector<probe_result> run_probes(std::vector<scheduled_probe> &probes,
                                     const std::function<void(const engine_progress &)> &progress);

// A single blocking GET/POST for control-plane requests (mock journal, health). deadline_ms bounds
// everything. Returns the status (0 on transport error, with the reason in error).
long simple_request(const std::string &method, const std::string &url, const std::string &body,
                    int deadline_ms, std::string &response, std::string &error);

// The same over a chosen protocol; http_version gets the one spoken ("1.1", "2"; "" on error).
long simple_request(const std::string &method, const std::string &url, const std::string &body,
                    int deadline_ms, client_http http, std::string &response, std::string &error,
                    std::string &http_version);

} // namespace streamcheck::harness
