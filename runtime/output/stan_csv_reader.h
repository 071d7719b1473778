// Stan CSV reader for Halo's and CmdStan's files (sample, optimize, variational): the config
// comments, the header, warmup rows, the adaptation block, draws and timing.
#pragma once
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "output/stan_csv_writer.h"  // OutputError

namespace halo::output {

struct StanCsv {
  std::string path;
  // `key = value` comment lines before the header, in file order, indentation and
  // " (Default)" removed. Keys repeat across sections (`file`, `iter`): config_value() returns
  // the first.
  std::vector<std::pair<std::string, std::string>> config;
  std::string method;  // "sample", "optimize", "variational", ...
  std::vector<std::string> columns;

  // Rows, row-major: row r, column c at [r * columns.size() + c].
  std::vector<double> warmup;
  std::vector<double> draws;
  // Variational output only: the first row, the mean of the approximation.
  std::vector<double> mean_row;

  bool has_adaptation = false;
  double step_size = 0;
  bool dense_metric = false;
  std::vector<double> inv_metric;  // diagonal, or n x n row-major when dense_metric

  double warmup_seconds = -1, sampling_seconds = -1, total_seconds = -1;  // -1: absent
  std::vector<std::string> trailing_comments;  // other comments after the header

  size_t num_columns() const { return columns.size(); }
  size_t num_warmup_rows() const { return columns.empty() ? 0 : warmup.size() / columns.size(); }
  size_t num_draws() const { return columns.empty() ? 0 : draws.size() / columns.size(); }
  // Index of a column, or -1.
  long column_index(std::string_view name) const;
  // The draws of one column (sampling rows only).
  std::vector<double> column(size_t c) const;
  const std::string* config_value(std::string_view key) const;
  // A config value as a number, `fallback` when absent or not a number.
  double config_number(std::string_view key, double fallback) const;
};

// Throws OutputError "<path>:<line>: <what>" for a file that is not Stan CSV.
StanCsv read_stan_csv(const std::string& path);
StanCsv parse_stan_csv(std::string_view text, const std::string& name = "<text>");

}  // namespace halo::output
