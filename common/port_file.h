#pragma once
#include <string>

namespace streamcheck {

// Writes "PORT\n" atomically (temp file + rename) so a reader never sees a half-written file.
bool write_port_file(const std::string &path, unsigned short port, std::string &error);

} // namespace streamcheck
