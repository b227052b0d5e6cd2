// Caddy for the managed launcher (harness/managed/proxy.h): the user's Caddyfile adapted to JSON
// by Caddy itself (`caddy adapt`: its errors already name the user's file:line), the JSON
// rewritten (config.h) into the temp prefix for each attempt's ports, `caddy validate` once,
// then `caddy run`. A server Caddy serves over HTTPS is tested over HTTPS with a throwaway
// certificate. HOME and the XDG directories point into the prefix, so nothing Caddy writes
// (autosave, instance id, certificates) lands on the machine.
#pragma once
#include <nlohmann/json.hpp>
#include <string>

#include "harness/caddy/config.h"
#include "harness/managed/packaged.h"

namespace streamcheck::harness::caddy {

// "2.6.2" from `caddy version` ("v2.7.6 h1:..." or Debian's "2.6.2"); "" when it says nothing
// usable.
std::string parse_version(const std::string &version_output);

// The user's config as Caddy's JSON: a .json file read as it is, anything else adapted as a
// Caddyfile. Errors are Caddy's own words (with FILE:LINE for a Caddyfile).
result<nlohmann::json> load(const std::string &binary, const std::string &user_file,
                            const std::string &prefix);

class caddy_config : public managed::packaged_proxy {
public:
  caddy_config(std::string binary, std::string user_file, nlohmann::json adapted,
               std::string prefix, unsigned short mock_port);

  std::string kind() const override { return "caddy"; }
  int ports_needed() const override;
  result<unsigned short> write_config(const std::vector<unsigned short> &ports) override;
  // The throwaway certificate when a server is served over HTTPS.
  result<bool> prepare() override;
  std::vector<std::string> check_command() const override;
  std::string check_name() const override { return "caddy validate"; }
  std::string explain_rejection(const std::string &check_output) const override;
  std::vector<std::string> start_command() const override;
  bool relevant_log_line(const std::string &line) const override;

  std::vector<managed::listener> listeners() const override {
    return managed::listeners_of(flat_.sites);
  }
  std::vector<std::string> notes() const override { return flat_.notes; }

  const rewritten &flat() const { return flat_; }
  std::string config_path() const { return prefix_ + "/caddy.json"; }

private:
  std::vector<std::string> with_private_home(std::vector<std::string> argv) const;
  nlohmann::json adapted_;
  rewritten flat_;
};

} // namespace streamcheck::harness::caddy
