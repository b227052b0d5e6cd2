// streamcheck nginx --fix's edits on the user's own text: the right block, the right line, and
// nothing else changed (formatting and comments kept).
#include <gtest/gtest.h>

#include "harness/nginx/config.h"
#include "harness/nginx/patch.h"

namespace streamcheck::harness::nginx {
namespace {

const std::string conf = R"(# the user's comment
http {
    server {
        listen 8080;   # public
        location / {
            proxy_pass http://127.0.0.1:11434;
            proxy_buffering on;  # they thought this helps
            chunked_transfer_encoding off;
            add_header X-A "a; b";  proxy_ignore_client_abort on;
        }
    }
}
)";

edit at(edit::kind k, int line, std::string directive) {
  return {k, {"u.conf", line}, std::move(directive), "stream.first-token"};
}

std::string patched(std::vector<edit> edits) {
  auto r = apply_edits(conf, "u.conf", std::move(edits));
  EXPECT_TRUE(r) << r.message();
  return r ? *r : "";
}

TEST(Patch, ReplacesOneDirectiveKeepingItsComment) {
  const std::string out = patched({at(edit::kind::set, 7, "proxy_buffering off")});
  EXPECT_NE(out.find("            proxy_buffering off;  # they thought this helps\n"),
            std::string::npos);
  EXPECT_EQ(out.size(), conf.size() + 1); // "on" -> "off", nothing else
}

TEST(Patch, RemovesADirectiveAndItsEmptyLine) {
  const std::string out = patched({at(edit::kind::remove, 8, "chunked_transfer_encoding off")});
  EXPECT_EQ(out.find("chunked_transfer_encoding"), std::string::npos);
  EXPECT_NE(out.find("helps\n            add_header"), std::string::npos);
}

TEST(Patch, RemovesOneOfTwoStatementsOnALineWithQuotedSemicolons) {
  const std::string out = patched({at(edit::kind::remove, 9, "proxy_ignore_client_abort on")});
  EXPECT_NE(out.find("            add_header X-A \"a; b\";\n"), std::string::npos);
  EXPECT_EQ(out.find("proxy_ignore_client_abort"), std::string::npos);
}

TEST(Patch, AddsADirectiveIntoTheRightBlockIndentedLikeItsChildren) {
  const std::string out = patched({at(edit::kind::add, 5, "client_max_body_size 100m")});
  EXPECT_NE(out.find("        location / {\n            client_max_body_size 100m;  # "
                     "streamcheck --fix: stream.first-token\n            proxy_pass"),
            std::string::npos);
  // The result still parses, and the directive sits in the location.
  auto tree = parse_text(out, "u.conf");
  ASSERT_TRUE(tree) << tree.message();
  const directive &location = (*tree)[0].children[0].children[1];
  EXPECT_EQ(location.name, "location");
  EXPECT_EQ(location.children[0].name, "client_max_body_size");
}

TEST(Patch, SeveralAddsKeepTheirOrderAndLaterEditsTheirLines) {
  const std::string out =
      patched({at(edit::kind::add, 5, "a 1"), at(edit::kind::add, 5, "b 2"),
               at(edit::kind::set, 7, "proxy_buffering off"), at(edit::kind::add, 3, "c 3")});
  const auto a = out.find("a 1;"), b = out.find("b 2;"), c = out.find("c 3;");
  ASSERT_NE(a, std::string::npos);
  EXPECT_LT(c, a);
  EXPECT_LT(a, b);
  EXPECT_NE(out.find("proxy_buffering off;  # they"), std::string::npos);
  EXPECT_NE(out.find("# the user's comment\n"), std::string::npos);
}

TEST(Patch, OneLineBlockGetsTheDirectiveInline) {
  auto r = apply_edits("events { worker_connections 64; }\n", "u.conf",
                       {at(edit::kind::set, 1, "worker_connections 4096"),
                        at(edit::kind::add, 1, "multi_accept on")});
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, "events { multi_accept on; worker_connections 4096; }\n");
}

TEST(Patch, RefusesWhatItCannotDoSafely) {
  EXPECT_FALSE(apply_edits(conf, "u.conf", {{edit::kind::set, {"other.conf", 3}, "x 1", ""}}));
  EXPECT_FALSE(apply_edits(conf, "u.conf", {at(edit::kind::set, 99, "x 1")}));
  EXPECT_FALSE(apply_edits(conf, "u.conf", {at(edit::kind::set, 4, "proxy_buffering off")}));
  EXPECT_FALSE(apply_edits(conf, "u.conf", {at(edit::kind::add, 6, "x 1")})); // no block opens
}

} // namespace
} // namespace streamcheck::harness::nginx
