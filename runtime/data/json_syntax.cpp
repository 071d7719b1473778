#include "data/json_syntax.h"

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string>

namespace halo::json_syntax {
namespace {

// Deep enough for any real data file; stops a hostile text from exhausting the stack.
constexpr int kMaxDepth = 512;

struct ScanFailure {
  size_t offset;
  std::string message;
};

class Scanner {
 public:
  explicit Scanner(std::string_view text) : s_(text) {}

  ScanResult run() {
    ScanResult result;
    try {
      skip_space();
      if (pos_ >= s_.size()) fail("the text is empty; expected a JSON object");
      value(0);
      skip_space();
      if (pos_ < s_.size()) fail("unexpected " + describe_here() + " after the end of the JSON value");
      result.edits = std::move(edits_);
    } catch (const ScanFailure& f) {
      result.ok = false;
      result.error_offset = f.offset;
      result.error = f.message;
    }
    return result;
  }

 private:
  [[noreturn]] void fail(std::string message) { throw ScanFailure{pos_, std::move(message)}; }
  [[noreturn]] void fail_at(size_t offset, std::string message) {
    throw ScanFailure{offset, std::move(message)};
  }

  bool at_end() const { return pos_ >= s_.size(); }
  char peek() const { return s_[pos_]; }

  void skip_space() {
    while (pos_ < s_.size()) {
      char c = s_[pos_];
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
        ++pos_;
      } else {
        break;
      }
    }
  }

  // How the character at the current position reads in a message.
  std::string describe_here() const {
    if (at_end()) return "end of the text";
    char c = peek();
    if (c == '\n' || c == '\r') return "end of line";
    if (c == '\'') return "a single quote (JSON strings need double quotes)";
    if (static_cast<unsigned char>(c) < 0x20) return "a control character";
    if (std::isalpha(static_cast<unsigned char>(c))) {
      size_t end = pos_;
      while (end < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[end])) || s_[end] == '_'))
        ++end;
      return "'" + std::string(s_.substr(pos_, std::min<size_t>(end - pos_, 20))) + "'";
    }
    return std::string("'") + c + "'";
  }

  bool match_word(std::string_view word) const { return s_.substr(pos_, word.size()) == word; }
  bool word_ends_at(size_t end) const {
    return end >= s_.size() ||
           !(std::isalnum(static_cast<unsigned char>(s_[end])) || s_[end] == '_');
  }

  // The non-finite atoms Stan's reader accepts unquoted; rewritten to the equivalent string.
  bool non_finite_atom() {
    static constexpr std::string_view kAtoms[] = {"-Infinity", "Infinity", "-Inf", "Inf", "NaN"};
    for (std::string_view atom : kAtoms) {
      if (match_word(atom) && word_ends_at(pos_ + atom.size())) {
        edits_.push_back({pos_, atom.size(), "\"" + std::string(atom) + "\""});
        pos_ += atom.size();
        return true;
      }
    }
    return false;
  }

  void value(int depth) {
    if (depth > kMaxDepth) fail("the JSON nests more than 512 levels deep");
    skip_space();
    if (at_end()) fail("unexpected end of the text; expected a value");
    char c = peek();
    if (c == '{') {
      object(depth);
    } else if (c == '[') {
      array(depth);
    } else if (c == '"') {
      string();
    } else if (c == '-' || (c >= '0' && c <= '9')) {
      if (c == '-' && non_finite_atom()) return;
      number();
    } else if (match_word("true") && word_ends_at(pos_ + 4)) {
      pos_ += 4;
    } else if (match_word("false") && word_ends_at(pos_ + 5)) {
      pos_ += 5;
    } else if (match_word("null") && word_ends_at(pos_ + 4)) {
      pos_ += 4;
    } else if (non_finite_atom()) {
      return;
    } else if (c == ']' || c == '}') {
      fail("unexpected '" + std::string(1, c) + "'; expected a value");
    } else {
      fail("unexpected " + describe_here() + "; expected a value (a number, string, array or object)");
    }
  }

  void object(int depth) {
    ++pos_;  // '{'
    skip_space();
    if (!at_end() && peek() == '}') {
      ++pos_;
      return;
    }
    for (;;) {
      skip_space();
      if (at_end()) fail("unexpected end of the text inside an object; expected a key");
      if (peek() != '"') {
        if (peek() == '}') fail("a trailing comma is not allowed before '}'");
        fail("expected a key in double quotes, found " + describe_here());
      }
      string();
      skip_space();
      if (at_end() || peek() != ':') fail("expected ':' after the key, found " + describe_here());
      ++pos_;
      value(depth + 1);
      skip_space();
      if (at_end()) fail("unexpected end of the text; expected ',' or '}' to continue the object");
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      if (peek() == '}') {
        ++pos_;
        return;
      }
      fail("expected ',' or '}' after an object member, found " + describe_here());
    }
  }

  void array(int depth) {
    ++pos_;  // '['
    skip_space();
    if (!at_end() && peek() == ']') {
      ++pos_;
      return;
    }
    for (;;) {
      skip_space();
      if (!at_end() && peek() == ']') fail("a trailing comma is not allowed before ']'");
      value(depth + 1);
      skip_space();
      if (at_end()) fail("unexpected end of the text; expected ',' or ']' to continue the array");
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      if (peek() == ']') {
        ++pos_;
        return;
      }
      fail("expected ',' or ']' after an array element, found " + describe_here());
    }
  }

  void string() {
    size_t start = pos_;
    ++pos_;  // opening quote
    while (pos_ < s_.size()) {
      char c = s_[pos_];
      if (c == '"') {
        ++pos_;
        return;
      }
      if (c == '\\') {
        if (pos_ + 1 >= s_.size()) break;
        char e = s_[pos_ + 1];
        if (e == 'u') {
          for (size_t k = 2; k < 6; ++k) {
            if (pos_ + k >= s_.size() || !std::isxdigit(static_cast<unsigned char>(s_[pos_ + k])))
              fail_at(pos_, "invalid \\u escape in a string (needs 4 hex digits)");
          }
          pos_ += 6;
          continue;
        }
        if (std::string_view("\"\\/bfnrt").find(e) == std::string_view::npos)
          fail_at(pos_, std::string("invalid escape '\\") + e + "' in a string");
        pos_ += 2;
        continue;
      }
      if (static_cast<unsigned char>(c) < 0x20) {
        if (c == '\n') fail_at(start, "unterminated string (a line ends before its closing quote)");
        fail("a control character inside a string must be escaped");
      }
      ++pos_;
    }
    fail_at(start, "unterminated string");
  }

  void number() {
    size_t start = pos_;
    if (peek() == '-') ++pos_;
    if (at_end() || !std::isdigit(static_cast<unsigned char>(peek())))
      fail("invalid number: '-' must be followed by a digit");
    size_t int_start = pos_;
    if (peek() == '0') {
      ++pos_;
      if (!at_end() && std::isdigit(static_cast<unsigned char>(peek())))
        fail_at(start, "invalid number: leading zeros are not allowed");
    } else {
      while (!at_end() && std::isdigit(static_cast<unsigned char>(peek()))) ++pos_;
    }
    size_t int_end = pos_;
    bool is_real = false;
    if (!at_end() && peek() == '.') {
      is_real = true;
      ++pos_;
      if (at_end() || !std::isdigit(static_cast<unsigned char>(peek())))
        fail("invalid number: a digit must follow the decimal point");
      while (!at_end() && std::isdigit(static_cast<unsigned char>(peek()))) ++pos_;
    }
    if (!at_end() && (peek() == 'e' || peek() == 'E')) {
      is_real = true;
      ++pos_;
      if (!at_end() && (peek() == '+' || peek() == '-')) ++pos_;
      if (at_end() || !std::isdigit(static_cast<unsigned char>(peek())))
        fail("invalid number: the exponent needs digits");
      while (!at_end() && std::isdigit(static_cast<unsigned char>(peek()))) ++pos_;
    }
    if (!at_end() && (std::isalpha(static_cast<unsigned char>(peek())) || peek() == '.'))
      fail("invalid number: unexpected " + describe_here() + " inside a number");
    std::string token(s_.substr(start, pos_ - start));
    if (is_real) {
      errno = 0;
      double x = std::strtod(token.c_str(), nullptr);
      if (errno == ERANGE && std::isinf(x))
        fail_at(start, "number " + token + " is too large for a double");
      return;
    }
    // An integer simdjson cannot hold (beyond uint64, or below int64's minimum): Stan's reader
    // reads such a token as a real, and so do we.
    size_t digits = int_end - int_start;
    bool negative = s_[start] == '-';
    bool too_long = digits > 20;
    if (!too_long && digits >= 19) {
      std::string_view limit = negative ? "9223372036854775808" : "18446744073709551615";
      std::string_view d = s_.substr(int_start, digits);
      too_long = digits > limit.size() || (digits == limit.size() && d > limit);
    }
    if (too_long) {
      errno = 0;
      double x = std::strtod(token.c_str(), nullptr);
      if (errno == ERANGE && std::isinf(x))
        fail_at(start, "number " + token.substr(0, 30) + "... is too large for a double");
      edits_.push_back({pos_, 0, ".0"});
    }
  }

  std::string_view s_;
  size_t pos_ = 0;
  std::vector<Edit> edits_;
};

}  // namespace

ScanResult scan(std::string_view text) { return Scanner(text).run(); }

LineColumn line_column(std::string_view text, size_t offset) {
  LineColumn lc;
  if (offset > text.size()) offset = text.size();
  for (size_t i = 0; i < offset; ++i) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c == '\n') {
      ++lc.line;
      lc.column = 1;
    } else if ((c & 0xC0) != 0x80) {  // UTF-8 continuation bytes do not start a character
      ++lc.column;
    }
  }
  return lc;
}

std::string apply_edits(std::string_view text, const std::vector<Edit>& edits) {
  std::string out;
  size_t extra = 0;
  for (const Edit& e : edits) extra += e.replacement.size();
  out.reserve(text.size() + extra);
  size_t pos = 0;
  for (const Edit& e : edits) {
    out.append(text.substr(pos, e.offset - pos));
    out.append(e.replacement);
    pos = e.offset + e.length;
  }
  out.append(text.substr(pos));
  return out;
}

}  // namespace halo::json_syntax
