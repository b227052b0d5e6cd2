#include "harness/timeline.h"

#include <string>

namespace streamcheck::harness {
namespace {

double ms_of(std::int64_t us) {
  return us < 0 ? -1.0 : static_cast<double>(us) / 1000.0;
}

std::string how_it_ended(const probe_result &r) {
  if (r.aborted) return "closed by the client";
  if (r.curl_code != 0) return r.curl_error.empty() ? "transfer error" : r.curl_error;
  return "complete";
}

timeline_track track_of(const observations &o, std::size_t k) {
  timeline_track t;
  if (k >= o.probes.size()) return t;
  const probe_result &r = o.probes[k];
  t.present = r.started;
  t.status = r.status;
  t.headers_ms = ms_of(r.headers_us);
  t.finished_ms = ms_of(r.finished_us);
  t.client_closed_ms = r.aborted ? ms_of(r.aborted_us) : -1.0;
  t.ended = how_it_ended(r);
  t.events.reserve(r.events.size());
  for (const parsed_event &e : r.events)
    t.events.push_back({e.seq, ms_of(e.emitted_us), ms_of(e.arrival_us)});
  if (k < o.journal.size() && !o.journal[k].empty()) {
    // The last entry: a replayed request would have several, and the last is the live one.
    const journal_entry &e = o.journal[k].back();
    t.upstream_closed_ms = ms_of(e.closed_us());
    t.upstream_outcome = to_string(e.outcome);
  }
  return t;
}

} // namespace

std::vector<probe_timeline> record_timelines(const observations &proxied,
                                             const observations &direct, std::size_t max_probes) {
  std::vector<probe_timeline> out;
  for (std::size_t k = 0; k < proxied.probes.size() && out.size() < max_probes; ++k)
    out.push_back({proxied.probes[k].name, track_of(proxied, k), track_of(direct, k)});
  return out;
}

} // namespace streamcheck::harness
