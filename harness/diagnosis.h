// Causes read from what was observed, not from the check's template. A streaming check that fails
// because the proxy answered 401 (an API-key gate), 308 (a redirect), 503 (a rate limit) or nothing
// at all says so, and never offers the buffering fix: the stream it measures never happened.
#pragma once
#include <optional>
#include <string>

#include "harness/check.h"
#include "harness/report/report.h"

namespace streamcheck::harness {

// Fills r.diverged_*: the first probe (in declared order) whose proxied status differs from the
// direct one, or that got no HTTP response through the proxy while it did directly.
void find_divergence(check_result &r, const observations &direct, const observations &proxied);

// Whether the divergence, rather than the check's own subject, explains the failure: the proxy
// itself answered a status the upstream did not (auth gate, redirect, limit, internal error,
// malformed forward) or no response at all. Timeouts (502/504, curl's) are the timeout checks'
// subject and stay with them; an upstream's own refusal (its 403 policy) too.
bool divergence_explains(const check_result &r);

// Replaces the check's templated cause and fix with what the status says, proxy-independent.
// The managed targets (nginx) then add the directive that produced it.
void explain_divergence(check_result &r);

// When every MUST/SHOULD check that ran failed because the proxy answered the same status itself
// (an auth gate without credentials, an https redirect, a try_files loop), nothing about
// streaming was measured: a setup error, not 26 verdicts. The message says what answered (the
// cause and fix, file:line included once a managed target annotated them) and the way out.
std::optional<std::string> refused_everything(const run_report &r);

// The Host the upstream refused with its bare 403 (Ollama's DNS-rebinding guard) on one of the
// proxied probes, when the proxy passed a public name through (--host, a host-routed frontend):
// every check is then blocked by upstream.host-accepted, whatever it measures.
std::optional<std::string> refused_host(const observations &proxied);

// "HTTP 401" / "no HTTP response (curl: Empty reply from server)".
std::string describe_divergence(const check_result &r);

} // namespace streamcheck::harness
