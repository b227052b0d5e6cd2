// Each file under checks/ contributes one family of the catalog.
#pragma once
#include <vector>

#include "harness/check.h"

namespace streamcheck::harness {

void add_stream_checks(std::vector<check> &out);
void add_timeout_checks(std::vector<check> &out);
void add_abort_checks(std::vector<check> &out);
void add_api_checks(std::vector<check> &out);
void add_cors_checks(std::vector<check> &out);
void add_upstream_checks(std::vector<check> &out);
void add_conn_checks(std::vector<check> &out);
void add_headers_checks(std::vector<check> &out);
void add_body_checks(std::vector<check> &out);

} // namespace streamcheck::harness
