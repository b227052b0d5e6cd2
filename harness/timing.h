// Added delay per event: how much later each event reached the client than it should have,
// relative to the same scenario fetched from the mock directly. Uses only the mock's own
// per-event stamps (t_us) and the client's arrival times, so no shared clock is needed.
#pragma once
#include <vector>

#include "harness/probe.h"

namespace streamcheck::harness {

struct delay_stats {
  int events = 0;
  double first_ms = 0; // added delay of the first event
  double p50_ms = 0;
  double p95_ms = 0;
  double max_ms = 0;
  int bursts = 0; // reads that delivered >= 3 events emitted >= 2 gaps apart
  int max_events_per_read = 0;
};

// lag = arrival - emission; added = lag - median lag of the baseline (0 without one).
delay_stats added_delays(const probe_result &r, const probe_result *baseline, int gap_ms);

double percentile(std::vector<double> v, double p);

} // namespace streamcheck::harness
