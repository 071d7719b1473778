// The text of the signature table, one entry (or distribution family) per line; the language
// is described in signatures.h. Internal to compiler/semantic.
#pragma once
#include <vector>

namespace halo::semantic {

const std::vector<const char*>& signature_table_text();

}  // namespace halo::semantic
