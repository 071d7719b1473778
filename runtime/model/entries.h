// The generated half of a model library, as the runtime finds it: the halo_gen_* entry points
// and the layout JSON that haloc emits into the same shared library (docs/abi.md).
#pragma once
#include "model/generated_abi.h"

namespace halo::model {

using Entry = int32_t (*)(halo_ws* ws, void* const* args, void* const* results);

struct GeneratedEntries {
  const char* layout = nullptr;  // halo_model_layout
  Entry data = nullptr;
  Entry sizes = nullptr;
  Entry log_density = nullptr;
  Entry log_density_propto = nullptr;
  Entry log_density_grad = nullptr;
  Entry log_density_propto_grad = nullptr;
  Entry constrain = nullptr;
  Entry unconstrain = nullptr;
  Entry generated_quantities = nullptr;  // optional
  Entry prior_draw = nullptr;              // optional (libraries from older compilers lack it)
  Entry log_density_batch = nullptr;       // optional: models with a batch dimension
  Entry log_density_batch_grad = nullptr;
};

// Looks the symbols up with dlsym in the shared object that contains the runtime itself (found
// with dladdr), so that a process holding several model libraries, even loaded RTLD_GLOBAL,
// binds each runtime to its own model. Resolved once per library. Throws std::runtime_error
// naming the first missing symbol.
const GeneratedEntries& generated_entries();

}  // namespace halo::model
