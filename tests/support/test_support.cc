#include "tests/support/test_support.h"

#include "harness/nginx/launcher.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sstream>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

namespace streamcheck::test {
namespace {

int poll_timeout_ms(mono_clock::time_point deadline) {
  const auto left = deadline - mono_clock::now();
  if (left <= mono_clock::duration::zero()) return 0;
  // Round up so a poll never returns "timed out" before the deadline.
  return static_cast<int>(std::chrono::ceil<std::chrono::milliseconds>(left).count());
}

sockaddr_in loopback(unsigned short port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

} // namespace

const char *to_string(read_end e) {
  switch (e) {
  case read_end::open: return "open";
  case read_end::eof: return "eof";
  case read_end::reset: return "reset";
  case read_end::timeout: return "timeout";
  case read_end::error: return "error";
  }
  return "?";
}

// ---------------------------------------------------------------------------------------------
// tcp_client

std::optional<tcp_client> tcp_client::connect(unsigned short port,
                                              mono_clock::time_point deadline) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return std::nullopt;
  tcp_client c(fd);
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  const sockaddr_in a = loopback(port);
  if (::connect(fd, reinterpret_cast<const sockaddr *>(&a), sizeof a) == 0) return c;
  if (errno != EINPROGRESS) return std::nullopt;
  pollfd p{fd, POLLOUT, 0};
  if (::poll(&p, 1, poll_timeout_ms(deadline)) != 1) return std::nullopt;
  int err = 0;
  socklen_t len = sizeof err;
  if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) return std::nullopt;
  return c;
}

tcp_client::tcp_client(tcp_client &&other) noexcept
    : fd_(std::exchange(other.fd_, -1)), received_(std::move(other.received_)),
      reads_(std::move(other.reads_)), send_began_at_(other.send_began_at_),
      sent_at_(other.sent_at_), closed_at_(other.closed_at_), last_errno_(other.last_errno_) {}

tcp_client &tcp_client::operator=(tcp_client &&other) noexcept {
  if (this != &other) {
    close();
    fd_ = std::exchange(other.fd_, -1);
    received_ = std::move(other.received_);
    reads_ = std::move(other.reads_);
    send_began_at_ = other.send_began_at_;
    sent_at_ = other.sent_at_;
    closed_at_ = other.closed_at_;
    last_errno_ = other.last_errno_;
  }
  return *this;
}

tcp_client::~tcp_client() {
  close();
}

bool tcp_client::send_all(std::string_view bytes, mono_clock::time_point deadline) {
  send_began_at_ = mono_clock::now();
  while (!bytes.empty()) {
    const auto n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n > 0) {
      bytes.remove_prefix(static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno != EAGAIN && errno != EINTR) {
      last_errno_ = errno;
      return false;
    }
    pollfd p{fd_, POLLOUT, 0};
    if (::poll(&p, 1, poll_timeout_ms(deadline)) == 0) return false;
  }
  sent_at_ = mono_clock::now();
  return true;
}

std::optional<read_end> tcp_client::read_once(mono_clock::time_point deadline) {
  if (fd_ < 0) return read_end::error;
  pollfd p{fd_, POLLIN, 0};
  const int ready = ::poll(&p, 1, poll_timeout_ms(deadline));
  if (ready == 0) return read_end::timeout;
  if (ready < 0) {
    if (errno == EINTR) return std::nullopt;
    last_errno_ = errno;
    return read_end::error;
  }
  std::array<char, 65536> buf;
  const auto n = ::read(fd_, buf.data(), buf.size());
  const auto at = mono_clock::now();
  if (n > 0) {
    reads_.push_back({at, received_.size(), static_cast<std::size_t>(n)});
    received_.append(buf.data(), static_cast<std::size_t>(n));
    return std::nullopt;
  }
  if (n == 0) return read_end::eof;
  if (errno == EAGAIN || errno == EINTR) return std::nullopt;
  last_errno_ = errno;
  return errno == ECONNRESET ? read_end::reset : read_end::error;
}

read_end tcp_client::read_until_eof(mono_clock::time_point deadline) {
  for (;;)
    if (auto end = read_once(deadline)) return *end;
}

read_end tcp_client::read_until_contains(std::string_view marker, mono_clock::time_point deadline,
                                         std::size_t from) {
  for (;;) {
    if (received_.find(marker, std::min(from, received_.size())) != std::string::npos)
      return read_end::open;
    if (auto end = read_once(deadline)) return *end;
  }
}

read_end tcp_client::read_until_size(std::size_t total, mono_clock::time_point deadline) {
  for (;;) {
    if (received_.size() >= total) return read_end::open;
    if (auto end = read_once(deadline)) return *end;
  }
}

read_end tcp_client::read_until(const std::function<bool(std::string_view)> &done,
                                mono_clock::time_point deadline) {
  for (;;) {
    if (done(received_)) return read_end::open;
    if (auto end = read_once(deadline)) return *end;
  }
}

void tcp_client::shutdown_write() {
  if (fd_ >= 0) ::shutdown(fd_, SHUT_WR);
}

void tcp_client::close() {
  if (fd_ < 0) return;
  closed_at_ = mono_clock::now();
  ::close(fd_);
  fd_ = -1;
}

void tcp_client::close_with_reset() {
  if (fd_ < 0) return;
  const linger l{1, 0};
  ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  close();
}

const read_record &tcp_client::read_holding(std::size_t offset) const {
  auto it = std::upper_bound(reads_.begin(), reads_.end(), offset,
                             [](std::size_t off, const read_record &r) { return off < r.offset; });
  return *(it == reads_.begin() ? it : it - 1);
}

unsigned short tcp_client::local_port() const {
  sockaddr_in a{};
  socklen_t len = sizeof a;
  if (fd_ < 0 || ::getsockname(fd_, reinterpret_cast<sockaddr *>(&a), &len) != 0) return 0;
  return ntohs(a.sin_port);
}

bool wait_for_port(unsigned short port, mono_clock::time_point deadline) {
  for (;;) {
    const auto attempt = std::min(deadline, mono_clock::now() + 200ms);
    if (tcp_client::connect(port, attempt)) return true;
    if (mono_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(10ms);
  }
}

unsigned short pick_free_port() {
  const auto ports = free_ports(1);
  return ports ? ports->front() : 0;
}

std::optional<std::string> http_exchange(unsigned short port, std::string_view request,
                                         mono_clock::time_point deadline) {
  auto c = tcp_client::connect(port, deadline);
  if (!c || !c->send_all(request, deadline) || c->read_until_eof(deadline) != read_end::eof)
    return std::nullopt;
  return c->received();
}

// ---------------------------------------------------------------------------------------------
// HTTP response parsing

std::optional<std::string> http_response::header(std::string_view name) const {
  for (const auto &[k, v] : headers)
    if (iequals(k, name)) return v;
  return std::nullopt;
}

std::size_t http_response::raw_offset(std::size_t body_index) const {
  if (frame != body_framing::chunked) return body_offset + body_index;
  for (std::size_t i = 0; i < chunks.size(); ++i) {
    if (body_index < chunks[i].size()) return chunk_end_offsets[i] - chunks[i].size() + body_index;
    body_index -= chunks[i].size();
  }
  return chunk_end_offsets.empty() ? body_offset : chunk_end_offsets.back();
}

std::size_t http_response::header_count(std::string_view name) const {
  return count_header(headers, name);
}

http_response parse_http_response(std::string_view raw, bool head_request) {
  http_response r;
  const auto head_end = raw.find("\r\n\r\n");
  if (head_end == std::string_view::npos) return r;
  r.head_complete = true;
  r.raw_head = std::string(raw.substr(0, head_end + 4));
  r.body_offset = head_end + 4;

  std::string_view head = raw.substr(0, head_end);
  auto next_line = [&head]() {
    const auto eol = head.find("\r\n");
    const auto line = head.substr(0, eol);
    head = eol == std::string_view::npos ? std::string_view() : head.substr(eol + 2);
    return line;
  };
  std::string_view status_line = next_line();
  const auto sp1 = status_line.find(' ');
  r.version = std::string(status_line.substr(0, sp1));
  if (sp1 != std::string_view::npos) {
    const auto rest = status_line.substr(sp1 + 1);
    r.status = std::atoi(std::string(rest.substr(0, 3)).c_str());
    r.reason = rest.size() > 4 ? std::string(rest.substr(4)) : "";
  }
  while (!head.empty()) {
    const auto line = next_line();
    const auto colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    r.headers.emplace_back(std::string(line.substr(0, colon)),
                           std::string(trim_ows(line.substr(colon + 1))));
  }

  const std::string_view body = raw.substr(r.body_offset);
  const auto te = r.header("Transfer-Encoding");
  const auto cl = r.header("Content-Length");
  if (head_request || (r.status >= 100 && r.status < 200) || r.status == 204 || r.status == 304) {
    r.frame = body_framing::none;
    r.complete = true;
    r.consumed = r.body_offset;
  } else if (te && te->find("chunked") != std::string::npos) {
    r.frame = body_framing::chunked;
    std::size_t pos = 0;
    for (;;) {
      const auto eol = body.find("\r\n", pos);
      if (eol == std::string_view::npos) break;
      const std::string size_text(body.substr(pos, body.find_first_of(";\r", pos) - pos));
      char *end = nullptr;
      const unsigned long size = std::strtoul(size_text.c_str(), &end, 16);
      if (size_text.empty() || *end != '\0') break; // malformed: leave incomplete
      const std::size_t data = eol + 2;
      if (size == 0) {
        // Trailers (none expected) then the blank line.
        const auto fin = body.find("\r\n", data);
        if (fin == std::string_view::npos) break;
        if (fin != data) { // trailer lines present: find the blank line
          const auto blank = body.find("\r\n\r\n", data);
          if (blank == std::string_view::npos) break;
          r.consumed = r.body_offset + blank + 4;
        } else {
          r.consumed = r.body_offset + data + 2;
        }
        r.complete = true;
        break;
      }
      if (body.size() < data + size + 2 || body.substr(data + size, 2) != "\r\n") break;
      r.chunks.emplace_back(body.substr(data, size));
      r.body.append(body.substr(data, size));
      r.chunk_end_offsets.push_back(r.body_offset + data + size);
      pos = data + size + 2;
    }
  } else if (cl) {
    r.frame = body_framing::content_length;
    const auto length = static_cast<std::size_t>(std::strtoull(cl->c_str(), nullptr, 10));
    r.body = std::string(body.substr(0, length));
    r.complete = body.size() >= length;
    r.consumed = r.body_offset + std::min(length, body.size());
  } else {
    r.frame = body_framing::close_delimited;
    r.body = std::string(body);
    r.consumed = raw.size();
  }
  return r;
}

http_response read_response(tcp_client &c, mono_clock::time_point deadline, std::size_t from,
                            bool head_request, read_end *end) {
  for (;;) {
    const std::string_view rest = std::string_view(c.received()).substr(from);
    auto r = parse_http_response(rest, head_request);
    const read_end e = r.complete ? read_end::open : c.read_for(deadline);
    if (r.complete || e != read_end::open) {
      if (end) *end = e;
      return r.complete
                 ? r
                 : parse_http_response(std::string_view(c.received()).substr(from), head_request);
    }
  }
}

bool is_imf_fixdate(std::string_view v) {
  // "Mon, 02 Jan 2006 15:04:05 GMT"
  static constexpr std::string_view days[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
  static constexpr std::string_view months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  if (v.size() != 29) return false;
  auto digits = [&](std::size_t at, std::size_t n) {
    return std::all_of(v.begin() + static_cast<long>(at), v.begin() + static_cast<long>(at + n),
                       [](char c) { return c >= '0' && c <= '9'; });
  };
  return std::find(std::begin(days), std::end(days), v.substr(0, 3)) != std::end(days) &&
         v.substr(3, 2) == ", " && digits(5, 2) && v[7] == ' ' &&
         std::find(std::begin(months), std::end(months), v.substr(8, 3)) != std::end(months) &&
         v[11] == ' ' && digits(12, 4) && v[16] == ' ' && digits(17, 2) && v[19] == ':' &&
         digits(20, 2) && v[22] == ':' && digits(23, 2) && v.substr(25) == " GMT";
}

// ---------------------------------------------------------------------------------------------
// Files

temp_dir::temp_dir(std::string_view prefix) {
  const char *base = std::getenv("TMPDIR");
  std::string templ =
      std::string(base && *base ? base : "/tmp") + "/" + std::string(prefix) + "-XXXXXX";
  if (::mkdtemp(templ.data()) != nullptr) path_ = templ;
}

temp_dir::~temp_dir() {
  if (path_.empty() || std::getenv("STREAMCHECK_KEEP_TEST_DIRS") != nullptr) return;
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string read_file(const std::filesystem::path &p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

bool write_file(const std::filesystem::path &p, std::string_view content) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
  return static_cast<bool>(out);
}

// ---------------------------------------------------------------------------------------------
// process

std::optional<process> process::spawn(const std::vector<std::string> &argv,
                                      const std::filesystem::path &stdout_file,
                                      const std::filesystem::path &stderr_file) {
  spawn_request r{argv, stdout_file.string(), {}, {}};
  r.stderr_log = stderr_file.empty() ? "/dev/null" : stderr_file.string();
  r.truncate = true;
  r.own_group = false; // a test's Ctrl-C reaches it; the parent-death signal covers a crash
  process p;
  if (!p.child_.start(r)) return std::nullopt;
  return p;
}

std::optional<int> process::wait_until(mono_clock::time_point deadline) {
  const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - mono_clock::now());
  if (child_.wait(std::max(left, std::chrono::milliseconds(0))) == -1) return std::nullopt;
  return child_.wait_status();
}

int process::stop(mono_clock::duration grace) {
  child_.stop(std::chrono::ceil<std::chrono::milliseconds>(grace));
  return child_.wait_status().value_or(-1);
}

std::optional<unsigned short> wait_for_port_file(const std::filesystem::path &file,
                                                 mono_clock::time_point deadline, process *owner) {
  for (;;) {
    const std::string text = read_file(file);
    const long port = std::strtol(text.c_str(), nullptr, 10);
    if (port > 0 && port < 65536) return static_cast<unsigned short>(port);
    if ((owner && !owner->running()) || mono_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(10ms);
  }
}

// ---------------------------------------------------------------------------------------------
// nginx

bool nginx_available() {
  return ::access(nginx_binary, X_OK) == 0;
}

std::string nginx_config(const std::filesystem::path &prefix, unsigned short port,
                         std::string_view server_body) {
  const std::string p = prefix.string();
  std::ostringstream c;
  c << "# Written by streamcheck's integration tests.\n";
  // As root, nginx would run its worker as "nobody", which cannot enter a 0700 temp prefix.
  if (::geteuid() == 0) c << "user root;\n";
  c << "worker_processes 1;\n"
    << "pid " << p << "/nginx.pid;\n"
    << "error_log " << p << "/error.log info;\n"
    << "events { worker_connections 256; }\n"
    << "http {\n"
    << "  access_log " << p << "/access.log;\n"
    << "  client_body_temp_path " << p << "/client_body_temp;\n"
    << "  proxy_temp_path " << p << "/proxy_temp;\n"
    << "  fastcgi_temp_path " << p << "/fastcgi_temp;\n"
    << "  uwsgi_temp_path " << p << "/uwsgi_temp;\n"
    << "  scgi_temp_path " << p << "/scgi_temp;\n"
    << "  server {\n"
    << "    listen 127.0.0.1:" << port << ";\n"
    << "    " << server_body << "\n"
    << "  }\n"
    << "}\n";
  return c.str();
}

namespace {

// nginx_config()'s config for the managed launcher: one port, no file of the user's to map back to.
class test_nginx : public harness::nginx::nginx_proxy {
public:
  test_nginx(const std::filesystem::path &dir, std::string_view server_body)
      : nginx_proxy({nginx_binary, dir.string(), (dir / "nginx.conf").string()}, {}), dir_(dir),
        body_(server_body) {}
  int ports_needed() const override { return 1; }
  result<unsigned short> write_config(const std::vector<unsigned short> &ports) override {
    if (auto w = write_text(nginx_config(dir_, ports.front(), body_), {}); !w)
      return error{w.message()};
    return ports.front();
  }
  std::string error_log() const override { return (dir_ / "error.log").string(); }

private:
  std::filesystem::path dir_;
  std::string body_;
};

} // namespace

std::unique_ptr<nginx_instance> nginx_instance::start(std::string_view server_body,
                                                      std::string &error,
                                                      mono_clock::time_point deadline) {
  std::unique_ptr<nginx_instance> n(new nginx_instance());
  if (n->dir_.path().empty()) {
    error = "cannot create a temporary directory";
    return nullptr;
  }
  n->kind_ = std::make_unique<test_nginx>(n->dir_.path(), server_body);
  n->proxy_ = std::make_unique<harness::managed::managed_proxy>(*n->kind_);
  harness::managed::launch_options o;
  o.attempts = 5; // another process may take the chosen port first
  o.start_deadline =
      std::max(std::chrono::ceil<std::chrono::milliseconds>(deadline - mono_clock::now()),
               std::chrono::milliseconds(1000));
  auto port = n->proxy_->start(o);
  if (!port) {
    error = "nginx did not start: " + port.message();
    return nullptr;
  }
  n->port_ = *port;
  return n;
}

nginx_instance::~nginx_instance() {
  stop();
}

std::string nginx_instance::config() const {
  return read_file(dir_ / "nginx.conf");
}

std::string nginx_instance::error_log() const {
  return read_file(dir_ / "error.log");
}

int nginx_instance::stop(mono_clock::duration grace) {
  return proxy_ ? proxy_->stop(std::chrono::ceil<std::chrono::milliseconds>(grace)) : -1;
}

pid_t nginx_instance::pid() const {
  return proxy_ ? proxy_->pid() : -1;
}

} // namespace streamcheck::test
