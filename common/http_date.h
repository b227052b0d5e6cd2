#pragma once
#include <string>

namespace streamcheck {

// The current time in IMF-fixdate form ("Mon, 02 Jan 2006 15:04:05 GMT"), as the Date header wants.
std::string http_date_now();

} // namespace streamcheck
