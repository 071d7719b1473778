// The rules cmdstanpy 1.2.5 `from_csv` applies to Stan CSV files, restated in C++ so that
// every file Halo writes can be checked without Python (../../shared/ecosystem.md 2.2; read
// from cmdstanpy/utils/stancsv.py: scan_config, scan_column_names, scan_warmup_iters,
// scan_hmc_params, scan_sampling_iters, check_sampler_csv; cmdstanpy/stanfit/__init__.py
// from_csv; cmdstanpy/stanfit/mcmc.py _validate_csv_files; stanio/reshape.py parse_header).
#pragma once
#include <string>
#include <vector>

namespace halo::output {

// Problems that would make `cmdstanpy.from_csv(path)` fail or misread the file, one sentence
// each with the line number; empty when the file passes. Methods sample, optimize and
// variational are checked.
std::vector<std::string> check_cmdstanpy_rules(const std::string& path);
// Several chains of one run: each file, plus the keys and columns the chains must share.
std::vector<std::string> check_cmdstanpy_rules(const std::vector<std::string>& paths);

}  // namespace halo::output
