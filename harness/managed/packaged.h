// What the proxies streamcheck runs from Debian packages (haproxy, caddy, apache2, lighttpd)
// share: where the binary is (the setup error naming the package when it is not installed), the
// private config written, a throwaway certificate in the one-file PEM form HAProxy and lighttpd
// read.
#pragma once
#include <string>
#include <vector>

#include "common/result.h"

namespace streamcheck::harness::managed {

// `explicit_path` when given (and executable), else `name` on PATH, else /usr/sbin/NAME or
// /usr/bin/NAME; an error naming the Debian package when none is executable.
result<std::string> find_packaged_binary(const std::string &name, const std::string &package,
                                         const std::string &explicit_path = "");

// What a short command (`haproxy -v`, `caddy version`) prints, when it exits 0 within 10 s; ""
// otherwise. Its output goes through `log`.
std::string command_output(const std::vector<std::string> &argv, const std::string &log,
                           const std::vector<std::string> &extra_env = {},
                           const std::vector<std::string> &drop_env = {});

// A config's lines, without their '\n'.
std::vector<std::string> split_lines(const std::string &text);

// Writes text to path, replacing it; false when it cannot.
bool write_text_file(const std::string &path, const std::string &text);

// A self-signed certificate and its key in one PEM file at `pem` (openssl's log in logs_dir).
result<bool> make_throwaway_pem(const std::string &pem, const std::string &logs_dir);

} // namespace streamcheck::harness::managed
