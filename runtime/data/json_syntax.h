// A small, strict JSON scanner for the slow path of the data reader. simdjson parses valid data
// fast but says neither where a malformed text goes wrong nor accepts what Stan's reader also
// accepts (bare NaN / Infinity atoms, integers too long for 64 bits). When simdjson refuses a
// text, this scanner finds the first real error with its position, or lists the edits that turn
// the text into strict JSON simdjson reads with the same meaning.
#pragma once
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace halo::json_syntax {

struct Edit {
  size_t offset = 0;  // byte offset in the original text
  size_t length = 0;  // bytes replaced
  std::string replacement;
};

struct ScanResult {
  bool ok = true;
  size_t error_offset = 0;  // byte offset of the problem (when !ok)
  std::string error;        // what is wrong, one line, no position
  std::vector<Edit> edits;  // in increasing offset order (when ok)
};

// Scans one JSON text (one value, surrounded by optional whitespace). Extensions accepted, as
// in Stan's rapidjson reader: bare NaN, Inf, Infinity, -Inf, -Infinity (each rewritten to a
// string such as "NaN"), integers beyond 64 bits (rewritten to a real by appending ".0").
ScanResult scan(std::string_view text);

// 1-based line and column (columns count characters, not UTF-8 bytes) of a byte offset.
struct LineColumn {
  size_t line = 1;
  size_t column = 1;
};
LineColumn line_column(std::string_view text, size_t offset);

std::string apply_edits(std::string_view text, const std::vector<Edit>& edits);

}  // namespace halo::json_syntax
