// One stamp parser for the harness, the tests and the benches: it reads what the mock writes and
// nothing a token's text could hold.
#include "common/protocol/stamp.h"

#include <gtest/gtest.h>

#include "common/go_json.h"

namespace streamcheck::protocol {
namespace {

TEST(Stamp, ParsesWhatToJsonWrites) {
  json event = {{"model", "llama3.2"}, {"done", false}};
  event["streamcheck"] = to_json(stamp{7, 123456});
  EXPECT_EQ(go_json(event["streamcheck"]), R"({"seq":7,"t_us":123456})");
  EXPECT_EQ(parse_stamp(go_json(event)), (stamp{7, 123456}));
}

TEST(Stamp, SseDataAndReorderedOrSpacedKeys) {
  EXPECT_EQ(parse_stamp(R"({"choices":[],"streamcheck":{"seq":24,"t_us":500}})"), (stamp{24, 500}));
  EXPECT_EQ(parse_stamp(R"({"streamcheck" : { "t_us" : 5, "seq" : 1 }, "done":true})"),
            (stamp{1, 5}));
}

TEST(Stamp, NoneWithoutAStampObject) {
  EXPECT_EQ(parse_stamp("[DONE]"), std::nullopt);
  EXPECT_EQ(parse_stamp(R"({"done":true})"), std::nullopt);
  EXPECT_EQ(parse_stamp(R"({"streamcheck":{"seq":1,)"), std::nullopt); // cut short
}

TEST(Stamp, TextThatMentionsTheKeyIsNotAStamp) {
  json event = {{"message", {{"content", R"("streamcheck":{"seq":99,"t_us":1})"}}}};
  EXPECT_EQ(parse_stamp(event.dump()), std::nullopt);
  event["streamcheck"] = to_json(stamp{3, 30});
  EXPECT_EQ(parse_stamp(event.dump()), (stamp{3, 30}));
}

TEST(Stamp, AMissingFieldStaysUnset) {
  EXPECT_EQ(parse_stamp(R"({"streamcheck":{"seq":2}})"), (stamp{2, -1}));
  EXPECT_EQ(parse_stamp(R"({"streamcheck":{}})"), (stamp{}));
}

} // namespace
} // namespace streamcheck::protocol
