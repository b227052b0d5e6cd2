// The arrivals a timing check observed, kept for the report: the HTML timeline draws them, the
// JSON report carries them (docs/report-schema.json, "timelines").
#pragma once
#include <cstddef>
#include <vector>

#include "harness/check.h"
#include "harness/report/report.h"

namespace streamcheck::harness {

// Every probe of the check (at most max_probes, in declaration order), through the proxy and
// directly, with the mock's journal: when it saw the connection close, and how the request ended.
std::vector<probe_timeline> record_timelines(const observations &proxied,
                                             const observations &direct, std::size_t max_probes);

} // namespace streamcheck::harness
