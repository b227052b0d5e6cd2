// A strict, tiny XML 1.0 well-formedness checker for the JUnit tests: elements, attributes,
// character data and references only, which is all the JUnit writer may emit. Any comment, CDATA,
// DOCTYPE or processing instruction other than the declaration is rejected on purpose.
#pragma once
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace streamcheck::test {

struct xml_node {
  std::string name;
  std::map<std::string, std::string> attrs; // values with references resolved
  std::vector<xml_node> children;
  std::string text; // character data with references resolved
};

class xml_parser {
public:
  explicit xml_parser(std::string_view doc) : s_(doc) {}

  // Returns "" on success, else the first problem and its offset.
  std::string parse(xml_node &root) {
    if (!valid_chars()) return fail("invalid UTF-8 or a character XML 1.0 forbids");
    if (s_.substr(0, 5) == "<?xml") {
      const auto end = s_.find("?>");
      if (end == std::string_view::npos) return fail("unterminated declaration");
      i_ = end + 2;
    }
    skip_space();
    if (!element(root)) return error_;
    skip_space();
    if (i_ != s_.size()) return fail("content after the root element");
    return "";
  }

private:
  std::string_view s_;
  std::size_t i_ = 0;
  std::string error_;

  std::string fail(const std::string &what) {
    if (error_.empty()) error_ = what + " at offset " + std::to_string(i_);
    return error_;
  }
  bool bad(const std::string &what) {
    fail(what);
    return false;
  }
  bool at_end() const { return i_ >= s_.size(); }
  void skip_space() {
    while (!at_end() && (s_[i_] == ' ' || s_[i_] == '\n' || s_[i_] == '\t' || s_[i_] == '\r'))
      ++i_;
  }
  static bool name_char(char c, bool first) {
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
    return alpha || (!first && ((c >= '0' && c <= '9') || c == '-' || c == '.'));
  }
  bool name(std::string &out) {
    const std::size_t start = i_;
    while (!at_end() && name_char(s_[i_], i_ == start))
      ++i_;
    out = std::string(s_.substr(start, i_ - start));
    return !out.empty() || bad("expected a name");
  }

  static bool xml_char(unsigned cp) {
    return cp == 0x9 || cp == 0xA || cp == 0xD || (cp >= 0x20 && cp <= 0xD7FF) ||
           (cp >= 0xE000 && cp <= 0xFFFD) || (cp >= 0x10000 && cp <= 0x10FFFF);
  }
  static void append_utf8(std::string &out, unsigned cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }
  // Decodes the whole document once; rejects malformed UTF-8 and non-Char code points.
  bool valid_chars() const {
    for (std::size_t k = 0; k < s_.size();) {
      const auto b0 = static_cast<unsigned char>(s_[k]);
      const std::size_t n = b0 < 0x80 ? 1 : b0 >= 0xF0 ? 4 : b0 >= 0xE0 ? 3 : b0 >= 0xC2 ? 2 : 0;
      if (n == 0 || k + n > s_.size()) return false;
      unsigned cp = n == 1 ? b0 : b0 & (0xFFu >> (n + 1));
      for (std::size_t j = 1; j < n; ++j) {
        const auto b = static_cast<unsigned char>(s_[k + j]);
        if ((b & 0xC0) != 0x80) return false;
        cp = (cp << 6) | (b & 0x3F);
      }
      const unsigned min[] = {0, 0, 0x80, 0x800, 0x10000};
      if (cp < min[n] || (cp >= 0xD800 && cp <= 0xDFFF) || !xml_char(cp)) return false;
      k += n;
    }
    return true;
  }

  bool reference(std::string &out) {
    const auto end = s_.find(';', i_);
    if (end == std::string_view::npos) return bad("unterminated reference");
    const std::string_view ref = s_.substr(i_ + 1, end - i_ - 1);
    static const std::map<std::string_view, char> named = {
        {"lt", '<'}, {"gt", '>'}, {"amp", '&'}, {"quot", '"'}, {"apos", '\''}};
    i_ = end + 1;
    if (const auto it = named.find(ref); it != named.end()) {
      out += it->second;
      return true;
    }
    if (ref.size() < 2 || ref[0] != '#') return bad("unknown entity");
    const bool hex = ref[1] == 'x';
    const std::string digits(ref.substr(hex ? 2 : 1));
    if (digits.empty() || digits.find_first_not_of(hex ? "0123456789abcdefABCDEF" : "0123456789") !=
                              std::string::npos)
      return bad("bad character reference");
    const unsigned long cp = std::stoul(digits, nullptr, hex ? 16 : 10);
    if (!xml_char(static_cast<unsigned>(cp))) return bad("reference to a forbidden char");
    append_utf8(out, static_cast<unsigned>(cp));
    return true;
  }

  bool attribute(xml_node &node) {
    std::string key;
    if (!name(key)) return false;
    skip_space();
    if (at_end() || s_[i_] != '=') return bad("expected =");
    ++i_;
    skip_space();
    if (at_end() || (s_[i_] != '"' && s_[i_] != '\'')) return bad("unquoted attribute");
    const char quote = s_[i_++];
    std::string value;
    while (!at_end() && s_[i_] != quote) {
      if (s_[i_] == '<') return bad("< in attribute value");
      if (s_[i_] == '&') {
        if (!reference(value)) return false;
      } else {
        // A literal whitespace character is normalised to a space by any parser.
        const char c = s_[i_++];
        value += (c == '\n' || c == '\t' || c == '\r') ? ' ' : c;
      }
    }
    if (at_end()) return bad("unterminated attribute");
    ++i_;
    if (!node.attrs.emplace(key, value).second) return bad("duplicate attribute " + key);
    return true;
  }

  bool start_tag(xml_node &node, bool &empty) {
    if (at_end() || s_[i_] != '<') return bad("expected <");
    ++i_;
    if (!name(node.name)) return false;
    for (;;) {
      const std::size_t before = i_;
      skip_space();
      if (at_end()) return bad("unterminated start tag");
      empty = s_.substr(i_, 2) == "/>";
      if (empty || s_[i_] == '>') {
        i_ += empty ? 2 : 1;
        return true;
      }
      if (i_ == before) return bad("attributes need whitespace between them");
      if (!attribute(node)) return false;
    }
  }

  bool content(xml_node &node) {
    while (!at_end()) {
      if (s_.substr(i_, 2) == "</") return true;
      if (s_[i_] == '<') {
        if (s_.substr(i_, 2) == "<!" || s_.substr(i_, 2) == "<?")
          return bad("comment, CDATA or PI in content");
        node.children.emplace_back();
        if (!element(node.children.back())) return false;
      } else if (s_[i_] == '&') {
        if (!reference(node.text)) return false;
      } else {
        if (s_.substr(i_, 3) == "]]>") return bad("]]> in character data");
        node.text += s_[i_] == '\r' ? '\n' : s_[i_];
        ++i_;
      }
    }
    return bad("unterminated element " + node.name);
  }

  bool element(xml_node &node) {
    bool empty = false;
    if (!start_tag(node, empty)) return false;
    if (empty) return true;
    if (!content(node)) return false;
    i_ += 2;
    std::string closing;
    if (!name(closing)) return false;
    if (closing != node.name) return bad("</" + closing + "> closes <" + node.name + ">");
    skip_space();
    if (at_end() || s_[i_] != '>') return bad("unterminated end tag");
    ++i_;
    return true;
  }
};

} // namespace streamcheck::test
