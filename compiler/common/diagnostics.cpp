#include "common/diagnostics.h"

#include <algorithm>
#include <tuple>

namespace halo {

Diagnostic& Diagnostics::error(const Span& span, std::string message) {
  ++errors_;
  items_.push_back(Diagnostic{Severity::Error, span, std::move(message), {}, {}, {}});
  return items_.back();
}

Diagnostic& Diagnostics::warning(const Span& span, std::string message) {
  items_.push_back(Diagnostic{Severity::Warning, span, std::move(message), {}, {}, {}});
  return items_.back();
}

std::vector<Diagnostic> Diagnostics::sorted() const {
  std::vector<Diagnostic> out = items_;
  std::stable_sort(out.begin(), out.end(), [](const Diagnostic& a, const Diagnostic& b) {
    return std::tie(a.span.begin_line, a.span.begin_col) <
           std::tie(b.span.begin_line, b.span.begin_col);
  });
  return out;
}

std::string render(const Diagnostic& d, const SourceFile& file) {
  std::string out = file.path();
  const char* sev = d.severity == Severity::Error ? "error" : "warning";
  if (d.span.valid()) {
    out += ":" + std::to_string(d.span.begin_line) + ":" + std::to_string(d.span.begin_col);
  }
  out += std::string(": ") + sev + ": " + d.message + "\n";
  if (d.span.valid() && d.span.begin_line <= file.line_count()) {
    std::string_view line = file.line(d.span.begin_line);
    std::string number = std::to_string(d.span.begin_line);
    std::string gutter(number.size(), ' ');
    out += " " + number + " | ";
    // Tabs are shown as single spaces so that the caret lines up.
    for (char c : line) out += (c == '\t' ? ' ' : c);
    out += "\n " + gutter + " | ";
    uint32_t col = std::max<uint32_t>(d.span.begin_col, 1);
    out += std::string(col - 1, ' ') + "^";
    // Underline the rest of the span on its first line.
    uint32_t last = d.span.end_line == d.span.begin_line
                        ? d.span.end_col
                        : static_cast<uint32_t>(line.size()) + 1;
    if (last > static_cast<uint32_t>(line.size()) + 1) last = static_cast<uint32_t>(line.size()) + 1;
    if (last > col + 1) out += std::string(last - col - 1, '~');
    out += "\n";
  }
  if (!d.found.empty()) out += "  found: " + d.found + "\n";
  if (!d.expected.empty()) out += "  expected: " + d.expected + "\n";
  if (!d.hint.empty()) out += "  hint: " + d.hint + "\n";
  return out;
}

std::string render_all(const Diagnostics& diags, const SourceFile& file) {
  std::string out;
  for (const Diagnostic& d : diags.sorted()) {
    if (!out.empty()) out += "\n";
    out += render(d, file);
  }
  return out;
}

namespace {
// Optimal string alignment distance (edit distance with adjacent transpositions).
size_t osa_distance(const std::string& a, const std::string& b) {
  const size_t n = a.size(), m = b.size();
  std::vector<std::vector<size_t>> d(n + 1, std::vector<size_t>(m + 1));
  for (size_t i = 0; i <= n; ++i) d[i][0] = i;
  for (size_t j = 0; j <= m; ++j) d[0][j] = j;
  for (size_t i = 1; i <= n; ++i)
    for (size_t j = 1; j <= m; ++j) {
      size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  return d[n][m];
}
}  // namespace

std::string closest_match(const std::string& name, const std::vector<std::string>& candidates) {
  std::string best;
  size_t best_distance = static_cast<size_t>(-1);
  // A plausible typo: at most a third of the name's characters wrong (at least one, at most 3).
  size_t limit = std::min<size_t>(3, std::max<size_t>(1, name.size() / 3));
  for (const std::string& c : candidates) {
    if (c == name) continue;
    size_t dist = osa_distance(name, c);
    if (dist <= limit && dist < best_distance) {
      best = c;
      best_distance = dist;
    }
  }
  return best;
}

}  // namespace halo
