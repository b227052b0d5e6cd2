// A managed target: a real proxy run on a private copy of the user's config, in a private prefix,
// on loopback ports. One launcher for every kind (nginx now; HAProxy, Caddy, Apache, lighttpd
// next): the kind says how its config is written, checked and started (a proxy_kind), the
// launcher does the rest the same way for all: free ports, the proxy's own config check once,
// start in the foreground, wait until the port answers, retry when another process took a port
// meanwhile, stop by pid, the error log's excerpt. Every wait has a deadline.
#pragma once
#include <chrono>
#include <string>
#include <sys/types.h>
#include <vector>

#include "common/child_process.h"
#include "common/result.h"

namespace streamcheck::harness::managed {

// "Address already in use" / EADDRINUSE in any case: another process took the port first.
bool says_address_in_use(const std::string &output);

// "15 s", "0.3 s": a deadline in a message.
std::string seconds_text(std::chrono::milliseconds d);

// What a kind of proxy tells the launcher. Paths are inside the private prefix; the user's file
// is only read.
class proxy_kind {
public:
  virtual ~proxy_kind() = default;

  virtual std::string kind() const = 0;    // "nginx": names the proxy in messages
  virtual std::string version() const = 0; // "nginx 1.22.1": what ran the suite; "" unknown
  virtual std::string binary() const = 0;  // the executable that runs

  // Free loopback ports one attempt needs (the proxy cannot listen on port 0 and report it).
  virtual int ports_needed() const = 0;
  // Writes the private config for these ports (ports[0] is the listener under test, or the
  // --listen-port the user fixed); returns the port whose answer means the proxy is up.
  virtual result<unsigned short> write_config(const std::vector<unsigned short> &ports) = 0;
  // Once, after the first write_config and before the check: what the config needs to exist
  // (a throwaway certificate, cache directories).
  virtual result<bool> prepare() { return true; }

  // The proxy's own config check (nginx -t, haproxy -c, caddy validate, apache2 -t,
  // lighttpd -tt), run once; exit 0 accepts the config. Empty: there is none.
  virtual std::vector<std::string> check_command() const = 0;
  virtual std::string check_name() const = 0; // "nginx -t", for messages
  // The setup error for a rejected config: the check's output with the private config's
  // file:line mapped back to the user's, and what the proxy itself does not say.
  virtual std::string explain_rejection(const std::string &check_output) const = 0;

  // Runs the proxy in the foreground (no daemon), logging into the prefix.
  virtual std::vector<std::string> start_command() const = 0;
  // Environment the proxy must not inherit (nginx reads NGINX= as inherited sockets), and what
  // it needs set (Apache's APACHE_RUN_DIR...), for the check and the proxy alike.
  virtual std::vector<std::string> env_to_drop() const { return {}; }
  virtual std::vector<std::string> extra_env() const { return {}; }
  // The Debian package that installs binary(), named when it is missing ("" = not said).
  virtual std::string debian_package() const { return ""; }
  // Whether startup output says the port was taken meanwhile (then the launcher retries).
  virtual bool address_in_use(const std::string &startup_output) const {
    return says_address_in_use(startup_output);
  }

  // The setup errors when the proxy exits before it answers (`said`: the last lines of its output
  // and error log) and when it never answers within the deadline.
  virtual std::string exited_at_startup(int status, const std::string &said) const;
  virtual std::string never_answered(unsigned short port, std::chrono::milliseconds deadline,
                                     const std::string &said) const;

  virtual std::string output_log() const { return logs_dir() + "/stderr.log"; } // stdout+stderr
  virtual std::string error_log() const = 0; // its error log file
  virtual std::string pid_file() const = 0;  // its pid file ("" when it keeps none)
  virtual std::string logs_dir() const = 0;  // where the launcher writes the check's output
  // Whether an error log line is worth showing a user ([error], [emerg] ... for nginx).
  virtual bool relevant_log_line(const std::string &line) const = 0;
};

struct launch_options {
  unsigned short listen_port = 0; // fixed by the user: no other port, no retry
  std::chrono::milliseconds check_deadline{30'000};
  std::chrono::milliseconds start_deadline{15'000};
  int attempts = 3; // starts when another process took a chosen port first
};

// One running instance of a proxy_kind; stopped by pid when destroyed.
class managed_proxy {
public:
  explicit managed_proxy(proxy_kind &k) : kind_(k) {}
  managed_proxy(const managed_proxy &) = delete;
  managed_proxy &operator=(const managed_proxy &) = delete;

  // Config written (ports chosen), checked once, proxy started and answering: its port. Errors
  // are setup errors (exit 2) with the proxy's own words.
  result<unsigned short> start(const launch_options &o = {});
  // SIGTERM, then SIGKILL to its process group after the deadline; the exit status or -1.
  int stop(std::chrono::milliseconds deadline);
  pid_t pid() const { return child_.pid(); }
  bool running() { return child_.running(); }

  // The last `max` relevant lines of the error log.
  std::vector<std::string> error_log_excerpt(std::size_t max = 20) const;

private:
  result<bool> check_once(std::chrono::milliseconds deadline);
  proxy_kind &kind_;
  child_process child_;
  bool checked_ = false;
};

} // namespace streamcheck::harness::managed
