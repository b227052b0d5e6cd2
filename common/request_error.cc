#include "common/request_error.h"

namespace streamcheck {

request_error classify_request_error(const boost::system::error_code &ec) {
  if (ec == http::error::header_limit || ec == http::error::buffer_overflow)
    return request_error::head_too_large;
  if (ec == http::error::body_limit) return request_error::body_too_large;
  // end_of_stream: closed between requests; partial_message: closed in the middle of one.
  if (ec == http::error::end_of_stream || ec == http::error::partial_message)
    return request_error::peer_gone;
  if (ec.category() == http::make_error_code(http::error::bad_method).category())
    return request_error::malformed;
  return request_error::peer_gone; // a socket error: reset, timed out, cancelled
}

int refusal_status(request_error e) {
  switch (e) {
  case request_error::malformed: return 400;
  case request_error::head_too_large: return 431;
  case request_error::body_too_large: return 413;
  case request_error::peer_gone: return 0;
  }
  return 0;
}

} // namespace streamcheck
