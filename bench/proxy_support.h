// What the streamcheck-proxy benches share: raw loopback clients, many streams at once on one
// poll loop (each event's arrival time and how each response ended), the proxy as a child.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/protocol/scenario.h"
#include "common/protocol/stamp.h"
#include "harness/process.h"

namespace streamcheck::bench {

int connect_to(unsigned short port); // blocking, TCP_NODELAY, 5 s receive timeout; -1 on error
bool send_all(int fd, const std::string &bytes);

// POST /api/generate with this timeline under this correlation id, Connection: close.
std::string generate_request(const std::string &id, protocol::scenario timeline);

// The stamps of the complete lines of `received` from `scanned` on (advanced past them): the
// events in a raw response, whatever its framing (chunk-size lines carry none).
std::vector<protocol::stamp> take_stamps(const std::string &received, std::size_t &scanned);

struct stream_result {
  std::string id;
  std::vector<std::pair<std::int64_t, std::int64_t>> events; // (the mock's t_us, arrival µs)
  bool connected = false;
  bool clean_end = false; // the final chunk came: a complete response
  bool ended = false;     // the connection closed (or reset) before the deadline
  std::int64_t ended_us = -1;
  std::string head; // the response head
};

// n streams at once, each `request(i)` on its own connection, until every one ends or the
// deadline; `on_all_started` runs once every stream has its first event.
std::vector<stream_result> run_streams(unsigned short port, int n,
                                       const std::function<std::string(int)> &request,
                                       std::int64_t deadline_us,
                                       const std::function<void()> &on_all_started = {});

double percentile(std::vector<double> v, double p); // p in [0, 1]; -1 when empty

// streamcheck-proxy next to this bench in the build tree.
std::string default_proxy_binary();

// The proxy on a free loopback port in front of `upstream_port`, listening, or an error.
result<unsigned short> start_proxy(harness::child_process &proxy, const std::string &binary,
                                   unsigned short upstream_port,
                                   const std::vector<std::string> &extra, const std::string &log);

} // namespace streamcheck::bench
