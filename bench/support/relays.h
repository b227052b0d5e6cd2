// What a latency bench puts between its client and the mock: nothing, socat, streamcheck-proxy
// or nginx on a config of the user's. Each start() is a fresh instance on an ephemeral loopback
// port, run on the one spawner (or the managed nginx launcher) and stopped by pid.
#pragma once
#include <memory>
#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

#include "common/child_process.h"
#include "common/result.h"
#include "harness/managed/proxy.h"
#include "harness/nginx/launcher.h"

namespace streamcheck::bench {

// The running relay's process group (-1: none), for a watchdog that must kill it.
pid_t running_relay_group();

class relay {
public:
  explicit relay(std::string name) : name_(std::move(name)) {}
  virtual ~relay() = default;
  const std::string &name() const { return name_; }
  virtual std::string describe() const = 0;
  virtual std::string unavailable() const { return ""; } // why it cannot run here; "" if it can
  virtual result<unsigned short> start() = 0;
  virtual void stop() = 0;
  virtual pid_t pid() const { return -1; } // root of its process tree; -1: nothing to measure
  std::vector<std::string> notes;          // said once after the table

private:
  std::string name_;
};

// No relay: the client talks to the mock. Its figures are the floor under every other row.
class direct_relay : public relay {
public:
  explicit direct_relay(unsigned short mock_port) : relay("direct"), mock_port_(mock_port) {}
  std::string describe() const override { return "no relay: the client + mock floor"; }
  result<unsigned short> start() override { return mock_port_; }
  void stop() override {}

private:
  unsigned short mock_port_;
};

// A relay binary run as a child (own process group, so socat's forked children are stopped with
// it; gone with this process) that reports its port somehow; shared start/stop.
class spawned_relay : public relay {
public:
  spawned_relay(std::string name, std::string binary, std::string work_dir)
      : relay(std::move(name)), binary_(std::move(binary)), work_dir_(std::move(work_dir)) {}
  ~spawned_relay() override { stop(); }
  pid_t pid() const override { return running_ ? child_.pid() : -1; }
  void stop() override;

protected:
  virtual std::vector<std::string> command() const = 0;
  // The listening port once it is known; nullopt while not yet.
  virtual std::optional<unsigned short> port_if_ready() const = 0;
  // Its exit status when stopped; nullopt when it had to be killed.
  virtual void on_stopped(std::optional<int>) {}
  std::string log_path() const { return work_dir_ + "/" + name() + ".log"; }
  result<unsigned short> spawn_and_wait_for_port();

  std::string binary_;
  std::string work_dir_;

private:
  child_process child_;
  bool running_ = false;
};

// socat forks one process per connection: the cheapest relay there is per byte, and the most
// memory-hungry per stream. Its notice-level log (-d -d) names the port it chose; the per-
// connection lines it also writes happen once per stream, never per event.
class socat_relay : public spawned_relay {
public:
  socat_relay(std::string binary, std::string work_dir, unsigned short mock_port)
      : spawned_relay("socat", std::move(binary), std::move(work_dir)), mock_port_(mock_port) {}
  std::string describe() const override;
  std::string unavailable() const override {
    return binary_.empty() ? "socat not found on PATH" : "";
  }
  result<unsigned short> start() override { return spawn_and_wait_for_port(); }

protected:
  std::vector<std::string> command() const override;
  std::optional<unsigned short> port_if_ready() const override;

private:
  unsigned short mock_port_;
};

class proxy_relay : public spawned_relay {
public:
  proxy_relay(std::string binary, std::string work_dir, unsigned short mock_port, int threads)
      : spawned_relay("proxy", std::move(binary), std::move(work_dir)), mock_port_(mock_port),
        threads_(threads) {}
  std::string describe() const override;
  std::string unavailable() const override;
  result<unsigned short> start() override;

protected:
  std::vector<std::string> command() const override;
  std::optional<unsigned short> port_if_ready() const override;
  // SIGTERM means a graceful drain and exit 0; anything else is worth telling its authors.
  void on_stopped(std::optional<int> status) override;

private:
  std::string port_file() const { return work_dir_ + "/proxy.port"; }
  unsigned short mock_port_;
  int threads_;
};

// The user's nginx config run by the harness's own managed launcher exactly as `streamcheck
// nginx` runs it: listen on a loopback port, every upstream the mock, pid/logs/temp in a prefix.
class nginx_relay : public relay {
public:
  // requested_binary: --nginx, "" to look on PATH and in /usr/sbin.
  nginx_relay(const std::string &requested_binary, std::string conf_path, std::string prefix,
              unsigned short mock_port);
  ~nginx_relay() override { stop(); }

  std::string describe() const override {
    return binary_ + " with " + conf_path_ + " (listen and upstream rewritten to loopback)";
  }
  std::string unavailable() const override;
  // A config that cannot be read or that nginx -t rejects is a setup error, not a skip.
  const std::string &setup_problem() const { return setup_problem_; }
  pid_t pid() const override { return process_ ? process_->pid() : -1; }
  result<unsigned short> start() override;
  void stop() override;
  // The error log's last relevant lines, indented.
  std::string error_log_tail() const;

private:
  // The fairness of the comparison rests on it: say how many workers nginx really ran.
  void note_worker_count();

  std::string requested_binary_;
  std::string conf_path_;
  std::string binary_;
  std::string setup_problem_;
  std::unique_ptr<harness::nginx::flattened_config> target_;
  std::unique_ptr<harness::managed::managed_proxy> process_;
};

} // namespace streamcheck::bench
