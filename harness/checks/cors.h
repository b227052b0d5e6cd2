// The cors.* judges that live mode shares with the scripted suite: each judges the responses it
// is given by name, so the scripted checks (against the mock) and the live ones (against a real
// server's own policy) apply one rule set to their own probes.
#pragma once
#include <string>
#include <vector>

#include "harness/check.h"

namespace streamcheck::harness::cors {

// The preflight a browser sends before the OpenAI JS SDK's streamed POST, named `name`.
probe_spec preflight_probe(const check_context &ctx, std::string name = "preflight");
// Adds the foreign origin a browser app sends.
probe_spec with_origin(probe_spec p, const check_context &ctx);

// cors.preflight: a 2xx allowing the origin, POST and the SDK's request headers.
verdict judge_preflight(const probe_result &preflight, const check_context &ctx);
// cors.stream-response: a 2xx a browser at ctx.origin may read.
verdict judge_stream_response(const probe_result &stream, const check_context &ctx);
// cors.single-value: no Access-Control-* header doubled on any of `responses`.
verdict judge_single_value(const observations &o, const std::vector<std::string> &responses);
// cors.credentials: no wildcard origin with Allow-Credentials: true on any of `responses`.
verdict judge_credentials(const observations &o, const std::vector<std::string> &responses);
// cors.vary-origin: every echoed origin among `responses` comes with Vary: Origin; inconclusive
// (blocked by `stream_check`) when none carries CORS at all.
verdict judge_vary_origin(const observations &o, const std::vector<std::string> &responses,
                          const check_context &ctx, const std::string &stream_check);

} // namespace streamcheck::harness::cors
