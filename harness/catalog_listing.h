// `streamcheck list --json`: the catalog as data, one hop from a check to everything about it
// (its requirement as the run would state it, its fixes per proxy kind, its flags, the fixtures
// whose .expect names it and the nginx analysis rules that explain its failures).
#pragma once
#include "harness/check.h"

namespace streamcheck::harness {

json catalog_listing(const check_context &ctx);

} // namespace streamcheck::harness
