// JSON report, described by docs/report-schema.json: bump schema_version on any breaking change.
#include <cmath>

#include "harness/report/report.h"

namespace streamcheck::harness {
namespace {

using ordered = nlohmann::ordered_json;

constexpr int schema_version = 1;

// The schema says "number, minimum 0"; NaN or infinity would print as null, and a negative wall
// time is a clock glitch, not a measurement.
double seconds_of(double v) {
  return std::isfinite(v) && v >= 0 ? v : 0.0;
}

// The schema promises an object, whatever a check stored.
ordered measurements_of(const check_result &c) {
  ordered m = c.measurements;
  if (m.is_object()) return m;
  return ordered{{"value", std::move(m)}};
}

// -1 means "not seen"; a non-finite value would print as null, which the schema does not allow.
double ms_of(double ms) {
  return std::isfinite(ms) && ms >= 0 ? ms : -1.0;
}

ordered track_json(const timeline_track &t) {
  ordered events = ordered::array();
  for (const timeline_event &e : t.events)
    events.push_back(ordered::array({e.seq, ms_of(e.emitted_ms), ms_of(e.arrival_ms)}));
  return ordered{{"present", t.present},
                 {"status", t.status},
                 {"headers_ms", ms_of(t.headers_ms)},
                 {"finished_ms", ms_of(t.finished_ms)},
                 {"client_closed_ms", ms_of(t.client_closed_ms)},
                 {"upstream_closed_ms", ms_of(t.upstream_closed_ms)},
                 {"upstream_outcome", t.upstream_outcome},
                 {"ended", t.ended},
                 {"events", std::move(events)}};
}

ordered timelines_json(const check_result &c) {
  ordered out = ordered::array();
  for (const probe_timeline &t : c.timelines)
    out.push_back(ordered{
        {"probe", t.probe}, {"proxied", track_json(t.proxied)}, {"direct", track_json(t.direct)}});
  return out;
}

ordered locations_json(const check_result &c) {
  ordered out = ordered::array();
  for (const config_location &l : c.locations)
    out.push_back(ordered{{"file", l.file}, {"line", l.line}, {"note", l.note}});
  return out;
}

ordered check_json(const check_result &c) {
  ordered out{{"id", c.id},
              {"title", c.title},
              {"level", to_string(c.severity)},
              {"requirement", c.requirement},
              {"result", to_string(c.result)},
              {"measured", c.measured},
              {"expected", c.expected},
              {"actual", c.actual},
              {"cause", c.cause},
              {"fix", c.fix},
              {"reproduce", c.reproduce},
              {"blocked_by", c.blocked_by},
              {"via", c.via},
              {"protocol", c.protocol},
              {"seconds", seconds_of(c.seconds)},
              {"measurements", measurements_of(c)},
              {"timelines", timelines_json(c)},
              {"locations", locations_json(c)}};
  if (!c.scripted.empty()) out["scripted"] = c.scripted;
  return out;
}

ordered summary_json(const run_summary &s) {
  return ordered{{"checks", s.checks},
                 {"passed", s.passed},
                 {"warned", s.warned},
                 {"failed", s.failed},
                 {"inconclusive", s.inconclusive},
                 {"skipped", s.skipped},
                 {"errors", s.errors}};
}

} // namespace

nlohmann::ordered_json report_json(const run_report &r) {
  ordered doc{{"schema_version", schema_version},
              {"tool_version", r.tool_version},
              {"target", r.target},
              {"proxy_kind", r.proxy_kind},
              {"proxy_kind_source", r.proxy_kind_source},
              {"profile", r.profile},
              {"upstream", r.upstream},
              {"protocol", r.protocol},
              {"strict", r.strict},
              {"started_at", r.started_at},
              {"seconds", seconds_of(r.seconds)},
              {"summary", summary_json(r.summary())},
              {"exit_code", r.exit_code()},
              {"notes", r.notes}};
  ordered checks = ordered::array();
  for (const check_result &c : r.checks)
    checks.push_back(check_json(c));
  doc["checks"] = std::move(checks);
  return doc;
}

void write_json(std::ostream &out, const run_report &r) {
  // Strings quote what a proxy sent; replace invalid UTF-8 instead of throwing type_error 316.
  out << report_json(r).dump(2, ' ', false, ordered::error_handler_t::replace) << '\n';
}

} // namespace streamcheck::harness
