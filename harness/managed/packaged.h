// The proxies streamcheck runs from Debian packages (haproxy, caddy, apache2, lighttpd): where
// the binary is, and the setup error naming the package when it is not installed.
#pragma once
#include <string>

#include "common/result.h"

namespace streamcheck::harness::managed {

// `explicit_path` when given (and executable), else `name` on PATH, else /usr/sbin/NAME or
// /usr/bin/NAME; an error naming the Debian package when none is executable.
result<std::string> find_packaged_binary(const std::string &name, const std::string &package,
                                         const std::string &explicit_path = "");

} // namespace streamcheck::harness::managed
