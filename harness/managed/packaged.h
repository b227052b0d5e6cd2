// What the proxies streamcheck runs from Debian packages (haproxy, caddy, apache2, lighttpd)
// share: where the binary is (the setup error naming the package when it is not installed), the
// private config written, a throwaway certificate in the one-file PEM form HAProxy and lighttpd
// read.
#pragma once
#include <string>
#include <vector>

#include "common/result.h"
#include "harness/managed/proxy.h"

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

// The word after `key` in a version banner ("HAProxy version 2.6.12-1 2023/..." with key
// "HAProxy version " -> "2.6.12-1"); "" when the key is absent.
std::string word_after(const std::string &text, const std::string &key);

// A config's lines, without their '\n'.
std::vector<std::string> split_lines(const std::string &text);

// Writes text to path, replacing it; false when it cannot.
bool write_text_file(const std::string &path, const std::string &text);

// A self-signed certificate and its key in one PEM file at `pem` (openssl's log in logs_dir).
result<bool> make_throwaway_pem(const std::string &pem, const std::string &logs_dir);

// A listener of a running packaged proxy, as the suite reaches it.
struct listener {
  std::string url;
  std::string label; // "frontend ollama (line 27: *:8080)"
  // The Host the suite sends when the listener routes by Host to the upstream ("" for the URL's),
  // and the report's note saying why.
  std::string host;
  std::string host_note;
};

// Each rewritten listener (anything with url() and label(), and a routed host if it has one) as
// the suite reaches it.
template <class Sites> std::vector<listener> listeners_of(const Sites &sites) {
  std::vector<listener> out;
  for (const auto &s : sites) {
    out.push_back({s.url(), s.label(), "", ""});
    if constexpr (requires { s.routed_host; }) {
      out.back().host = s.routed_host;
      out.back().host_note = s.routed_note;
    }
  }
  return out;
}

// What the kinds of packaged proxies have alike: the binary, the user's file (named in messages,
// never written), the private prefix with its logs, the version the binary reported, the mock's
// port every upstream is pointed at, and the throwaway certificate a TLS listener may need.
class packaged_proxy : public proxy_kind {
public:
  std::string binary() const override { return binary_; }
  std::string version() const override { return version_.empty() ? "" : product_ + " " + version_; }
  // Their alerts go to stderr, which the launcher keeps in output_log().
  std::string error_log() const override { return output_log(); }
  std::string pid_file() const override { return ""; }
  std::string logs_dir() const override { return prefix_ + "/logs"; }

  // After write_config: the listeners the suite runs on, and what the rewrite changed beyond
  // addresses (said before the run).
  virtual std::vector<listener> listeners() const = 0;
  virtual std::vector<std::string> notes() const = 0;

protected:
  // product: the name versions are printed with ("HAProxy"); creates logs_dir().
  packaged_proxy(std::string product, std::string binary, std::string user_file, std::string prefix,
                 unsigned short mock_port);
  std::string throwaway_pem() const { return prefix_ + "/throwaway.pem"; }
  // prepare() for kinds whose rewrite may ask for a throwaway certificate.
  result<bool> make_certificate_if(bool needed) const;

  const std::string product_, binary_, user_file_, prefix_;
  const unsigned short mock_port_;
  std::string version_; // set by the kind's constructor from its binary's banner
};

} // namespace streamcheck::harness::managed
