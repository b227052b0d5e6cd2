// Splits a response body into events as bytes arrive: NDJSON lines or SSE "data:" events.
// Incremental so that each event gets the arrival time of the write that completed it.
#pragma once
#include <functional>
#include <string>
#include <string_view>

namespace streamcheck::harness {

class stream_parser {
public:
  enum class kind { ndjson, sse };
  using sink = std::function<void(std::string event)>;

  stream_parser(kind k, sink on_event) : kind_(k), on_event_(std::move(on_event)) {}
  void feed(std::string_view bytes);
  void finish(); // a final NDJSON line without "\n" still counts

  static kind for_content_type(std::string_view content_type);

private:
  void line(std::string_view l);
  kind kind_;
  sink on_event_;
  std::string pending_;
  std::string data_; // SSE data lines of the event being assembled
  bool has_data_ = false;
};

} // namespace streamcheck::harness
