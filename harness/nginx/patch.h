// streamcheck nginx --fix: line edits to the user's own config text, so the patched copy keeps
// their formatting and comments and differs only where a failing check's cause was located.
#pragma once
#include <string>
#include <vector>

#include "common/result.h"
#include "harness/nginx/config.h"

namespace streamcheck::harness::nginx {

// One change. `at` is where the static analysis located the cause: the directive to replace or
// remove, or the block (its first line) a missing directive goes into.
struct edit {
  enum class kind { set, add, remove };
  kind what = kind::set;
  source_loc at;
  std::string directive; // set/add: the new statement as written, without ';'
  std::string why;       // the check ids it serves, for the comment on an added line
};

// Applies edits to the text of `file` (the edits' at.file must name it; others are refused);
// identical edits are applied once.
// set: the statement on that line is replaced, the rest of the line (a comment) kept.
// remove: the statement is taken out; a line left empty is dropped, a trailing comment stays.
// add: a new line after the block's '{', indented like the block's first child (or the block
// plus four spaces), with a "# streamcheck --fix: WHY" comment; one-line blocks get it inline.
result<std::string> apply_edits(const std::string &text, const std::string &file,
                                std::vector<edit> edits);

} // namespace streamcheck::harness::nginx
