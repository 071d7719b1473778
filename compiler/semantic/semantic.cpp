#include "semantic/semantic.h"
namespace halo::semantic {
std::unique_ptr<ast::Program> check(std::unique_ptr<ast::Program> program, Diagnostics& diags) { return program; }
}
