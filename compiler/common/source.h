// Source text and locations shared by every compiler stage.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace halo {

// A half-open range of a source file; lines and columns are 1-based, columns count bytes.
// end_col is one past the last character of the range on end_line.
struct Span {
  uint32_t begin_line = 0, begin_col = 0;
  uint32_t end_line = 0, end_col = 0;

  bool valid() const { return begin_line != 0; }
  // The smallest span covering both.
  static Span cover(const Span& a, const Span& b);
};

// A program's text with a line index, so diagnostics can quote lines.
class SourceFile {
 public:
  SourceFile(std::string path, std::string text);
  const std::string& path() const { return path_; }
  const std::string& text() const { return text_; }
  // Line `line` (1-based) without its newline; empty if out of range.
  std::string_view line(uint32_t line) const;
  uint32_t line_count() const { return static_cast<uint32_t>(line_starts_.size()); }

 private:
  std::string path_;
  std::string text_;
  std::vector<size_t> line_starts_;
};

}  // namespace halo
