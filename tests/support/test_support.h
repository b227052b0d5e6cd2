// Helpers for integration tests over real loopback sockets and real processes: a raw TCP client
// that timestamps every read, a process runner that stops by pid, a port waiter, a minimal HTTP/1.x
// response parser and a managed nginx. Every wait takes a deadline; nothing here retries forever.
#pragma once
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <utility>
#include <vector>

#include "common/child_process.h"
#include "common/clock.h"
#include "common/http_text.h"
#include "harness/managed/proxy.h"

namespace streamcheck::test {

// Times are mono_clock (std::chrono::steady_clock, CLOCK_MONOTONIC), the clock the servers use.
using namespace std::chrono_literals;

inline mono_clock::time_point deadline_in(mono_clock::duration d) {
  return mono_clock::now() + d;
}

inline double ms_between(mono_clock::time_point from, mono_clock::time_point to) {
  return std::chrono::duration<double, std::milli>(to - from).count();
}

// The same scale as common/clock.h's monotonic_us(), which the mock's journal uses.
inline std::int64_t to_monotonic_us(mono_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
}

// ---------------------------------------------------------------------------------------------
// Raw TCP client (IPv4 loopback). Blocking socket calls guarded by poll() with deadlines.

struct read_record {
  mono_clock::time_point at; // when read() returned
  std::size_t offset;        // of the first byte of this read in the received stream
  std::size_t bytes;
};

enum class read_end {
  open,    // stopped because the caller's condition was met; the connection is still open
  eof,     // read() returned 0: the peer sent FIN
  reset,   // ECONNRESET
  timeout, // the deadline passed first
  error,   // any other errno (see tcp_client::last_errno)
};

const char *to_string(read_end e);

class tcp_client {
public:
  // Connects to 127.0.0.1:port; nullopt if nothing answers before the deadline.
  static std::optional<tcp_client> connect(unsigned short port,
                                           mono_clock::time_point deadline = deadline_in(5s));
  tcp_client(tcp_client &&other) noexcept;
  tcp_client &operator=(tcp_client &&other) noexcept;
  tcp_client(const tcp_client &) = delete;
  tcp_client &operator=(const tcp_client &) = delete;
  ~tcp_client();

  // Sends every byte; false on error or deadline. Records when it began (send_began_at(): a safe
  // lower bound for anything the server does in response) and when the last byte was handed to
  // the kernel (sent_at()).
  bool send_all(std::string_view bytes, mono_clock::time_point deadline = deadline_in(5s));

  // Reads until EOF, reset, error or the deadline; every read() is recorded.
  read_end read_until_eof(mono_clock::time_point deadline);
  // Reads until the received stream contains `marker` (searched from `from`), or an end.
  read_end read_until_contains(std::string_view marker, mono_clock::time_point deadline,
                               std::size_t from = 0);
  // Reads until at least `total` bytes were received, or an end.
  read_end read_until_size(std::size_t total, mono_clock::time_point deadline);
  // Reads until done(received()) holds, or an end.
  read_end read_until(const std::function<bool(std::string_view)> &done,
                      mono_clock::time_point deadline);
  // Waits up to the deadline and reports whether any byte (or EOF) arrived meanwhile; reads it.
  read_end read_for(mono_clock::time_point deadline) {
    return read_until_size(received_.size() + 1, deadline);
  }

  void shutdown_write();   // half-close: sends FIN, keeps reading
  void close();            // orderly close (FIN)
  void close_with_reset(); // SO_LINGER {1, 0} then close: sends RST
  // Taken just before close(2): the peer cannot notice the close earlier than this.
  mono_clock::time_point closed_at() const { return closed_at_; }

  const std::string &received() const { return received_; }
  const std::vector<read_record> &reads() const { return reads_; }
  // The read that delivered byte `offset` of the received stream (offset < received().size()).
  const read_record &read_holding(std::size_t offset) const;
  mono_clock::time_point send_began_at() const { return send_began_at_; }
  mono_clock::time_point sent_at() const { return sent_at_; }
  unsigned short local_port() const;
  int last_errno() const { return last_errno_; }
  int fd() const { return fd_; }

private:
  explicit tcp_client(int fd) : fd_(fd) {}
  // One poll+read step; returns nullopt while the caller should keep reading.
  std::optional<read_end> read_once(mono_clock::time_point deadline);
  int fd_ = -1;
  std::string received_;
  std::vector<read_record> reads_;
  mono_clock::time_point send_began_at_{};
  mono_clock::time_point sent_at_{};
  mono_clock::time_point closed_at_{};
  int last_errno_ = 0;
};

// True once 127.0.0.1:port accepts a connection; polls every 10 ms until the deadline.
bool wait_for_port(unsigned short port, mono_clock::time_point deadline);

// A port that was free a moment ago: bind 127.0.0.1:0, read it back, close. Another process may
// take it before the caller binds it (a small race); callers that can retry on "address in use"
// should (start_nginx does).
unsigned short pick_free_port();

// Sends one request on a fresh connection and reads until the server closes it. The request
// should say "Connection: close" (or be HTTP/1.0).
std::optional<std::string> http_exchange(unsigned short port, std::string_view request,
                                         mono_clock::time_point deadline = deadline_in(5s));

// ---------------------------------------------------------------------------------------------
// HTTP/1.x response parsing, as a test needs it: the exact head, headers in order, the framing
// and, for chunked bodies, every chunk as sent.

struct http_response {
  bool head_complete = false;
  std::string raw_head; // status line through the blank line
  std::string version;  // "HTTP/1.1"
  int status = 0;
  std::string reason;
  std::vector<std::pair<std::string, std::string>> headers;
  body_framing frame = body_framing::none;
  std::string body;                           // decoded
  std::vector<std::string> chunks;            // chunked: each chunk's payload, in order
  std::size_t body_offset = 0;                // of the body's first byte in the raw input
  std::vector<std::size_t> chunk_end_offsets; // raw offset just past each chunk's payload
  bool complete =
      false; // content fully framed (last chunk / length reached); close-delimited: never
  std::size_t consumed = 0; // raw bytes this response used (valid when complete)

  // Where byte `body_index` of the decoded body sits in the raw input (relative like body_offset).
  std::size_t raw_offset(std::size_t body_index) const;
  std::optional<std::string> header(std::string_view name) const; // first value
  std::size_t header_count(std::string_view name) const;
};

// Parses one response at the start of `raw`. `head_request` marks a response to HEAD.
http_response parse_http_response(std::string_view raw, bool head_request = false);

// Reads from `c` until the response starting at received()[from] is complete (a close-delimited
// one: until EOF), or the connection ends, or the deadline. Offsets in the result are relative to
// `from`. `end` (optional) tells why reading stopped.
http_response read_response(tcp_client &c, mono_clock::time_point deadline, std::size_t from = 0,
                            bool head_request = false, read_end *end = nullptr);

// IMF-fixdate, e.g. "Mon, 02 Jan 2006 15:04:05 GMT".
bool is_imf_fixdate(std::string_view value);

// ---------------------------------------------------------------------------------------------
// Temporary directory, removed on destruction unless STREAMCHECK_KEEP_TEST_DIRS is set.

class temp_dir {
public:
  explicit temp_dir(std::string_view prefix = "streamcheck-test");
  ~temp_dir();
  temp_dir(const temp_dir &) = delete;
  temp_dir &operator=(const temp_dir &) = delete;
  const std::filesystem::path &path() const { return path_; }
  std::filesystem::path operator/(std::string_view name) const { return path_ / name; }

private:
  std::filesystem::path path_;
};

std::string read_file(const std::filesystem::path &p); // "" when missing
bool write_file(const std::filesystem::path &p, std::string_view content);

// ---------------------------------------------------------------------------------------------
// Processes: the one spawner (common/child_process.h), stop by pid only.

class process {
public:
  // argv[0] is the executable's path. stdout and stderr go to the given files ("" = /dev/null).
  // The one spawner (common/child_process.h): the child gets PR_SET_PDEATHSIG(SIGKILL), so a
  // crashed test leaves nothing running, and none of the test's descriptors.
  static std::optional<process> spawn(const std::vector<std::string> &argv,
                                      const std::filesystem::path &stdout_file,
                                      const std::filesystem::path &stderr_file);

  pid_t pid() const { return child_.pid(); }
  bool running() { return child_.running(); } // reaps the child if it has exited
  // Waits for the child to exit; its wait status, or nullopt at the deadline (still running).
  std::optional<int> wait_until(mono_clock::time_point deadline);
  // SIGTERM, then SIGKILL if it is still running after `grace`; returns the wait status.
  int stop(mono_clock::duration grace = 5s);
  std::optional<int> exit_status() const { return child_.wait_status(); }

private:
  process() = default;
  child_process child_; // stopped when destroyed
};

// Waits for a port file (written atomically by rename) and returns the port in it.
std::optional<unsigned short> wait_for_port_file(const std::filesystem::path &file,
                                                 mono_clock::time_point deadline,
                                                 process *owner = nullptr);

// ---------------------------------------------------------------------------------------------
// nginx in a temporary prefix, in the foreground, stopped by pid: the harness's managed launcher
// (harness/managed/proxy.h) on a config the test writes.

inline constexpr const char *nginx_binary = "/usr/sbin/nginx";
bool nginx_available();

class nginx_instance {
public:
  // `http_body` is placed inside http { server { listen 127.0.0.1:PORT; ... } }: typically
  // "location / { proxy_pass http://127.0.0.1:1234; }". Picks a free port, writes the config
  // (pid, logs and every temp path under the prefix) and starts
  // `nginx -p DIR -c DIR/nginx.conf -g 'daemon off;'`; retries with another port when the chosen
  // one was taken meanwhile. On failure returns nullptr and puts the reason in `error`.
  static std::unique_ptr<nginx_instance> start(std::string_view server_body, std::string &error,
                                               mono_clock::time_point deadline = deadline_in(10s));
  ~nginx_instance();
  unsigned short port() const { return port_; }
  const std::filesystem::path &prefix() const { return dir_.path(); }
  std::string config() const;
  std::string error_log() const;
  pid_t pid() const;
  int stop(mono_clock::duration grace = 5s); // exit status; SIGTERM is nginx's fast shutdown

private:
  nginx_instance() = default;
  temp_dir dir_{"streamcheck-nginx"};
  std::unique_ptr<harness::managed::proxy_kind> kind_;
  std::unique_ptr<harness::managed::managed_proxy> proxy_; // destroyed before kind_, dir_
  unsigned short port_ = 0;
};

// The full nginx.conf start() writes, for tests and for reading.
std::string nginx_config(const std::filesystem::path &prefix, unsigned short port,
                         std::string_view server_body);

} // namespace streamcheck::test
