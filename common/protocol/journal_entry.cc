#include "common/protocol/journal_entry.h"

#include <array>
#include <utility>

namespace streamcheck::protocol {
namespace {

constexpr std::array<std::pair<stream_end, const char *>, 7> end_names = {{
    {stream_end::completed, "completed"},
    {stream_end::peer_closed, "peer_closed"},
    {stream_end::write_failed, "write_failed"},
    {stream_end::aborted_fin, "aborted_fin"},
    {stream_end::aborted_rst, "aborted_rst"},
    {stream_end::in_progress, "in_progress"},
    {stream_end::shutdown, "shutdown"},
}};

// Reads j[key] into out when it has out's JSON type; false (and the key in `bad`) otherwise.
class reader {
public:
  explicit reader(const json &j) : j_(j) {}

  template <class T> void operator()(const char *key, T &out) {
    if (!bad_.empty()) return;
    const auto it = j_.find(key);
    if (it == j_.end() || !fits<T>(*it)) {
      bad_ = key;
      return;
    }
    out = it->template get<T>();
  }
  const std::string &bad() const { return bad_; }

private:
  template <class T> static bool fits(const json &v) {
    if constexpr (std::is_same_v<T, std::string>)
      return v.is_string();
    else if constexpr (std::is_unsigned_v<T>)
      return v.is_number_unsigned() ||
             (v.is_number_integer() && v.template get<std::int64_t>() >= 0);
    else
      return v.is_number_integer();
  }
  const json &j_;
  std::string bad_;
};

} // namespace

const char *to_string(stream_end e) {
  for (const auto &[value, name] : end_names)
    if (value == e) return name;
  return "in_progress";
}

std::optional<stream_end> parse_stream_end(std::string_view text) {
  for (const auto &[value, name] : end_names)
    if (text == name) return value;
  return std::nullopt;
}

json to_json(const journal_entry &e) {
  json headers = json::array();
  for (const auto &[k, v] : e.headers)
    headers.push_back(json::array({k, v}));
  json o;
  o["seq"] = e.seq;
  o["id"] = e.id;
  o["connection"] = e.connection;
  o["request_on_connection"] = e.request_on_connection;
  o["peer"] = e.peer;
  o["method"] = e.method;
  o["target"] = e.target;
  o["version"] = e.version;
  o["headers"] = headers;
  o["body_bytes"] = e.body_bytes;
  o["body_fnv1a64"] = e.body_fnv1a64;
  o["received_us"] = e.received_us;
  o["body_us"] = e.body_us;
  o["model"] = e.model;
  o["status"] = e.status;
  o["head_sent_us"] = e.head_sent_us;
  o["events_sent"] = e.events_sent;
  o["outcome"] = to_string(e.outcome);
  o["ended_us"] = e.ended_us;
  o["peer_closed_us"] = e.peer_closed_us;
  return o;
}

result<journal_entry> journal_entry_from_json(const json &j) {
  if (!j.is_object()) return error{"journal entry: not an object"};
  journal_entry e;
  reader read(j);
  read("seq", e.seq);
  read("id", e.id);
  read("connection", e.connection);
  read("request_on_connection", e.request_on_connection);
  read("peer", e.peer);
  read("method", e.method);
  read("target", e.target);
  read("version", e.version);
  read("body_bytes", e.body_bytes);
  read("body_fnv1a64", e.body_fnv1a64);
  read("received_us", e.received_us);
  read("body_us", e.body_us);
  read("model", e.model);
  read("status", e.status);
  read("head_sent_us", e.head_sent_us);
  read("events_sent", e.events_sent);
  read("ended_us", e.ended_us);
  read("peer_closed_us", e.peer_closed_us);
  std::string outcome;
  read("outcome", outcome);
  if (!read.bad().empty())
    return error{"journal entry: missing or mistyped \"" + read.bad() + "\""};
  const auto end = parse_stream_end(outcome);
  if (!end) return error{"journal entry: unknown outcome \"" + outcome + "\""};
  e.outcome = *end;
  const auto headers = j.find("headers");
  if (headers == j.end() || !headers->is_array())
    return error{"journal entry: missing or mistyped \"headers\""};
  for (const auto &h : *headers) {
    if (!h.is_array() || h.size() != 2 || !h[0].is_string() || !h[1].is_string())
      return error{"journal entry: a header is not a [name, value] pair of strings"};
    e.headers.emplace_back(h[0].get<std::string>(), h[1].get<std::string>());
  }
  return e;
}

} // namespace streamcheck::protocol
