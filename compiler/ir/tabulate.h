// Loop-invariant calls that vary only with inner loops' indices, computed once into a table.
#pragma once
#include "ir/ir.h"

namespace halo::ir {

// In `for (t ...) { for (k ...) { for (j ...) { ... log(theta[j, k]) ... } } }` the call does not
// depend on t, but LLVM cannot hoist it: it varies with j and k. For each such call (a stdlib
// scalar function of values that are invariant in the outer loop and of the indices of loops
// nested directly in it, whose bounds are invariant too), the outer loop is preceded by the same
// loop nest filling a table, and the call becomes a read of the table (an HMM's forward
// algorithm: one log per transition instead of one per transition and time step). The table
// has no rows when the outer loop does not run; the index checks of the inner loops' bodies are
// repeated in the nest that fills it. Returns the number of calls tabulated.
int tabulate_invariant_calls(Function& f);

}  // namespace halo::ir
