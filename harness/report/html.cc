// A self-contained HTML report: the summary, the verdict table and, for every timing check, an
// SVG timeline of each event's emission at the mock and its arrival through the proxy and
// directly. No script, no external resource (a CSP meta forbids them), so it opens from a CI
// artifact with scripts off and prints. Colours are Okabe-Ito (safe for the common colour-vision
// deficiencies) and every series also differs in shape, so a greyscale print still reads.
#include <algorithm>
#include <cmath>

#include "harness/report/report.h"
#include "harness/report/text.h"

namespace streamcheck::harness {
namespace {

std::string esc(std::string_view s) {
  return text::xml_escape(s, false);
}

std::string attr(std::string_view s) {
  return text::xml_escape(s, true);
}

std::string ms(double v) {
  return text::fixed(v, 1) + " ms";
}

const char *symbol_of(outcome o) {
  switch (o) {
  case outcome::pass: return "\u2714"; // ✔
  case outcome::warn: return "\u26A0"; // ⚠
  case outcome::fail: return "\u2718"; // ✘
  case outcome::inconclusive: return "?";
  case outcome::skip: return "\u2013"; // –
  case outcome::error: return "!";
  }
  return "?";
}

const char *const style = R"(
body{font:14px/1.45 system-ui,sans-serif;color:#111;margin:1.5em auto;max-width:1100px;padding:0 1em}
h1{font-size:1.5em;margin:.2em 0}h2{margin-top:1.6em;border-bottom:1px solid #ccc}
h3{margin:1.4em 0 .3em;font-size:1.05em}code,pre{font:12px/1.4 ui-monospace,monospace}
pre{white-space:pre-wrap;word-break:break-all;margin:.2em 0;background:#f4f4f4;padding:.3em}
table{border-collapse:collapse;width:100%}th,td{border:1px solid #ccc;padding:.3em .4em;
vertical-align:top;text-align:left}th{background:#eee}
.r{font-weight:bold;white-space:nowrap}td code{white-space:nowrap}
col.c{width:24%}col.m{width:20%}.pass{color:#005a8c}.warn{color:#8a5a00}
.fail,.error{color:#a33b00}.inconclusive{color:#5d3a8a}.skip{color:#666}dl{margin:0}dt{font-weight:bold;float:left;
clear:left;width:7.6em}dd{margin:0 0 .2em 8em}.sum{font-size:1.1em;font-weight:bold}
svg{display:block;width:100%;height:auto;border:1px solid #ddd;background:#fff}
.cap{color:#333;font-size:.92em;margin:.2em 0 1em}
.key span{margin-right:1.2em;white-space:nowrap}
@media print{body{max-width:none}*{-webkit-print-color-adjust:exact;print-color-adjust:exact}
figure{break-inside:avoid}}
)";

// Okabe-Ito: black emission, blue direct, orange proxied, vermillion cut, purple client left,
// bluish green upstream closed.
constexpr const char *colour_direct = "#0072B2";
constexpr const char *colour_proxy = "#E69F00";
constexpr const char *colour_cut = "#D55E00";
constexpr const char *colour_client = "#CC79A7";
constexpr const char *colour_upstream = "#009E73";

void write_summary(std::ostream &out, const run_report &r) {
  out << "<h1>streamcheck report</h1>\n<p class=\"sum\">" << esc(summary_line(r.summary()))
      << " &#8212; exit code " << r.exit_code() << "</p>\n<table>\n";
  const std::pair<const char *, std::string> rows[] = {
      {"target", r.target},
      {"proxy kind",
       r.proxy_kind + (r.proxy_kind_source.empty() ? "" : " (" + r.proxy_kind_source + ")")},
      {"profile", r.profile + (r.strict ? " (strict: SHOULD failures fail)" : "")},
      {"upstream", r.upstream},
      {"protocol", r.protocol},
      {"started", r.started_at},
      {"duration", text::fixed(r.seconds, 1) + " s"},
      {"streamcheck", r.tool_version}};
  for (const auto &[label, value] : rows)
    out << "<tr><th>" << label << "</th><td>" << esc(value) << "</td></tr>\n";
  out << "</table>\n";
}

std::string anchor_of(const check_result &c) {
  return "t-" + attr(c.id);
}

void write_details(std::ostream &out, const check_result &c) {
  if (!text::has_details(c.result)) return;
  out << "<dl>";
  for (const auto &[label, value] : text::detail_fields(c)) {
    out << "<dt>" << esc(label) << "</dt><dd>";
    if (label == "fix" || label == "reproduce")
      out << "<pre>" << esc(value) << "</pre>";
    else
      out << esc(value);
    out << "</dd>";
  }
  out << "</dl>";
}

// What needs attention first: failures, harness errors, warnings, inconclusive (never a pass);
// then passes and skips, each
// group in catalog order.
int rank_of(outcome o) {
  switch (o) {
  case outcome::fail: return 0;
  case outcome::error: return 1;
  case outcome::warn: return 2;
  case outcome::inconclusive: return 3;
  case outcome::pass: return 4;
  case outcome::skip: return 5;
  }
  return 6;
}

std::vector<const check_result *> problems_first(const run_report &r) {
  std::vector<const check_result *> out;
  for (const check_result &c : r.checks)
    out.push_back(&c);
  std::stable_sort(out.begin(), out.end(), [](const check_result *a, const check_result *b) {
    return rank_of(a->result) < rank_of(b->result);
  });
  return out;
}

void write_verdicts(std::ostream &out, const run_report &r) {
  out << "<h2>Verdicts</h2>\n<table>\n<colgroup><col><col class=\"c\"><col><col class=\"m\"><col>"
         "</colgroup>\n<tr><th>result</th><th>check</th><th>level</th>"
         "<th>measured</th><th>expected, actual, cause, fix, reproduction</th></tr>\n";
  for (const check_result *p : problems_first(r)) {
    const check_result &c = *p;
    const char *o = to_string(c.result);
    out << "<tr><td class=\"r " << o << "\">" << symbol_of(c.result) << " " << o
        << "</td><td><code>" << esc(c.id) << "</code><br>" << esc(c.title);
    if (!c.timelines.empty()) out << "<br><a href=\"#" << anchor_of(c) << "\">timeline</a>";
    out << "</td><td>" << to_string(c.severity) << "</td><td>" << esc(c.measured) << "</td><td>";
    write_details(out, c);
    out << "</td></tr>\n";
  }
  out << "</table>\n";
}

// ---- the timeline ----------------------------------------------------------------------------

struct frame {
  double width = 960, left = 190, right = 24;
  double row_emit = 34, row_direct = 78, row_proxy = 122, axis = 150, height = 178;
  double span_ms = 1;
  double x(double t) const { return left + (width - left - right) * std::max(0.0, t) / span_ms; }
};

double latest_time(const probe_timeline &t) {
  double latest = 1;
  for (const timeline_track *k : {&t.proxied, &t.direct}) {
    for (const timeline_event &e : k->events)
      latest = std::max({latest, e.emitted_ms, e.arrival_ms});
    latest = std::max(
        {latest, k->finished_ms, k->client_closed_ms, k->upstream_closed_ms, k->headers_ms});
  }
  return latest * 1.03;
}

// 1, 2 or 5 times a power of ten, so that about eight ticks fit.
double tick_step(double span) {
  const double raw = span / 8;
  const double p = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (m * p >= raw) return m * p;
  return 10 * p;
}

std::string tick_label(double t, double step) {
  if (step >= 1000)
    return text::fixed(t / 1000, step >= 10'000 || std::fmod(t, 1000) == 0 ? 0 : 1) + " s";
  return text::fixed(t, step >= 1 ? 0 : 1) + " ms";
}

std::string num(double v) {
  return text::fixed(v, 1);
}

void write_axis(std::ostream &out, const frame &f) {
  out << "<line x1=\"" << num(f.left) << "\" y1=\"" << num(f.axis) << "\" x2=\""
      << num(f.width - f.right) << "\" y2=\"" << num(f.axis) << "\" stroke=\"#444\"/>\n";
  const double step = tick_step(f.span_ms);
  for (double t = 0; t <= f.span_ms; t += step)
    out << "<line x1=\"" << num(f.x(t)) << "\" y1=\"" << num(f.axis) << "\" x2=\"" << num(f.x(t))
        << "\" y2=\"" << num(f.axis + 5) << "\" stroke=\"#444\"/><text x=\"" << num(f.x(t))
        << "\" y=\"" << num(f.axis + 18) << "\" text-anchor=\"middle\">" << tick_label(t, step)
        << "</text>\n";
  const std::pair<double, const char *> rows[] = {{f.row_emit, "emitted at the mock"},
                                                  {f.row_direct, "arrived directly"},
                                                  {f.row_proxy, "arrived through the proxy"}};
  for (const auto &[y, label] : rows)
    out << "<text x=\"" << num(f.left - 10) << "\" y=\"" << num(y + 4) << "\" text-anchor=\"end\">"
        << label << "</text><line x1=\"" << num(f.left) << "\" y1=\"" << num(y) << "\" x2=\""
        << num(f.width - f.right) << "\" y2=\"" << num(y) << "\" stroke=\"#e4e4e4\"/>\n";
}

// Arrival of the same sequence number in the other track (-1 when it never came).
double arrival_of(const timeline_track &t, int seq) {
  if (seq < 0) return -1;
  for (const timeline_event &e : t.events)
    if (e.seq == seq) return e.arrival_ms;
  return -1;
}

// The emission row uses the proxied request's stamps; when the proxy delivered none, the direct
// request's (same scenario) so that what should have arrived is still drawn.
const timeline_track &emission_source(const probe_timeline &t) {
  for (const timeline_event &e : t.proxied.events)
    if (e.emitted_ms >= 0) return t.proxied;
  return t.direct;
}

void write_events(std::ostream &out, const frame &f, const probe_timeline &t) {
  const timeline_track &src = emission_source(t);
  // Emission -> proxied arrival: parallel lines when it streams, a fan closing on one point
  // when it buffers.
  out << "<g stroke=\"#9a9a9a\" stroke-width=\"0.6\">\n";
  for (const timeline_event &e : t.proxied.events)
    if (e.emitted_ms >= 0 && e.arrival_ms >= 0)
      out << "<line x1=\"" << num(f.x(e.emitted_ms)) << "\" y1=\"" << num(f.row_emit + 6)
          << "\" x2=\"" << num(f.x(e.arrival_ms)) << "\" y2=\"" << num(f.row_proxy - 6) << "\"/>\n";
  out << "</g>\n";
  for (const timeline_event &e : src.events) {
    if (e.emitted_ms < 0) continue;
    const double direct = &src == &t.direct ? e.arrival_ms : arrival_of(t.direct, e.seq);
    const double proxied = &src == &t.proxied ? e.arrival_ms : arrival_of(t.proxied, e.seq);
    std::string title = "event " + std::to_string(e.seq) + ": emitted " + ms(e.emitted_ms) +
                        "; directly " + (direct >= 0 ? ms(direct) : "not received") +
                        "; through the proxy " + (proxied >= 0 ? ms(proxied) : "not received");
    if (proxied >= 0 && direct >= 0) title += " (" + ms(proxied - direct) + " later than direct)";
    out << "<g><title>" << esc(title) << "</title><rect x=\"" << num(f.x(e.emitted_ms) - 1)
        << "\" y=\"" << num(f.row_emit - 6) << "\" width=\"2\" height=\"12\" fill=\"#000\"/>";
    if (direct >= 0)
      out << "<circle cx=\"" << num(f.x(direct)) << "\" cy=\"" << num(f.row_direct)
          << "\" r=\"3.2\" fill=\"" << colour_direct << "\"/>";
    if (proxied >= 0)
      out << "<rect x=\"" << num(f.x(proxied) - 3) << "\" y=\"" << num(f.row_proxy - 3)
          << "\" width=\"6\" height=\"6\" fill=\"" << colour_proxy
          << "\" stroke=\"#5a3d00\" stroke-width=\"0.6\"/>";
    out << "</g>\n";
  }
  // Unstamped events (a proxy that rewrote the body): arrivals without an emission.
  for (const timeline_track *k : {&t.direct, &t.proxied})
    for (const timeline_event &e : k->events)
      if (e.emitted_ms < 0 && e.arrival_ms >= 0)
        out << "<g><title>" << esc("unstamped event at " + ms(e.arrival_ms)) << "</title><rect x=\""
            << num(f.x(e.arrival_ms) - 3) << "\" y=\""
            << num((k == &t.proxied ? f.row_proxy : f.row_direct) - 3)
            << "\" width=\"6\" height=\"6\" fill=\"none\" stroke=\"#000\"/></g>\n";
}

void vertical(std::ostream &out, const frame &f, double t, const char *colour, const char *dash,
              const std::string &label, const std::string &title, double label_y) {
  // Near the right edge the label goes to the left of its line.
  const bool flip = f.x(t) > f.width * 0.7;
  out << "<g><title>" << esc(title) << "</title><line x1=\"" << num(f.x(t)) << "\" y1=\"14\" x2=\""
      << num(f.x(t)) << "\" y2=\"" << num(f.axis) << "\" stroke=\"" << colour
      << "\" stroke-width=\"2\" stroke-dasharray=\"" << dash << "\"/><text x=\""
      << num(f.x(t) + (flip ? -4 : 4)) << "\" y=\"" << num(label_y) << "\""
      << (flip ? " text-anchor=\"end\"" : "") << " fill=\"#222\">" << esc(label) << "</text></g>\n";
}

// Headers, the end (complete or cut) of each arrival row; the client leaving and the upstream
// seeing it as vertical lines across all rows.
void write_marks(std::ostream &out, const frame &f, const probe_timeline &t) {
  const std::pair<const timeline_track *, double> rows[] = {{&t.direct, f.row_direct},
                                                            {&t.proxied, f.row_proxy}};
  for (const auto &[k, y] : rows) {
    if (!k->present) continue;
    if (k->headers_ms >= 0)
      out << "<g><title>"
          << esc("response headers at " + ms(k->headers_ms) + " (HTTP " +
                 std::to_string(k->status) + ")")
          << "</title><path d=\"M" << num(f.x(k->headers_ms)) << " " << num(y - 9)
          << "l5 5-5 5-5-5z\""
          << " fill=\"none\" stroke=\"#333\" stroke-width=\"1.2\"/></g>\n";
    if (k->finished_ms < 0 || k->client_closed_ms >= 0) continue;
    if (k->ended == "complete")
      out << "<g><title>" << esc("response complete at " + ms(k->finished_ms)) << "</title>"
          << "<rect x=\"" << num(f.x(k->finished_ms) - 1) << "\" y=\"" << num(y - 10)
          << "\" width=\"3\" height=\"20\" fill=\"#333\"/></g>\n";
    else
      out << "<g><title>" << esc("cut at " + ms(k->finished_ms) + ": " + k->ended) << "</title>"
          << "<path d=\"M" << num(f.x(k->finished_ms) - 6) << " " << num(y - 6) << "l12 12m0-12"
          << "l-12 12\" stroke=\"" << colour_cut << "\" stroke-width=\"3\"/><text x=\""
          << num(f.x(k->finished_ms) + 9) << "\" y=\"" << num(y + 4) << "\" fill=\"" << colour_cut
          << "\">cut</text></g>\n";
  }
  const timeline_track &p = t.proxied;
  if (p.client_closed_ms >= 0) {
    vertical(out, f, p.client_closed_ms, colour_client, "6 3", "client left",
             "the client closed the connection at " + ms(p.client_closed_ms), 12);
    if (p.upstream_closed_ms >= 0)
      vertical(out, f, p.upstream_closed_ms, colour_upstream, "2 2",
               "upstream saw it (" + p.upstream_outcome + ")",
               "the upstream connection ended at " + ms(p.upstream_closed_ms) + " (" +
                   p.upstream_outcome + "), " + ms(p.upstream_closed_ms - p.client_closed_ms) +
                   " after the client left",
               24);
  } else if (p.upstream_closed_ms >= 0) {
    out << "<g><title>"
        << esc("the upstream's request ended at " + ms(p.upstream_closed_ms) + " (" +
               p.upstream_outcome + ")")
        << "</title><path d=\"M" << num(f.x(p.upstream_closed_ms)) << " " << num(f.row_emit - 9)
        << "l6 9-6 9-6-9z\" fill=\"" << colour_upstream << "\"/></g>\n";
  }
}

std::string track_caption(const char *what, const timeline_track &k) {
  if (!k.present) return std::string(what) + ": not run";
  std::string s = std::string(what) + ": HTTP " + std::to_string(k.status) + ", " +
                  std::to_string(k.events.size()) + " events";
  if (!k.events.empty())
    s += ", first at " + ms(k.events.front().arrival_ms) + ", last at " +
         ms(k.events.back().arrival_ms);
  s += ", " + k.ended;
  if (k.client_closed_ms >= 0) s += " at " + ms(k.client_closed_ms);
  if (k.upstream_closed_ms >= 0)
    s += "; upstream ended at " + ms(k.upstream_closed_ms) + " (" + k.upstream_outcome + ")";
  return s;
}

void write_timeline(std::ostream &out, const probe_timeline &t, const std::string &check_id) {
  frame f;
  f.span_ms = latest_time(t);
  const std::string label = check_id + " / " + t.probe + ": event emission and arrival times";
  out << "<figure><svg class=\"timeline\" viewBox=\"0 0 " << num(f.width) << " " << num(f.height)
      << "\" role=\"img\" aria-label=\"" << attr(label)
      << "\" font-size=\"12\" font-family=\"system-ui,sans-serif\"><title>" << esc(label)
      << "</title>\n";
  write_axis(out, f);
  write_events(out, f, t);
  write_marks(out, f, t);
  out << "</svg><figcaption class=\"cap\">" << esc(track_caption("Through the proxy", t.proxied))
      << ".<br>" << esc(track_caption("Directly", t.direct)) << ".</figcaption></figure>\n";
}

void write_key(std::ostream &out) {
  out << "<p class=\"key\"><span>&#9646; emitted at the mock</span>\n<span><b style=\"color:"
      << colour_direct
      << "\">&#9679;</b> arrived directly</span>\n<span><b style=\"color:" << colour_proxy
      << "\">&#9632;</b> arrived through the proxy</span>\n"
      << "<span>&#9671; response headers</span>\n<span>&#9646; response complete</span>\n"
      << "<span><b style=\"color:" << colour_cut << "\">&#10005;</b> cut</span>\n"
      << "<span><b style=\"color:" << colour_client << "\">- -</b> client left</span>\n"
      << "<span><b style=\"color:" << colour_upstream
      << "\">&middot;&middot;&middot;</b> upstream saw the close</span></p>\n"
      << "<p class=\"cap\">Grey lines join each event's emission to its arrival through the "
         "proxy: parallel lines mean it streams, lines that converge on one point mean it was "
         "held back and released together. Arrivals count from the client's send, emissions "
         "from when the mock read the request. Hover a mark for its exact figures.</p>\n";
}

void write_timelines(std::ostream &out, const run_report &r) {
  bool any = false;
  for (const check_result &c : r.checks)
    any = any || !c.timelines.empty();
  if (!any) return;
  out << "<h2>Timelines</h2>\n";
  write_key(out);
  for (const check_result &c : r.checks) {
    if (c.timelines.empty()) continue;
    const char *o = to_string(c.result);
    out << "<section id=\"" << anchor_of(c) << "\"><h3><span class=\"r " << o << "\">"
        << symbol_of(c.result) << " " << o << "</span> <code>" << esc(c.id) << "</code> "
        << esc(c.title) << "</h3>\n<p class=\"cap\">" << esc(c.measured) << "</p>\n";
    for (const probe_timeline &t : c.timelines)
      write_timeline(out, t, c.id);
    out << "</section>\n";
  }
}

} // namespace

void write_html(std::ostream &out, const run_report &r) {
  out << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
         "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
         "style-src 'unsafe-inline'; img-src data:\">\n"
         "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>"
      << esc("streamcheck: " + r.target) << "</title>\n<style>" << style
      << "</style></head>\n<body>\n";
  write_summary(out, r);
  write_verdicts(out, r);
  write_timelines(out, r);
  out << "</body></html>\n";
}

} // namespace streamcheck::harness
