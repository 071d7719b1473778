// Diagnostics: every error a stage reports, with its place, rendered as
//   file:line:col: error: <what>
//       12 |   real<lower=0> sigma
//          |                      ^
//     found: ..., expected: ..., hint: ...
#pragma once
#include <string>
#include <vector>

#include "common/source.h"

namespace halo {

enum class Severity { Error, Warning };

struct Diagnostic {
  Severity severity = Severity::Error;
  Span span;
  std::string message;   // what is wrong, one line, no trailing period
  std::string found;     // optional: what was found
  std::string expected;  // optional: what was expected
  std::string hint;      // optional: how to fix it
};

// Collects diagnostics of one source file in the order they are found.
class Diagnostics {
 public:
  Diagnostic& error(const Span& span, std::string message);
  Diagnostic& warning(const Span& span, std::string message);
  bool has_errors() const { return errors_ > 0; }
  size_t error_count() const { return errors_; }
  const std::vector<Diagnostic>& all() const { return items_; }
  // Sorted by position, errors and warnings interleaved.
  std::vector<Diagnostic> sorted() const;

 private:
  std::vector<Diagnostic> items_;
  size_t errors_ = 0;
};

// Renders one diagnostic with the quoted line and a caret (^~~~) under the span.
std::string render(const Diagnostic& d, const SourceFile& file);
// Renders all (sorted), separated by blank lines, plus nothing else.
std::string render_all(const Diagnostics& diags, const SourceFile& file);

// "did you mean" support: the candidate closest to `name` by edit distance, or "" if none is
// close enough to be a plausible typo.
std::string closest_match(const std::string& name, const std::vector<std::string>& candidates);

}  // namespace halo
