#include "cli/summary_command.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <system_error>

#include "cli/files.h"
#include "output/stan_csv_reader.h"

namespace halo::cli {

namespace {

// A directory stands for its sampler CSV files (as cmdstanpy.from_csv takes a directory); other
// CSV files there (an optimisation result) are skipped.
std::vector<output::StanCsv> read_chains(const std::vector<std::string>& args) {
  std::vector<output::StanCsv> chains;
  for (const std::string& arg : args) {
    std::error_code ec;
    if (!std::filesystem::is_directory(arg, ec)) {
      require_readable_file(arg, "CSV file");
      try {
        chains.push_back(output::read_stan_csv(arg));
      } catch (const std::exception& e) {
        throw CliError(std::string("'") + arg + "' is not a Stan CSV file: " + e.what());
      }
      continue;
    }
    std::vector<std::string> found;
    for (const auto& entry : std::filesystem::directory_iterator(arg, ec))
      if (entry.is_regular_file() && entry.path().extension() == ".csv") found.push_back(entry.path().string());
    std::sort(found.begin(), found.end());
    size_t taken = 0;
    for (const std::string& f : found) {
      try {
        output::StanCsv csv = output::read_stan_csv(f);
        if (csv.method != "sample") continue;
        chains.push_back(std::move(csv));
        ++taken;
      } catch (const std::exception&) {
        // Not Stan CSV: not part of the run.
      }
    }
    if (taken == 0) throw CliError("the directory '" + arg + "' holds no sampler CSV files");
  }
  return chains;
}

}  // namespace

output::RunSummary summarize_files(const std::vector<std::string>& files, std::string* note) {
  if (files.empty()) throw UsageError("summary: give one or more Stan CSV files");
  std::vector<output::StanCsv> chains = read_chains(files);
  for (const output::StanCsv& c : chains) {
    const std::string& f = c.path;
    if (c.method != "sample")
      throw CliError("'" + f + "' holds " + (c.method.empty() ? std::string("no method") : "method = " + c.method) +
                     " output; halo summary reads sampler output (method = sample)");
  }
  size_t shortest = chains[0].num_draws();
  size_t longest = shortest;
  for (const output::StanCsv& c : chains) {
    shortest = std::min(shortest, c.num_draws());
    longest = std::max(longest, c.num_draws());
  }
  if (shortest == 0) {
    for (const output::StanCsv& c : chains)
      if (c.num_draws() == 0) throw CliError("'" + c.path + "' has no draws to summarise");
  }
  if (shortest != longest) {
    for (output::StanCsv& c : chains) c.draws.resize(shortest * c.num_columns());
    if (note)
      *note = "The chains have between " + std::to_string(shortest) + " and " + std::to_string(longest) +
              " draws (an interrupted run?): each is cut to its first " + std::to_string(shortest) + ".";
  }
  try {
    return output::summarize_run(chains);
  } catch (const std::exception& e) {
    throw CliError(e.what());
  }
}

int run_summary(const SummaryOptions& options) {
  std::string note;
  output::RunSummary summary = summarize_files(options.files, &note);
  if (!note.empty()) std::printf("%s\n\n", note.c_str());
  std::printf("%s", output::format_summary(summary).c_str());
  std::fflush(stdout);
  return kExitOk;
}

}  // namespace halo::cli
