// The subset of JSON Schema 2020-12 that docs/report-schema.json and docs/compare-schema.json
// use, enough to check the JSON reports against the published schemas in a unit test. A keyword
// outside the subset is reported as an error, so a schema cannot grow a rule this checker would
// silently ignore. A $ref is "#/$defs/NAME" within its own document, or the $id of another
// schema given to the constructor (compare's targets embed whole run reports).
#pragma once
#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace streamcheck::test {

class mini_schema {
public:
  explicit mini_schema(nlohmann::json root, std::vector<nlohmann::json> others = {})
      : root_(std::move(root)), others_(std::move(others)) {}

  // Every violation, as "path: problem"; empty when the instance is valid.
  std::vector<std::string> validate(const nlohmann::json &instance) {
    errors_.clear();
    check(instance, root_, "$", root_);
    return errors_;
  }

private:
  nlohmann::json root_;
  std::vector<nlohmann::json> others_; // schemas a $ref names by their $id
  std::vector<std::string> errors_;

  void error(const std::string &path, const std::string &what) {
    errors_.push_back(path + ": " + what);
  }

  static bool has_type(const nlohmann::json &v, const std::string &type) {
    if (type == "string") return v.is_string();
    if (type == "integer") return v.is_number_integer();
    if (type == "number") return v.is_number();
    if (type == "boolean") return v.is_boolean();
    if (type == "object") return v.is_object();
    if (type == "array") return v.is_array();
    if (type == "null") return v.is_null();
    return false;
  }

  // RFC 3339 date-time (JSON Schema's "date-time"): YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM).
  // Written out: std::regex trips a g++ 12 warning under ASan, which -Werror turns into an error.
  static bool is_date_time(const std::string &s) {
    const auto digits = [&](std::size_t at, std::size_t n) {
      if (at + n > s.size()) return false;
      for (std::size_t k = at; k < at + n; ++k)
        if (s[k] < '0' || s[k] > '9') return false;
      return true;
    };
    const auto at = [&](std::size_t i, char c) { return i < s.size() && s[i] == c; };
    if (!(digits(0, 4) && at(4, '-') && digits(5, 2) && at(7, '-') && digits(8, 2) &&
          (at(10, 'T') || at(10, 't')) && digits(11, 2) && at(13, ':') && digits(14, 2) &&
          at(16, ':') && digits(17, 2)))
      return false;
    std::size_t i = 19;
    if (at(i, '.')) {
      const std::size_t start = ++i;
      while (digits(i, 1))
        ++i;
      if (i == start) return false;
    }
    if ((at(i, 'Z') || at(i, 'z')) && i + 1 == s.size()) return true;
    return (at(i, '+') || at(i, '-')) && digits(i + 1, 2) && at(i + 3, ':') && digits(i + 4, 2) &&
           i + 6 == s.size();
  }

  void check_keywords(const nlohmann::json &schema, const std::string &path) {
    static const std::set<std::string> known = {
        "$schema", "$id",    "title", "description", "$defs",
        "$ref",    "type",   "enum",  "const",       "required",
        "minimum", "format", "items", "properties",  "additionalProperties"};
    for (const auto &[key, unused] : schema.items())
      if (!known.count(key)) error(path, "schema keyword '" + key + "' is not supported");
  }

  void check_object(const nlohmann::json &v, const nlohmann::json &schema, const std::string &path,
                    const nlohmann::json &doc) {
    for (const auto &key : schema.value("required", nlohmann::json::array()))
      if (!v.contains(key.get<std::string>())) error(path, "missing " + key.get<std::string>());
    const auto props = schema.value("properties", nlohmann::json::object());
    for (const auto &[key, value] : v.items()) {
      if (props.contains(key))
        check(value, props[key], path + "." + key, doc);
      else if (schema.value("additionalProperties", true) == false)
        error(path, "unexpected property " + key);
    }
  }

  void follow_ref(const nlohmann::json &v, const std::string &ref, const std::string &path,
                  const nlohmann::json &doc) {
    const std::string prefix = "#/$defs/";
    if (ref.rfind(prefix, 0) == 0) {
      const std::string name = ref.substr(prefix.size());
      if (!doc.contains("$defs") || !doc["$defs"].contains(name))
        return error(path, "no $defs entry " + name);
      return check(v, doc["$defs"][name], path, doc);
    }
    for (const auto &other : others_)
      if (other.value("$id", "") == ref) return check(v, other, path, other);
    error(path, "unsupported $ref " + ref);
  }

  void check(const nlohmann::json &v, const nlohmann::json &schema, const std::string &path,
             const nlohmann::json &doc) {
    check_keywords(schema, path);
    if (schema.contains("$ref")) follow_ref(v, schema["$ref"], path, doc);
    if (schema.contains("type") && !has_type(v, schema["type"]))
      error(path, "not of type " + schema["type"].get<std::string>());
    if (schema.contains("const") && v != schema["const"]) error(path, "not the const value");
    if (schema.contains("enum")) {
      const auto &options = schema["enum"];
      if (std::find(options.begin(), options.end(), v) == options.end())
        error(path, v.dump() + " not in enum");
    }
    if (schema.contains("format")) {
      const std::string format = schema["format"];
      if (format != "date-time") return error(path, "format '" + format + "' is not supported");
      if (v.is_string() && !is_date_time(v.get<std::string>()))
        error(path, v.dump() + " is not an RFC 3339 date-time");
    }
    if (schema.contains("minimum") && v.is_number() &&
        v.get<double>() < schema["minimum"].get<double>())
      error(path, "below minimum");
    if (v.is_object()) check_object(v, schema, path, doc);
    if (v.is_array() && schema.contains("items"))
      for (std::size_t k = 0; k < v.size(); ++k)
        check(v[k], schema["items"], path + "[" + std::to_string(k) + "]", doc);
  }
};

} // namespace streamcheck::test
