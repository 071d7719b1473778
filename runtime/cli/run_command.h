// `halo run model.model sample|optimize ...`: compile through the cache (model_cache.h), then run
// the method on the library, with the .model file's stem as the model name.
#pragma once
#include "cli/model_cache.h"
#include "cli/options.h"

namespace halo::cli {

int run_run(const RunOptions& options, const CompileFunction& compile);

}  // namespace halo::cli
