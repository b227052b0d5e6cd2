#include "harness/timing.h"

#include <algorithm>
#include <map>

namespace streamcheck::harness {

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const double rank = p / 100.0 * static_cast<double>(v.size() - 1);
  const auto lo = static_cast<std::size_t>(rank);
  const auto hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (v[hi] - v[lo]) * (rank - static_cast<double>(lo));
}

namespace {

std::vector<double> lags_ms(const probe_result &r) {
  std::vector<double> out;
  for (const auto &e : r.events)
    if (e.emitted_us >= 0) out.push_back(static_cast<double>(e.arrival_us - e.emitted_us) / 1000.0);
  return out;
}

} // namespace

delay_stats added_delays(const probe_result &r, const probe_result *baseline, int gap_ms) {
  delay_stats s;
  const double base = baseline ? percentile(lags_ms(*baseline), 50) : 0.0;
  std::vector<double> added;
  for (double lag : lags_ms(r))
    added.push_back(std::max(0.0, lag - base));
  s.events = static_cast<int>(added.size());
  if (added.empty()) return s;
  s.first_ms = added.front();
  s.p50_ms = percentile(added, 50);
  s.p95_ms = percentile(added, 95);
  s.max_ms = *std::max_element(added.begin(), added.end());

  std::map<std::size_t, std::pair<std::int64_t, std::int64_t>> span_per_read; // min,max emission
  std::map<std::size_t, int> count_per_read;
  for (const auto &e : r.events) {
    if (e.emitted_us < 0) continue;
    auto [it, fresh] = span_per_read.try_emplace(e.write_index, e.emitted_us, e.emitted_us);
    if (!fresh) {
      it->second.first = std::min(it->second.first, e.emitted_us);
      it->second.second = std::max(it->second.second, e.emitted_us);
    }
    ++count_per_read[e.write_index];
  }
  for (const auto &[read, n] : count_per_read) {
    s.max_events_per_read = std::max(s.max_events_per_read, n);
    const auto &[lo, hi] = span_per_read[read];
    if (n >= 3 && hi - lo >= 2LL * gap_ms * 1000) ++s.bursts;
  }
  return s;
}

} // namespace streamcheck::harness
