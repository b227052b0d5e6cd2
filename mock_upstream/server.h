// The mock's sockets: one event loop per core, each connection a coroutine that reads requests,
// asks handle() for a plan and carries it out on the wire with exact timing.
#pragma once
#include <memory>
#include <optional>
#include <string>

#include "common/asio.h"
#include "common/result.h"
#include "mock_upstream/handler.h"
#include "mock_upstream/journal.h"

namespace streamcheck::mock {

struct server_options {
  tcp::endpoint listen{asio::ip::make_address("127.0.0.1"), 0};
  std::optional<tcp::endpoint> control; // journal and health, never on the proxied port
  unsigned threads = 0;                 // 0: one per core
  mock_options behaviour;
  std::string profile_name = "ollama";
  std::size_t max_body_bytes = 512u << 20;
  std::size_t max_header_bytes = 1u << 20; // Go's DefaultMaxHeaderBytes
  std::size_t journal_entries = default_journal_capacity;
};

class server {
public:
  // Binds both listeners and starts the event loops; an address in use is an error value.
  static result<std::unique_ptr<server>> start(server_options options);
  ~server();
  server(const server &) = delete;
  server &operator=(const server &) = delete;

  unsigned short port() const;
  unsigned short control_port() const; // 0 without a control listener
  journal &requests();
  void stop(); // idempotent; closes listeners and connections, joins the loops

  struct impl;

private:
  explicit server(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

} // namespace streamcheck::mock
