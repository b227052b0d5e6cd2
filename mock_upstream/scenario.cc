#include "mock_upstream/scenario.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <climits>

namespace streamcheck::mock {
namespace {

constexpr int max_ms = 3'600'000;

scenario with(scenario s, auto &&edit) {
  edit(s);
  return s;
}

std::vector<preset> make_presets() {
  const scenario d{};
  return {
      {"llama3.2:latest", "a warm model: 40 ms to first token, 24 tokens 15 ms apart", d},
      {"steady:latest", "100 tokens 20 ms apart",
       with(d,
            [](scenario &s) {
              s.tokens = 100;
              s.gap_ms = 20;
            })},
      {"slow-first-65s:latest", "silent for 65 s (no headers), then streams",
       with(d, [](scenario &s) { s.first_token_ms = 65'000; })},
      {"stall-65s:latest", "pauses 65 s after token 5",
       with(d,
            [](scenario &s) {
              s.stall_at = 5;
              s.stall_ms = 65'000;
            })},
      {"stall-90s:latest", "pauses 90 s after token 5",
       with(d,
            [](scenario &s) {
              s.stall_at = 5;
              s.stall_ms = 90'000;
            })},
      {"long-35s:latest", "a steady 35 s stream, 10 tokens/s",
       with(d,
            [](scenario &s) {
              s.tokens = 350;
              s.gap_ms = 100;
            })},
      {"large-400:latest", "400 tokens of 64 bytes, 5 ms apart",
       with(d,
            [](scenario &s) {
              s.tokens = 400;
              s.token_bytes = 64;
              s.gap_ms = 5;
            })},
      {"abort-fin:latest", "the connection is closed (FIN) after 5 tokens",
       with(d,
            [](scenario &s) {
              s.abort_after = 5;
              s.abort = abort_kind::fin;
            })},
      {"abort-rst:latest", "the connection is reset (RST) after 5 tokens",
       with(d,
            [](scenario &s) {
              s.abort_after = 5;
              s.abort = abort_kind::rst;
            })},
      {"in-band-error:latest", "an in-band {\"error\":...} line after 5 tokens",
       with(d, [](scenario &s) { s.error_after = 5; })},
      {"burst:latest", "tokens leave five per write",
       with(d, [](scenario &s) { s.events_per_write = 5; })},
  };
}

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
  if (v == "fin")
    s.abort = abort_kind::fin;
  else if (v == "rst")
    s.abort = abort_kind::rst;
  else if (v == "none")
    s.abort = abort_kind::none;
  else
    return bad("abort", "\"fin\", \"rst\" or \"none\"", v);
  return std::nullopt;
}

std::optional<error> apply_key(scenario &s, const std::string &key, const json &v) {
  if (key == "id") {
    if (!v.is_string() || v.get<std::string>().size() > 200)
      return bad(key, "a string of at most 200 bytes", v);
    s.id = v.get<std::string>();
    return std::nullopt;
  }
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
  if (key == "error_message") {
    if (!v.is_string()) return bad(key, "a string", v);
    s.error_message = v.get<std::string>();
    return std::nullopt;
  }
  return error{"streamcheck." + key + ": unknown scenario key"};
}

} // namespace

const std::vector<preset> &presets() {
  static const std::vector<preset> all = make_presets();
  return all;
}

std::string normalize_model_name(const std::string &name) {
  const auto slash = name.rfind('/');
  const auto colon = name.rfind(':');
  if (colon != std::string::npos && (slash == std::string::npos || colon > slash)) return name;
  return name + ":latest";
}

const preset *find_preset(const std::string &model) {
  const std::string wanted = normalize_model_name(model);
  for (const auto &p : presets())
    if (p.name == wanted) return &p;
  return nullptr;
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

namespace {

std::string percent_decode(std::string_view in) {
  std::string out;
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '+') {
      out += ' ';
    } else if (in[i] == '%' && i + 2 < in.size()) {
      unsigned v = 0;
      const auto [p, ec] = std::from_chars(in.data() + i + 1, in.data() + i + 3, v, 16);
      if (ec == std::errc{} && p == in.data() + i + 3) {
        out += static_cast<char>(v);
        i += 2;
      } else {
        out += in[i];
      }
    } else {
      out += in[i];
    }
  }
  return out;
}

json scalar_from_text(const std::string &text) {
  const json parsed = json::parse(text, nullptr, false);
  if (!parsed.is_discarded() && !parsed.is_structured()) return parsed;
  return text;
}

} // namespace

json overrides_from_query(const std::string &query) {
  json out = json::object();
  std::string_view rest = query;
  constexpr std::string_view prefix = "streamcheck.";
  while (!rest.empty()) {
    const auto amp = rest.find('&');
    const std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view{} : rest.substr(amp + 1);
    const auto eq = pair.find('=');
    const std::string key = percent_decode(pair.substr(0, eq));
    const std::string value =
        eq == std::string_view::npos ? "" : percent_decode(pair.substr(eq + 1));
    if (key.rfind(prefix, 0) != 0) continue;
    const std::string name = key.substr(prefix.size());
    if (name.rfind("headers.", 0) == 0) {
      // After a scalar streamcheck.headers=V, keep V so that apply_overrides reports it; indexing
      // the scalar would throw.
      if (out.contains("headers") && !out["headers"].is_object()) continue;
      out["headers"][name.substr(8)] = value;
    } else if (name == "id" || name == "error_message" || name == "abort")
      out[name] = value;
    else
      out[name] = scalar_from_text(value);
  }
  return out;
}

long long planned_duration_ms(const scenario &s) {
  long long total = s.first_token_ms + static_cast<long long>(s.gap_ms) * s.tokens;
  if (s.stall_at >= 0 && s.stall_at < s.tokens) total += s.stall_ms;
  return total;
}

} // namespace streamcheck::mock
