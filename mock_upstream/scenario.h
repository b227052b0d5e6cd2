// How the mock picks a response's timeline (common/protocol/scenario.h): the body's `model` names a
// preset (listed in /api/tags), a top-level "streamcheck" object in the body overrides it, or
// `streamcheck.KEY=VALUE` query parameters for body-less requests. No proxy cooperation needed.
#pragma once
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/go_json.h"
#include "common/protocol/scenario.h"

namespace streamcheck::mock {

using protocol::abort_kind;
using protocol::apply_overrides;
using protocol::planned_duration_ms;
using protocol::scenario;

struct preset {
  std::string name; // as listed in /api/tags, with its tag
  std::string description;
  scenario base;
};

const std::vector<preset> &presets();

// "llama3.2" -> "llama3.2:latest"; names already tagged are kept.
std::string normalize_model_name(const std::string &name);

const preset *find_preset(const std::string &model);

// Collects streamcheck.KEY=VALUE pairs of a query string into an override object
// (streamcheck.headers.NAME=V becomes headers:{NAME:V}). Values that parse as JSON scalars are
// taken as such, otherwise as strings.
json overrides_from_query(const std::string &query);

} // namespace streamcheck::mock
