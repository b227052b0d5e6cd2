#include "bench/support/relays.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <thread>
#include <unistd.h>

#include "bench/support/proc_stats.h"
#include "common/clock.h"
#include "harness/nginx/config.h"
#include "harness/nginx/rewrite.h"
#include "harness/process.h"

namespace streamcheck::bench {
namespace {

using harness::last_lines;
using harness::read_file;
using namespace std::chrono_literals;

std::atomic<pid_t> running_group{-1};

void sleep_ms(int ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
}

// A child's output lines, indented under the message that quotes them.
std::string indented(const std::string &lines) {
  std::string out;
  std::istringstream in(lines);
  for (std::string l; std::getline(in, l);)
    out += "\n    " + l;
  return out;
}

std::optional<unsigned short> port_number(const char *text) {
  const long port = std::strtol(text, nullptr, 10);
  if (port <= 0 || port > 65535) return std::nullopt;
  return static_cast<unsigned short>(port);
}

} // namespace

pid_t running_relay_group() {
  return running_group.load();
}

void spawned_relay::stop() {
  if (!running_) return;
  running_ = false;
  const int status = child_.stop(10s);
  running_group = -1;
  on_stopped(status == 128 + SIGKILL ? std::nullopt : std::optional<int>(status));
}

result<unsigned short> spawned_relay::spawn_and_wait_for_port() {
  if (!child_.start({.argv = command(), .log = log_path(), .truncate = true}))
    return error{"cannot run " + binary_};
  running_ = true;
  running_group = child_.pid();
  const auto end = mono_clock::now() + 10s;
  while (mono_clock::now() < end) {
    if (const auto port = port_if_ready()) return *port;
    if (!child_.running()) {
      running_ = false;
      running_group = -1;
      return error{binary_ + " exited with status " + std::to_string(child_.exit_status()) +
                   " at startup:" + indented(last_lines(read_file(log_path()), 5))};
    }
    sleep_ms(10);
  }
  stop();
  return error{binary_ + " did not report its port within 10 s:" +
               indented(last_lines(read_file(log_path()), 5))};
}

std::string socat_relay::describe() const {
  return binary_ + " -d -d TCP-LISTEN:0,bind=127.0.0.1,fork,reuseaddr,backlog=1024 " +
         "TCP:127.0.0.1:" + std::to_string(mock_port_) + " (one process per connection)";
}

std::vector<std::string> socat_relay::command() const {
  // backlog=1024: socat's default (5) would drop SYNs under a burst of 1,000 connects.
  return {binary_, "-d", "-d", "TCP-LISTEN:0,bind=127.0.0.1,fork,reuseaddr,backlog=1024",
          "TCP:127.0.0.1:" + std::to_string(mock_port_)};
}

std::optional<unsigned short> socat_relay::port_if_ready() const {
  static const std::string marker = "listening on AF=2 127.0.0.1:";
  const std::string log = read_file(log_path());
  const auto at = log.find(marker);
  if (at == std::string::npos) return std::nullopt;
  return port_number(log.c_str() + at + marker.size());
}

std::string proxy_relay::describe() const {
  std::string text = "streamcheck-proxy";
  for (const auto &a : command())
    if (a != binary_) text += " " + (a == port_file() ? std::string("FILE") : a);
  return text;
}

std::string proxy_relay::unavailable() const {
  return !binary_.empty() && access(binary_.c_str(), X_OK) == 0
             ? ""
             : binary_ + " is not built (use --proxy-bin PATH)";
}

result<unsigned short> proxy_relay::start() {
  std::remove(port_file().c_str());
  return spawn_and_wait_for_port();
}

std::vector<std::string> proxy_relay::command() const {
  return {binary_,
          "--listen",
          "127.0.0.1:0",
          "--port-file",
          port_file(),
          "--upstream",
          "http://127.0.0.1:" + std::to_string(mock_port_),
          "--threads",
          std::to_string(threads_),
          "--log-format",
          "off"};
}

std::optional<unsigned short> proxy_relay::port_if_ready() const {
  const std::string text = read_file(port_file());
  if (text.empty() || text.back() != '\n') return std::nullopt; // not yet complete
  return port_number(text.c_str());
}

void proxy_relay::on_stopped(std::optional<int> status) {
  std::string note;
  if (!status)
    note = "streamcheck-proxy did not exit within 10 s of SIGTERM (killed)";
  else if (*status != 0)
    note = "streamcheck-proxy exited with status " + std::to_string(*status) +
           " when stopped (expected 0 after SIGTERM)";
  if (!note.empty() && std::find(notes.begin(), notes.end(), note) == notes.end())
    notes.push_back(note);
}

nginx_relay::nginx_relay(const std::string &requested_binary, std::string conf_path,
                         std::string prefix, unsigned short mock_port)
    : relay("nginx"), requested_binary_(requested_binary), conf_path_(std::move(conf_path)) {
  namespace ng = harness::nginx;
  ng::nginx_files files{ng::find_nginx(requested_binary), std::move(prefix), ""};
  files.conf = files.prefix + "/nginx.conf";
  binary_ = files.binary;
  if (binary_.empty()) return;
  auto loaded = ng::load(conf_path_);
  if (!loaded) {
    setup_problem_ = loaded.message();
    return;
  }
  ng::wrap_snippet(loaded->top);
  std::error_code ec;
  std::filesystem::create_directories(files.prefix + "/logs", ec);
  const auto build = ng::query_build(binary_, files.prefix + "/logs/nginx-V.log", 10s);
  ng::rewrite_options options;
  options.prefix = files.prefix;
  options.conf_dir = loaded->include_base;
  options.mock_port = mock_port;
  options.as_root = geteuid() == 0; // workers must enter the 0700 prefix
  options.nginx_prefix = build.prefix;
  options.modules_path = build.modules_path;
  target_ = std::make_unique<ng::flattened_config>(std::move(files), build, std::move(*loaded),
                                                   std::move(options));
}

std::string nginx_relay::unavailable() const {
  if (!binary_.empty()) return "";
  return requested_binary_.empty()
             ? "nginx not found (not on PATH, not /usr/sbin/nginx; use --nginx PATH)"
             : "--nginx " + requested_binary_ + " is not an executable";
}

result<unsigned short> nginx_relay::start() {
  if (!setup_problem_.empty()) return error{setup_problem_};
  process_ = std::make_unique<harness::managed::managed_proxy>(*target_);
  auto port = process_->start();
  if (!port) {
    process_.reset();
    return port;
  }
  running_group = process_->pid();
  note_worker_count();
  return port;
}

void nginx_relay::stop() {
  if (!process_) return;
  process_->stop(10s);
  process_.reset();
  running_group = -1;
}

void nginx_relay::note_worker_count() {
  std::size_t workers = 0;
  const auto end = mono_clock::now() + 2s; // the master forks them right after it listens
  while ((workers = children_of(process_->pid()).size()) == 0 && mono_clock::now() < end)
    sleep_ms(10);
  sleep_ms(100); // the first worker may be up before the last is forked
  workers = children_of(process_->pid()).size();
  const std::string note = "nginx ran " + std::to_string(workers) + " worker process(es)";
  if (std::find(notes.begin(), notes.end(), note) == notes.end()) notes.push_back(note);
}

std::string nginx_relay::error_log_tail() const {
  std::string out;
  for (const auto &l : harness::nginx::relevant_log_lines(target_->error_log(), 5))
    out += "\n    " + l;
  return out;
}

} // namespace streamcheck::bench
