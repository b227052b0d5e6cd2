#include "harness/stream_parser.h"

namespace streamcheck::harness {

stream_parser::kind stream_parser::for_content_type(std::string_view content_type) {
  return content_type.find("text/event-stream") != std::string_view::npos ? kind::sse
                                                                          : kind::ndjson;
}

void stream_parser::feed(std::string_view bytes) {
  pending_.append(bytes);
  std::size_t start = 0;
  for (;;) {
    const auto nl = pending_.find('\n', start);
    if (nl == std::string::npos) break;
    std::string_view l(pending_.data() + start, nl - start);
    if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
    line(l);
    start = nl + 1;
  }
  pending_.erase(0, start);
}

void stream_parser::finish() {
  if (!pending_.empty()) {
    line(pending_);
    pending_.clear();
  }
  if (kind_ == kind::sse && has_data_) line("");
}

void stream_parser::line(std::string_view l) {
  if (kind_ == kind::ndjson) {
    if (!l.empty()) on_event_(std::string(l));
    return;
  }
  // SSE: an empty line dispatches; "data:" lines accumulate; comments and other fields are ignored.
  if (l.empty()) {
    if (has_data_) on_event_(std::move(data_));
    data_.clear();
    has_data_ = false;
    return;
  }
  if (l.rfind("data:", 0) == 0) {
    std::string_view v = l.substr(5);
    if (!v.empty() && v.front() == ' ') v.remove_prefix(1);
    if (has_data_) data_ += '\n';
    data_.append(v);
    has_data_ = true;
  }
}

} // namespace streamcheck::harness
