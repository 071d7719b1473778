#include "frontend/frontend.h"
#include "HaloLexer.h"
#include "HaloParser.h"
namespace halo::frontend {
std::unique_ptr<ast::Program> parse(const SourceFile& file, Diagnostics& diags) { return nullptr; }
std::string dump_tokens(const SourceFile& file) { return ""; }
}
