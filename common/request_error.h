// What a failed Beast read of a request says about the client: whether there is anyone left to
// answer and, if so, with which status. The mock and the reference proxy answer alike.
#pragma once
#include "common/asio.h"

namespace streamcheck {

enum class request_error {
  peer_gone,      // closed or reset before a whole message came: nobody to answer
  malformed,      // the parser refused what was sent
  head_too_large, // over the header limit (or the read buffer's)
  body_too_large, // a body, declared or received, over the body limit
};

request_error classify_request_error(const boost::system::error_code &ec);

// 400, 431, 413; 0 for peer_gone (just close).
int refusal_status(request_error e);

} // namespace streamcheck
