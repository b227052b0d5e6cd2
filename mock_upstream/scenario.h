// The timeline of one response. Chosen per request by the body's `model` (a preset, listed in
// /api/tags) and overridden by a top-level "streamcheck" object in the body, or by
// `streamcheck.KEY=VALUE` query parameters for body-less requests. No proxy cooperation needed.
#pragma once
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/go_json.h"
#include "common/result.h"

namespace streamcheck::mock {

enum class abort_kind { none, fin, rst };

struct scenario {
  std::string id;            // correlation id, echoed into the journal
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
  int abort_after = -1;                // after k tokens the connection dies ...
  abort_kind abort = abort_kind::none; // ... by FIN or RST, without a clean end
  int error_after = -1;                // after k tokens an in-band {"error":...} ends the stream
  std::string error_message = "an error was encountered while running the model";
  int status = 200; // != 200: an error response before any output
  std::vector<std::pair<std::string, std::string>> headers; // extra response headers
  bool legacy_chunks = false; // OpenAI SSE chunk layout of Ollama <= v0.32.5
  unsigned seed = 0;          // jitter and token text are deterministic per seed
};

struct preset {
  std::string name; // as listed in /api/tags, with its tag
  std::string description;
  scenario base;
};

const std::vector<preset> &presets();

// "llama3.2" -> "llama3.2:latest"; names already tagged are kept.
std::string normalize_model_name(const std::string &name);

const preset *find_preset(const std::string &model);

// Applies a "streamcheck" override object to base. Every key is validated; the error names the
// key and the value, e.g. "streamcheck.gap_ms: must be an integer in [0, 3600000], got -5".
result<scenario> apply_overrides(scenario base, const json &overrides);

// Collects streamcheck.KEY=VALUE pairs of a query string into an override object
// (streamcheck.headers.NAME=V becomes headers:{NAME:V}). Values that parse as JSON scalars are
// taken as such, otherwise as strings.
json overrides_from_query(const std::string &query);

// Total time the scenario's stream takes when nothing goes wrong, in milliseconds.
long long planned_duration_ms(const scenario &s);

} // namespace streamcheck::mock
