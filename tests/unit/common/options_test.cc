// The option table every program's command line is declared with: what it accepts, what it
// refuses and how it says so, and the help it generates.
#include <gtest/gtest.h>

#include "common/options.h"

namespace streamcheck::options {
namespace {

struct flags {
  std::string url;
  int count = 1;
  std::vector<std::string> globs;
  bool strict = false;
  bool fix = false;
  std::string fix_out;
  std::string policy = "ollama";
  std::vector<std::string> positionals;
};

const std::vector<option<flags>> &table() {
  static const std::vector<option<flags>> t = {
      {"url", "URL", "where to connect",
       [](flags &f, const std::string &v) -> problem {
         if (!is_http_url(v)) return expected("an http(s) URL", v);
         f.url = v;
         return std::nullopt;
       }},
      {"count", "N", "how many",
       integer_in(
           [](flags & f) -> auto & { return f.count; }, 1, 10),
       "1"},
      {"check", "GLOB", "only these (repeatable)",
       append([](flags & f) -> auto & { return f.globs; })},
      {"strict", "", "fail on warnings", set_true([](flags & f) -> auto & { return f.strict; }), "",
       takes::nothing},
      {"fix", "OUT", "write a patched copy",
       [](flags &f, const std::string &v) -> problem {
         f.fix = true;
         f.fix_out = v;
         return std::nullopt;
       },
       "", takes::optional_value, "extra"},
      {"policy|profile", "NAME", "the upstream's policy",
       [](flags &f, const std::string &v) -> problem {
         if (!one_of(v, {"ollama", "openai", "bare"})) return expected("ollama, openai or bare", v);
         f.policy = v;
         return std::nullopt;
       },
       "ollama"},
  };
  return t;
}

result<parsed> run(const std::vector<std::string> &args, flags &f) {
  return parse<flags>(table(), args, f, [](flags &to, const std::string &word) {
    to.positionals.push_back(word);
    return std::optional<std::string>();
  });
}

// The usage error args get, or "(accepted)".
std::string refusal(const std::vector<std::string> &args) {
  flags f;
  auto r = run(args, f);
  return r ? "(accepted)" : r.message();
}

TEST(Options, BothValueFormsMeanTheSame) {
  flags spaced, joined;
  ASSERT_TRUE(run({"--url", "http://a.test", "--count", "3"}, spaced));
  ASSERT_TRUE(run({"--url=http://a.test", "--count=3"}, joined));
  EXPECT_EQ(spaced.url, "http://a.test");
  EXPECT_EQ(joined.url, "http://a.test");
  EXPECT_EQ(spaced.count, 3);
  EXPECT_EQ(joined.count, 3);
  // Only the first '=' splits: a value may hold more.
  flags f;
  ASSERT_TRUE(run({"--url=http://a.test/?x=1"}, f));
  EXPECT_EQ(f.url, "http://a.test/?x=1");
}

TEST(Options, UnknownFlagIsNamedAsTyped) {
  EXPECT_EQ(refusal({"--count", "2", "--bogus", "1"}), "unknown option '--bogus'");
  EXPECT_EQ(refusal({"--bogus=1"}), "unknown option '--bogus'");
  EXPECT_EQ(refusal({"-x"}), "unknown option '-x'");
}

TEST(Options, MissingValue) {
  EXPECT_EQ(refusal({"--count"}), "--count needs a value");
  // The next word is the value, whatever it looks like.
  flags f;
  ASSERT_TRUE(run({"--check", "--strict"}, f));
  EXPECT_EQ(f.globs, std::vector<std::string>{"--strict"});
  EXPECT_FALSE(f.strict);
}

TEST(Options, BadValueSaysWhatWasExpectedAndWhatCame) {
  EXPECT_EQ(refusal({"--count", "11"}), "--count: expected 1..10, got '11'");
  EXPECT_EQ(refusal({"--count=3x"}), "--count: expected 1..10, got '3x'");
  EXPECT_EQ(refusal({"--url", "localhost:8080"}),
            "--url: expected an http(s) URL, got 'localhost:8080'");
  EXPECT_EQ(refusal({"--strict=yes"}), "--strict takes no value");
}

TEST(Options, AliasIsTheSameFlagAndErrorsUseTheSpellingGiven) {
  flags a, b;
  ASSERT_TRUE(run({"--policy", "openai"}, a));
  ASSERT_TRUE(run({"--profile", "openai"}, b));
  EXPECT_EQ(a.policy, "openai");
  EXPECT_EQ(b.policy, "openai");
  EXPECT_EQ(refusal({"--profile=fast"}), "--profile: expected ollama, openai or bare, got 'fast'");
}

TEST(Options, RepeatedFlagAddsOrReplacesAsItsSetterSays) {
  flags f;
  ASSERT_TRUE(run({"--check", "a.*", "--count", "2", "--check=b.*", "--count", "5"}, f));
  EXPECT_EQ(f.globs, (std::vector<std::string>{"a.*", "b.*"}));
  EXPECT_EQ(f.count, 5);
}

TEST(Options, OptionalValueOnlyWithEquals) {
  flags f;
  ASSERT_TRUE(run({"--fix", "nginx.conf"}, f));
  EXPECT_TRUE(f.fix);
  EXPECT_EQ(f.fix_out, "");
  EXPECT_EQ(f.positionals, std::vector<std::string>{"nginx.conf"});
  flags g;
  ASSERT_TRUE(run({"--fix=out.conf"}, g));
  EXPECT_EQ(g.fix_out, "out.conf");
}

TEST(Options, HelpStopsAndDashesEndOptions) {
  flags f;
  auto r = run({"--count", "2", "-h", "--bogus"}, f);
  ASSERT_TRUE(r) << r.message();
  EXPECT_TRUE(r->help);
  r = run({"--strict", "--", "--count", "x"}, f);
  ASSERT_TRUE(r) << r.message();
  ASSERT_TRUE(r->rest);
  EXPECT_EQ(*r->rest, (std::vector<std::string>{"--count", "x"}));
  EXPECT_TRUE(f.strict);
  r = run({"--strict"}, f);
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->rest);
}

TEST(Options, WithoutAPositionalHandlerAWordIsAnUnknownOption) {
  flags f;
  auto r = parse(table(), {"stray"}, f);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.message(), "unknown option 'stray'");
}

TEST(Options, HelpListsEveryFlagWithValueAliasAndDefault) {
  const std::string text = help_text(table(), 20);
  EXPECT_NE(text.find("  --url URL         where to connect\n"), std::string::npos) << text;
  EXPECT_NE(text.find("  --count N         how many (default 1)\n"), std::string::npos) << text;
  EXPECT_NE(text.find("  --strict          fail on warnings\n"), std::string::npos) << text;
  EXPECT_NE(text.find("  --fix[=OUT]       write"), std::string::npos) << text;
  EXPECT_NE(text.find("the upstream's policy (also --profile) (default ollama)"), std::string::npos)
      << text;
  // One section alone.
  EXPECT_EQ(help_text(table(), 20, "extra"), "  --fix[=OUT]       write a patched copy\n");
}

TEST(Options, HelpWrapsAtTheWidthAndKeepsDefaultsWhole) {
  const std::vector<help_row> rows = {
      {"--long-option-name VALUE", "short"},
      {"--x", "one two three four five six seven eight nine ten " + unbreakable("(default 600s)")}};
  const std::string text = format_rows(rows, 12, 40);
  EXPECT_EQ(text, "  --long-option-name VALUE\n"
                  "            short\n"
                  "  --x       one two three four five six\n"
                  "            seven eight nine ten\n"
                  "            (default 600s)\n");
}

TEST(Options, ValueParsersTakeWholeStringsOnly) {
  EXPECT_EQ(parse_integer("42", 0, 100), 42);
  EXPECT_FALSE(parse_integer("42x", 0, 100));
  EXPECT_FALSE(parse_integer("", 0, 100));
  EXPECT_FALSE(parse_integer("101", 0, 100));
  EXPECT_FALSE(parse_integer("-1", 0, 100));
  EXPECT_EQ(parse_number("2.5", 0.1, 100), 2.5);
  EXPECT_FALSE(parse_number("abc", 0.1, 100));
  EXPECT_FALSE(parse_number("0.05", 0.1, 100));
  EXPECT_FALSE(parse_number("nan", 0, 1e9));
  EXPECT_TRUE(is_http_url("https://x"));
  EXPECT_FALSE(is_http_url("http://"));
  EXPECT_FALSE(is_http_url("ftp://x"));
}

} // namespace
} // namespace streamcheck::options
