// The one way into Asio/Beast for this project. Boost 1.74's Asio uses std::exchange without
// including <utility>, which g++ 12 no longer pulls in transitively.
#pragma once
#include <utility>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = boost::asio::ip::tcp;
