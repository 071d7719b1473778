// Reverse-mode automatic differentiation as a source transformation of the IR.
//
// differentiate(f, wrt) returns a new function with f's parameters whose body runs f (the
// forward sweep, instrumented to push the values the reverse sweep needs from inside loops and
// branches) followed by the reverse sweep, and returns (f's first result, the gradient with
// respect to parameter `wrt`). No tape of operations and no global state: the generated code
// is ordinary straight-line and loop code. The rules are in docs/architecture.md.
#pragma once
#include <optional>
#include <string>

#include "ir/ir.h"

namespace halo::ad {

// `wrt` is the index of a vector parameter of `f`; f's first result must be an f64.
// Returns nullopt with `error` set for IR the transformation does not support.
std::optional<ir::Function> differentiate(const ir::Function& f, int wrt, std::string& error);

}  // namespace halo::ad
