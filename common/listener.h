#pragma once
#include <optional>

#include "common/asio.h"
#include "common/result.h"

namespace streamcheck {

// Opens, binds (SO_REUSEADDR) and listens; the error names the address.
std::optional<error> listen_on(tcp::acceptor &acceptor, const tcp::endpoint &where);

} // namespace streamcheck
