// `halo summary files...`: the summary table and diagnostics of sampler output written by Halo or
// CmdStan (runtime/output/summary.h does the statistics).
#pragma once
#include <string>
#include <vector>

#include "cli/options.h"
#include "output/summary.h"

namespace halo::cli {

// Reads the files as chains of one run; a directory stands for the sampler CSV files in it. Chains of unequal length (an interrupted run) are cut
// to the shortest, and `note` says so. Throws CliError for unreadable files, files that are not
// sampler output, or chains that do not belong together.
output::RunSummary summarize_files(const std::vector<std::string>& files, std::string* note = nullptr);

int run_summary(const SummaryOptions& options);

}  // namespace halo::cli
