#include "common/protocol/scenario.h"

#include <algorithm>
#include <cctype>
#include <climits>
#include <optional>
#include <string_view>

namespace streamcheck::protocol {
namespace {

constexpr int max_ms = 3'600'000;

std::string describe(const json &v) {
  // Values from a query string may hold any bytes: never throw on invalid UTF-8.
  std::string text = v.dump(-1, ' ', false, json::error_handler_t::replace);
  if (text.size() > 60) text = text.substr(0, 57) + "...";
  return text;
}

error bad(const std::string &key, const std::string &what, const json &got) {
  return error{"streamcheck." + key + ": must be " + what + ", got " + describe(got)};
}

std::optional<error> read_int(const json &v, const std::string &key, int lo, int hi, int &out) {
  // Unsigned values above LLONG_MAX would wrap to negatives in get<long long>().
  if (!v.is_number_integer() ||
      (v.is_number_unsigned() &&
       v.get<unsigned long long>() > static_cast<unsigned long long>(hi)) ||
      v.get<long long>() < lo || v.get<long long>() > hi)
    return bad(key, "an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]", v);
  out = static_cast<int>(v.get<long long>());
  return std::nullopt;
}

std::optional<error> read_bool(const json &v, const std::string &key, bool &out) {
  if (!v.is_boolean()) return bad(key, "true or false", v);
  out = v.get<bool>();
  return std::nullopt;
}

bool is_token_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

std::optional<error> read_headers(const json &v, scenario &s) {
  if (!v.is_object()) return bad("headers", "an object of header names to string values", v);
  for (const auto &[name, value] : v.items()) {
    if (name.empty() || !std::all_of(name.begin(), name.end(), is_token_char))
      return error{"streamcheck.headers: invalid header name " + describe(name)};
    if (!value.is_string()) return bad("headers." + name, "a string", value);
    const auto text = value.get<std::string>();
    if (text.find_first_of("\r\n") != std::string::npos || text.find('\0') != std::string::npos)
      return bad("headers." + name, "a value without CR, LF or NUL", value);
    s.headers.emplace_back(name, text);
  }
  return std::nullopt;
}

std::optional<error> read_abort(const json &v, scenario &s) {
  for (const auto k : {abort_kind::fin, abort_kind::rst, abort_kind::none})
    if (v == to_string(k)) {
      s.abort = k;
      return std::nullopt;
    }
  return bad("abort", "\"fin\", \"rst\" or \"none\"", v);
}

std::optional<error> read_string(const json &v, const std::string &key, std::size_t max_bytes,
                                 std::string &out) {
  if (!v.is_string() || v.get<std::string>().size() > max_bytes)
    return bad(key,
               max_bytes == std::string::npos
                   ? "a string"
                   : "a string of at most " + std::to_string(max_bytes) + " bytes",
               v);
  out = v.get<std::string>();
  return std::nullopt;
}

std::optional<error> apply_key(scenario &s, const std::string &key, const json &v) {
  if (key == "id") return read_string(v, key, 200, s.id);
  if (key == "first_token_ms") return read_int(v, key, 0, max_ms, s.first_token_ms);
  if (key == "gap_ms") return read_int(v, key, 0, max_ms, s.gap_ms);
  if (key == "jitter_ms") return read_int(v, key, 0, max_ms, s.jitter_ms);
  if (key == "tokens") return read_int(v, key, 0, 10'000'000, s.tokens);
  if (key == "token_bytes") return read_int(v, key, 0, 1 << 20, s.token_bytes);
  if (key == "stall_at") return read_int(v, key, -1, INT_MAX, s.stall_at);
  if (key == "stall_ms") return read_int(v, key, 0, max_ms, s.stall_ms);
  if (key == "events_per_write") return read_int(v, key, 1, 10'000, s.events_per_write);
  if (key == "split_events") return read_bool(v, key, s.split_events);
  if (key == "split_gap_ms") return read_int(v, key, 0, max_ms, s.split_gap_ms);
  if (key == "abort_after") return read_int(v, key, -1, INT_MAX, s.abort_after);
  if (key == "abort") return read_abort(v, s);
  if (key == "error_after") return read_int(v, key, -1, INT_MAX, s.error_after);
  if (key == "status") return read_int(v, key, 200, 599, s.status);
  if (key == "headers") return read_headers(v, s);
  if (key == "legacy_chunks") return read_bool(v, key, s.legacy_chunks);
  if (key == "seed") {
    int seed = 0;
    auto e = read_int(v, key, 0, INT_MAX, seed);
    s.seed = static_cast<unsigned>(seed);
    return e;
  }
  if (key == "error_message") return read_string(v, key, std::string::npos, s.error_message);
  return error{"streamcheck." + key + ": unknown scenario key"};
}

bool aborts(const scenario &s) {
  return s.abort_after >= 0; // abort none with abort_after >= 0 is a FIN (see scenario)
}

bool stalls(const scenario &s) {
  return s.stall_at >= 0 && s.stall_at < s.tokens; // tokens only, never the final object
}

} // namespace

const char *to_string(abort_kind k) {
  switch (k) {
  case abort_kind::none: return "none";
  case abort_kind::fin: return "fin";
  case abort_kind::rst: return "rst";
  }
  return "none";
}

result<scenario> apply_overrides(scenario base, const json &overrides) {
  if (overrides.is_null()) return base;
  if (!overrides.is_object())
    return error{"streamcheck: must be an object, got " + describe(overrides)};
  std::optional<int> duration_ms;
  for (const auto &[key, value] : overrides.items()) {
    if (key == "duration_ms") {
      int d = 0;
      if (auto e = read_int(value, key, 0, max_ms, d)) return *e;
      duration_ms = d;
    } else if (auto e = apply_key(base, key, value)) {
      return *e;
    }
  }
  // A total duration fixes whichever of count and gap the caller left open.
  if (duration_ms) {
    if (overrides.contains("tokens") && base.tokens > 0)
      base.gap_ms = *duration_ms / base.tokens;
    else if (base.gap_ms > 0)
      base.tokens = std::max(1, *duration_ms / base.gap_ms);
    else
      return error{"streamcheck.duration_ms: needs a non-zero gap_ms or an explicit tokens"};
  }
  if (base.abort != abort_kind::none && base.abort_after < 0) base.abort_after = 0;
  // An explicit "abort":"none" switches a preset's abort off instead of defaulting it back to FIN.
  if (base.abort == abort_kind::none && base.abort_after >= 0) {
    if (overrides.contains("abort"))
      base.abort_after = -1;
    else
      base.abort = abort_kind::fin;
  }
  return base;
}

json to_overrides(const scenario &s, const scenario &base) {
  json out = json::object();
  auto put = [&](const char *key, const auto &value, const auto &base_value) {
    if (value != base_value) out[key] = value;
  };
  put("id", s.id, base.id);
  put("first_token_ms", s.first_token_ms, base.first_token_ms);
  put("gap_ms", s.gap_ms, base.gap_ms);
  put("jitter_ms", s.jitter_ms, base.jitter_ms);
  put("tokens", s.tokens, base.tokens);
  put("token_bytes", s.token_bytes, base.token_bytes);
  put("stall_at", s.stall_at, base.stall_at);
  put("stall_ms", s.stall_ms, base.stall_ms);
  put("events_per_write", s.events_per_write, base.events_per_write);
  put("split_events", s.split_events, base.split_events);
  put("split_gap_ms", s.split_gap_ms, base.split_gap_ms);
  put("abort_after", s.abort_after, base.abort_after);
  if (s.abort != base.abort) out["abort"] = to_string(s.abort);
  put("error_after", s.error_after, base.error_after);
  put("error_message", s.error_message, base.error_message);
  put("status", s.status, base.status);
  if (s.headers != base.headers) {
    const bool extends = s.headers.size() > base.headers.size() &&
                         std::equal(base.headers.begin(), base.headers.end(), s.headers.begin());
    json headers = json::object();
    for (auto h = s.headers.begin() + (extends ? static_cast<long>(base.headers.size()) : 0);
         h != s.headers.end(); ++h)
      headers[h->first] = h->second;
    out["headers"] = headers;
  }
  put("legacy_chunks", s.legacy_chunks, base.legacy_chunks);
  put("seed", s.seed, base.seed);
  return out;
}

long long planned_duration_ms(const scenario &s) {
  return emission_us(s, s.tokens) / 1000;
}

int emitted_events(const scenario &s) {
  if (s.status != 200) return 0;
  int events = s.tokens + 1;
  if (aborts(s)) events = std::min(events, s.abort_after); // cut before event abort_after
  if (s.error_after >= 0) events = std::min(events, s.error_after + 1); // the error line counts
  return events;
}

bool aborts_midway(const scenario &s) {
  return s.status == 200 && aborts(s) && s.abort_after <= s.tokens &&
         (s.error_after < 0 || s.abort_after <= s.error_after);
}

std::int64_t emission_us(const scenario &s, int k) {
  long long ms = s.first_token_ms + static_cast<long long>(s.gap_ms) * k;
  if (stalls(s) && k >= s.stall_at) ms += s.stall_ms;
  return ms * 1000;
}

} // namespace streamcheck::protocol
