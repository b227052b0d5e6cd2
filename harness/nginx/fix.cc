#include "harness/nginx/fix.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <vector>

#include "harness/managed/session.h"
#include "harness/nginx/patch.h"
#include "harness/process.h"

namespace streamcheck::harness::nginx {

// --fix: where the patched copy goes unless --fix=OUT says.
std::string default_fix_path(const std::string &conf) {
  const std::string ext = ".conf";
  if (conf.size() > ext.size() && conf.compare(conf.size() - ext.size(), ext.size(), ext) == 0)
    return conf.substr(0, conf.size() - ext.size()) + ".fixed.conf";
  return conf + ".fixed";
}

namespace {

bool failing(const check_result &c) {
  return c.result == outcome::fail || c.result == outcome::warn;
}

// The edits the analysis proposes for the failing checks; per check without one, why.
std::vector<edit> edits_for(const nginx_run &run, std::map<std::string, std::string> &none) {
  std::vector<edit> edits;
  for (const check_result &c : run.report.checks) {
    if (!failing(c)) continue;
    bool any = false;
    for (const auto &[path, findings] : run.findings) {
      if (path != c.path) continue;
      // As annotate does: a status finding explains only a check nginx answered with it.
      for (const auto &f : findings) {
        if (!matches(f, c.id) || (f.status != 0 && f.status != c.diverged_status)) continue;
        any = any || !f.edits.empty();
        edits.insert(edits.end(), f.edits.begin(), f.edits.end()); // apply_edits drops repeats
      }
    }
    if (!any)
      none[c.id] = "the analysis located no cause for it in the config (a behaviour of the "
                   "upstream or of nginx itself, or a pattern streamcheck does not know yet)";
  }
  return edits;
}

void print_diff(const std::string &from, const std::string &to) {
  managed::temp_prefix tmp;
  if (!tmp.create("diff")) return;
  child_process diff;
  const std::string log = tmp.path + "/diff.txt";
  if (!diff.start({{"diff", "-u", from, to}, log, {}, {}})) return;
  diff.wait(std::chrono::seconds(10));
  std::fputs(read_file(log).c_str(), stdout);
  std::fflush(stdout);
}

// "the patch makes N of M failing checks pass", and for each other one why. With no edit at all
// a pass on the second run proves nothing (the first failure did not reproduce); a check that
// passes with no edit of its own is counted (another check's remedy fixed it: the Origin edit
// also ends cors.stream-response's 403) and named.
void print_patch_verdict(const std::vector<std::string> &was_failing,
                         const std::map<std::string, std::string> &why_not, bool edited,
                         const run_report &second) {
  int fixed = 0;
  std::string others, notes;
  for (const std::string &id : was_failing) {
    const auto it = std::find_if(second.checks.begin(), second.checks.end(),
                                 [&](const check_result &c) { return c.id == id; });
    const bool passes = it != second.checks.end() && it->result == outcome::pass;
    const auto none = why_not.find(id);
    if (passes && edited) {
      ++fixed;
      if (none != why_not.end())
        notes += "  (" + id + " passes with no edit of its own: another check's remedy fixed it)\n";
      continue;
    }
    std::string reason =
        none != why_not.end() ? none->second : std::string("the patched config still fails it");
    if (passes)
      reason = "no edit at all, and it passed the second run: the first failure did not "
               "reproduce (a timing flake on a loaded machine?)";
    else if (it != second.checks.end())
      reason += " (now " + std::string(to_string(it->result)) + ": " +
                (it->actual.empty() ? it->measured : it->actual) + ")";
    others += "  " + id + ": " + reason + "\n";
  }
  std::printf("streamcheck: the patch makes %d of %zu failing checks pass\n%s%s", fixed,
              was_failing.size(), others.c_str(), notes.c_str());
  std::fflush(stdout);
}

} // namespace

// streamcheck nginx CONF --fix[=OUT]: the remedies the analysis located, written to a copy of
// the user's file (never the file itself), shown as a diff, and proven by a second run.
void fix_and_verify(const cli_options &o, const nginx_run &first) {
  std::vector<std::string> was_failing;
  for (const check_result &c : first.report.checks)
    if (failing(c)) was_failing.push_back(c.id);
  if (was_failing.empty()) {
    std::fprintf(stderr, "streamcheck: --fix: no failing check, nothing to patch\n");
    return;
  }
  std::map<std::string, std::string> why_not;
  std::vector<edit> edits = edits_for(first, why_not);
  std::vector<edit> here;
  for (const auto &e : edits) {
    if (e.at.file == o.conf)
      here.push_back(e);
    else
      std::fprintf(
          stderr, "streamcheck: --fix: %s is in an included file; change it by hand: %s%s\n",
          e.at.str().c_str(), e.what == edit::kind::remove ? "remove " : "", e.directive.c_str());
  }
  auto patched = apply_edits(read_file(o.conf), o.conf, here);
  if (!patched) {
    std::fprintf(stderr, "streamcheck: --fix: cannot patch %s: %s\n", o.conf.c_str(),
                 patched.message().c_str());
    return;
  }
  const std::string out = o.fix_out.empty() ? default_fix_path(o.conf) : o.fix_out;
  {
    std::ofstream f(out, std::ios::binary | std::ios::trunc);
    f << *patched;
    if (!f) {
      std::fprintf(stderr, "streamcheck: --fix: cannot write %s\n", out.c_str());
      return;
    }
  }
  std::fprintf(stderr, "streamcheck: --fix: wrote %s; the diff:\n", out.c_str());
  print_diff(o.conf, out);

  cli_options again = o;
  again.conf = out;
  again.include_prefix = first.include_base; // includes resolve as for the original
  std::fprintf(stderr, "streamcheck: --fix: running the suite against %s\n", out.c_str());
  auto second = run_nginx_gate(again, false);
  if (!second) {
    std::fprintf(stderr, "streamcheck: --fix: the patched config does not run: %s\n",
                 second.message().c_str());
    return;
  }
  print_patch_verdict(was_failing, why_not, !here.empty(), second->report);
}

} // namespace streamcheck::harness::nginx
