#include "common/source.h"

#include <algorithm>
#include <tuple>

namespace halo {

Span Span::cover(const Span& a, const Span& b) {
  if (!a.valid()) return b;
  if (!b.valid()) return a;
  Span s;
  if (std::tie(a.begin_line, a.begin_col) <= std::tie(b.begin_line, b.begin_col)) {
    s.begin_line = a.begin_line, s.begin_col = a.begin_col;
  } else {
    s.begin_line = b.begin_line, s.begin_col = b.begin_col;
  }
  if (std::tie(a.end_line, a.end_col) >= std::tie(b.end_line, b.end_col)) {
    s.end_line = a.end_line, s.end_col = a.end_col;
  } else {
    s.end_line = b.end_line, s.end_col = b.end_col;
  }
  return s;
}

SourceFile::SourceFile(std::string path, std::string text)
    : path_(std::move(path)), text_(std::move(text)) {
  line_starts_.push_back(0);
  for (size_t i = 0; i < text_.size(); ++i)
    if (text_[i] == '\n') line_starts_.push_back(i + 1);
}

std::string_view SourceFile::line(uint32_t line) const {
  if (line == 0 || line > line_starts_.size()) return {};
  size_t begin = line_starts_[line - 1];
  size_t end = line < line_starts_.size() ? line_starts_[line] - 1 : text_.size();
  if (end > begin && text_[end - 1] == '\r') --end;
  return std::string_view(text_).substr(begin, end - begin);
}

}  // namespace halo
