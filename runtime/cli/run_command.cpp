#include "cli/run_command.h"

#include <chrono>
#include <cstdio>

#include "cli/optimize.h"
#include "cli/progress.h"
#include "cli/sample.h"

namespace halo::cli {

int run_run(const RunOptions& options, const CompileFunction& compile) {
  const bool quiet = options.method == "sample" ? options.sample.quiet : options.optimize.quiet;
  ModelCache cache(options.cache_dir.empty() ? default_cache_dir() : options.cache_dir,
                   compiler_identity(), compile);
  const auto start = std::chrono::steady_clock::now();
  ModelCache::Entry entry = cache.get(options.model_file);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!quiet) {
    if (entry.hit)
      std::printf("halo run: using the cached library %s\n", entry.library.c_str());
    else
      std::printf("halo run: compiled %s in %s -> %s\n", options.model_file.c_str(),
                  format_duration(seconds).c_str(), entry.library.c_str());
    std::fflush(stdout);
  }
  if (options.method == "sample") {
    SampleOptions o = options.sample;
    o.model = entry.library;
    return run_sample(o, entry.model_name);
  }
  OptimizeOptions o = options.optimize;
  o.model = entry.library;
  return run_optimize(o, entry.model_name);
}

}  // namespace halo::cli
