// HTTP text shared by the mock and the reference proxy: the header list both keep in wire order.
#pragma once
#include <string>
#include <utility>
#include <vector>

namespace streamcheck {

// Header fields in the order they were sent, duplicates kept (the checks judge repeated fields).
using header_list = std::vector<std::pair<std::string, std::string>>;

} // namespace streamcheck
