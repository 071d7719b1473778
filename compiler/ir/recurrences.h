// Squares of square roots stored by the previous iteration of a loop, carried as the values
// under the roots.
#pragma once
#include "ir/ir.h"

namespace halo::ir {

// In a recursion like GARCH's
//   for (t in 2:T) sigma[t] = sqrt(alpha0 + ... + beta1 * square(sigma[t - 1]));
// square(sigma[t - 1]) is the value under the previous iteration's root. Reading it from a
// scalar carried from that iteration, instead of squaring the stored root, takes the square
// root off the chain from one step to the next (in the density and in its reverse sweep): the
// chain becomes one multiply-add a step. Conditions: a `for` loop counting up; one store to a
// one-dimensional array in the loop, at its top level, of sqrt(v) at index t + c; a load of the
// same array at t + c - 1 before that store, whose square (x * x) is used; no other writes to
// the array in the loop. The first iteration still squares the loaded value, and a negative v
// carries NaN, as square(sqrt(v)) would: results differ from squaring the root by rounding only.
// Returns the number of squares replaced.
int carry_squared_roots(Function& f);

}  // namespace halo::ir
