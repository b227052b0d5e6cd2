// Text helpers shared by the report writers; not part of the public report API.
#pragma once
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "harness/report/report.h"

namespace streamcheck::harness::text {

// Check data quotes what a proxy sent (headers, bodies), so every writer cleans it first: invalid
// UTF-8 becomes U+FFFD, C0 controls not listed in `keep` become their Control Pictures (ESC ->
// U+241B) so they stay visible but inert, and DEL, C1 controls, U+FFFE and U+FFFF become U+FFFD.
std::string clean(std::string_view s, std::string_view keep);

// XML 1.0 character data or attribute value: clean() plus entity escaping (quotes only in
// attributes, to keep bodies such as curl lines readable in the raw file). In attributes
// tab, LF and CR are character references, because a parser would normalise them to spaces.
std::string xml_escape(std::string_view s, bool attribute);

// Fixed-point with `decimals` digits, independent of the global locale; negative or non-finite
// values (a clock glitch) print as zero so that time attributes stay schema-valid.
std::string fixed(double value, int decimals);

// "stream" for "stream.first-token": the group used for JUnit classnames.
std::string_view group_of(std::string_view id);

// warn, fail and error carry the explanation fields; pass and skip do not.
bool has_details(outcome o);

// The non-empty explanation fields of a check, labelled, in reading order.
std::vector<std::pair<std::string_view, std::string_view>> detail_fields(const check_result &c);

} // namespace streamcheck::harness::text
