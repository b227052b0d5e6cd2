// What the stream.* checks share with the checks that need a stream to stream first: the
// steady timeline stream.no-coalescing.* asks of the mock, and their verdict on its spacing.
#pragma once
#include <string>

#include "harness/checks/requests.h"

namespace streamcheck::harness {

// 40 events 40 ms apart after 50 ms: what stream.first-token and stream.no-coalescing.* ask.
inline const scenario steady{.first_token_ms = 50, .gap_ms = 40, .tokens = 40};

// The shared verdict of the no-coalescing family on `probe`: every event on time, all of them
// there.
verdict judge_spacing(const observations &o, const check_context &c, const std::string &probe,
                      int gap_ms, int expected_events);

} // namespace streamcheck::harness
