// The requests checks send: shaped like real clients (ollama-js, the OpenAI SDK, a browser).
#pragma once
#include "harness/probe.h"

namespace streamcheck::harness {

// The checks declare what the mock does as the shared, typed timeline.
using protocol::abort_kind;
using protocol::scenario;

// POST /api/chat, streaming, asking the mock for this timeline; the deadline follows from it.
probe_spec chat_stream(std::string name, const scenario &timeline = {});
// POST /v1/chat/completions with "stream": true (SSE).
probe_spec sse_stream(std::string name, const scenario &timeline = {});
// A probe for a body-less or fixed request.
probe_spec plain(std::string name, std::string method, std::string path, json body = nullptr);

// `body` serialized at exactly `bytes` bytes: its first message's first image is trimmed or
// padded to fit (probe_spec::exact_body_bytes).
std::string fit_body(json body, std::size_t bytes);

// "12.3 ms": the one way figures are printed in verdicts.
std::string format_ms(double value, int decimals);

inline constexpr int slack_ms = 20'000; // deadline beyond a scenario's planned duration

// Probes that load the machine (hundreds of streams, 20 MiB uploads) start once the
// timing-sensitive stream.* probes (about 2.5 s) are over, so that neither the harness nor the
// mock measures its own load as the proxy's delay.
inline constexpr int heavy_start_ms = 3'000;

} // namespace streamcheck::harness
