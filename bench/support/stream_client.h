// The benches' client: N concurrent HTTP/1.1 POST /api/chat streams on one thread, raw
// non-blocking sockets and epoll, every event line's arrival stamped right after the recv() that
// completed it. One connection per stream (Connection: close); chunked, length or close-delimited
// bodies. Each event carries the mock's "streamcheck":{"seq":S,"t_us":T} stamp, T = µs since the
// mock finished reading the request.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "common/http_text.h"
#include "common/protocol/scenario.h"

namespace streamcheck::bench {

using std::int64_t;

struct event_arrival {
  int seq = 0;
  int64_t t_us = 0;       // the mock's stamp: µs since it finished reading the request
  int64_t arrival_us = 0; // monotonic, right after the recv() that completed the line
};

struct stream_plan {
  std::string id_prefix; // ids are id_prefix + index: the journal lookup key
  int streams = 0;
  protocol::scenario timeline; // every stream's (its id is set per stream); says how many events
  // > 0: stream i starts at i * spread / streams, so that the streams' events interleave evenly
  // instead of leaving the mock in lockstep bursts. 0: a burst of 64, then about ten connects
  // per millisecond.
  int64_t start_spread_us = 0;
  // Connects in flight at most: a thousand simultaneous SYNs would overflow accept queues and add
  // seconds of retransmits to the ramp.
  int max_connecting = 256;
  std::string user_agent = "streamcheck-bench";
  bool no_delay = false; // TCP_NODELAY on the client's sockets
};

enum class stream_phase { connecting, sending, head, body, draining, closed };
enum class chunk_part { size, data, crlf, trailers };

struct stream_state {
  int fd = -1;
  stream_phase phase = stream_phase::connecting;
  std::string request;
  std::size_t sent = 0;
  int64_t sent_us = 0; // monotonic, when the last byte of the request was handed to the kernel
  std::string in;      // received, not yet parsed
  body_framing framing = body_framing::close_delimited;
  chunk_part part = chunk_part::size;
  std::size_t chunk_left = 0;
  long long body_left = 0;
  std::string line; // the event line being assembled
  std::vector<event_arrival> events;
  bool ended = false; // complete, or failed
  bool complete = false;
  std::string failure;
};

class stream_client {
public:
  stream_client(unsigned short port, stream_plan plan);
  ~stream_client();
  stream_client(const stream_client &) = delete;
  stream_client &operator=(const stream_client &) = delete;

  // Opens the streams (ramped) and serves their sockets until done() or the deadline; done() is
  // asked at least every 5 ms (a place to sample the server meanwhile).
  void pump(const std::function<bool()> &done, int64_t deadline_us);

  bool all_ended() const { return ended_ == plan_.streams; }
  int ended() const { return ended_; }
  int opened() const { return opened_; }
  // When the last stream was opened (monotonic µs), 0 while not yet; ramp_started_us() the first.
  int64_t ramp_done_us() const { return ramp_done_us_; }
  int64_t ramp_started_us() const { return ramp_start_us_; }
  // Streams that delivered their first event, or ended without one: nothing more to wait for.
  int settled() const { return with_first_event_ + ended_without_events_; }
  int open_with_events() const;

  // After the streams ended: give the servers a moment to close first (the TIME_WAIT then lands
  // on their side, not on this client's ephemeral ports), then close what is left.
  void finish();
  void close_all();

  std::string first_failure() const;
  const std::vector<stream_state> &streams() const { return streams_; }

private:
  std::string request_for(std::size_t index) const;
  void open_more();
  void serve(std::size_t index, std::uint32_t events);
  void send_request(std::size_t index, stream_state &s);
  void receive(stream_state &s);
  void parse(stream_state &s, int64_t arrival);
  // One step of the chunked decoder; false when it needs more bytes.
  bool parse_chunked(stream_state &s, std::string_view rest, std::size_t &pos, int64_t arrival);
  void body_bytes(stream_state &s, std::string_view data, int64_t arrival);
  void on_line(stream_state &s, int64_t arrival);
  void end_of_body(stream_state &s);
  void fail(stream_state &s, const std::string &why);
  void close_socket(stream_state &s);

  unsigned short port_;
  stream_plan plan_;
  std::vector<stream_state> streams_;
  int epoll_ = -1;
  int opened_ = 0;
  int connecting_ = 0;
  int open_sockets_ = 0;
  int ended_ = 0;
  int with_first_event_ = 0;
  int ended_without_events_ = 0;
  int64_t ramp_start_us_ = 0;
  int64_t ramp_done_us_ = 0;
};

} // namespace streamcheck::bench
