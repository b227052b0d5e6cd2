// The wire contract between the harness and the mock: the timeline of one response. The mock
// parses every request into a scenario (a preset chosen by the body's `model`, overridden by a
// top-level "streamcheck" object or `streamcheck.KEY=VALUE` query parameters); the harness
// declares the scenario it wants and sends to_overrides() of it. The derived facts below are the
// mock's behaviour stated once, so a judge asks them instead of restating the arithmetic.
#pragma once
#include <cstdint>
#include <string>

#include "common/go_json.h"
#include "common/http_text.h"
#include "common/result.h"

namespace streamcheck::protocol {

enum class abort_kind { none, fin, rst };

struct scenario {
  int first_token_ms = 40;   // silence (no byte, not even headers) before the first event
  int gap_ms = 15;           // between events
  int jitter_ms = 0;         // uniform +/- on each gap
  int tokens = 24;           // content events before the final one
  int token_bytes = 0;       // 0: words; N: every token's text is exactly N bytes
  int stall_at = -1;         // before token k (0-based) ...
  int stall_ms = 0;          // ... wait this long
  int events_per_write = 1;  // >1: that many events leave in one write (a burst)
  bool split_events = false; // each event leaves in two writes, split_gap_ms apart
  int split_gap_ms = 5;
  // After k tokens the connection dies, by FIN or RST, without a clean end. abort_after >= 0
  // with abort none means FIN: what the mock makes of a bare "abort_after".
  int abort_after = -1;
  abort_kind abort = abort_kind::none;
  int error_after = -1; // after k tokens an in-band {"error":...} ends the stream
  std::string error_message = "an error was encountered while running the model";
  int status = 200;           // != 200: an error response before any output
  header_list headers{};      // extra response headers
  bool legacy_chunks = false; // OpenAI SSE chunk layout of Ollama <= v0.32.5
  unsigned seed = 0;          // jitter and token text are deterministic per seed
  // Correlation id, echoed into the journal. Last, not first: with a string first, the JSON-era
  // call chat_stream("s", {{"tokens", 3}}) still compiled (as id = std::string("tokens", 3)); an
  // int first makes it the compile error it should be.
  std::string id{};

  bool operator==(const scenario &) const = default;
};

const char *to_string(abort_kind k); // "none", "fin", "rst"

// Applies a "streamcheck" override object to base. Every key is validated; the error names the
// key and the value, e.g. "streamcheck.gap_ms: must be an integer in [0, 3600000], got -5".
result<scenario> apply_overrides(scenario base, const json &overrides);

// The inverse: the override object that turns base into s, with only the keys that differ (the
// request a person reads in a reproduction command stays short). Headers beyond base's are
// appended, as apply_overrides appends them.
json to_overrides(const scenario &s, const scenario &base = {});

// Total time the stream takes when nothing goes wrong, in milliseconds: the final event's
// emission, the stall included only when it falls before a token (as the mock runs it).
long long planned_duration_ms(const scenario &s);

// How many stamped events the mock emits: the tokens and the final object, fewer when an abort
// or an in-band error ends the stream first (the error line is stamped and counts), none when a
// scripted status answers before any output.
int emitted_events(const scenario &s);

// The connection dies (FIN or RST) before the stream ends, cleanly or with its in-band error.
bool aborts_midway(const scenario &s);

// When event k (0-based; k == tokens is the final object) leaves, in microseconds since the
// mock read the request, before jitter.
std::int64_t emission_us(const scenario &s, int k);

} // namespace streamcheck::protocol
