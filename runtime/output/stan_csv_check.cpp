#include "output/stan_csv_check.h"

#include <cctype>
#include <charconv>
#include <cmath>
#include <fstream>
#include <map>
#include <sstream>
#include <string_view>
#include <variant>

namespace halo::output {
namespace {

// Python's str.strip() / lstrip(chars).
std::string strip(std::string_view s, std::string_view chars = " \t\r\n\f\v") {
  size_t b = s.find_first_not_of(chars);
  if (b == std::string_view::npos) return "";
  size_t e = s.find_last_not_of(chars);
  return std::string(s.substr(b, e - b + 1));
}
std::string lstrip(std::string_view s, std::string_view chars) {
  size_t b = s.find_first_not_of(chars);
  return b == std::string_view::npos ? "" : std::string(s.substr(b));
}
bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }
bool ends_with(std::string_view s, std::string_view p) {
  return s.size() >= p.size() && s.substr(s.size() - p.size()) == p;
}
std::vector<std::string> split(std::string_view s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    size_t k = s.find(sep, start);
    out.emplace_back(s.substr(start, k == std::string_view::npos ? s.npos : k - start));
    if (k == std::string_view::npos) return out;
    start = k + 1;
  }
}

// Python int(text) (without underscores).
bool py_int(std::string_view text, long long& out) {
  std::string s = strip(text);
  std::string_view v = s;
  if (!v.empty() && v[0] == '+') v.remove_prefix(1);
  if (v.empty()) return false;
  auto res = std::from_chars(v.data(), v.data() + v.size(), out);
  return res.ec == std::errc() && res.ptr == v.data() + v.size();
}
// Python float(text).
bool py_float(std::string_view text, double& out) {
  std::string s = strip(text);
  std::string lower;
  for (char c : s) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::string_view v = lower;
  bool negative = false;
  if (!v.empty() && (v[0] == '+' || v[0] == '-')) {
    negative = v[0] == '-';
    v.remove_prefix(1);
  }
  if (v == "inf" || v == "infinity") {
    out = negative ? -HUGE_VAL : HUGE_VAL;
    return true;
  }
  if (v == "nan") {
    out = NAN;
    return true;
  }
  if (v.empty() || v[0] == '-' || v[0] == '+') return false;
  auto res = std::from_chars(v.data(), v.data() + v.size(), out);
  if (negative) out = -out;
  return res.ec == std::errc() && res.ptr == v.data() + v.size();
}

// A config value as cmdstanpy's scan_config types it.
using ConfigValue = std::variant<long long, double, std::string>;

ConfigValue py_value(const std::string& raw) {
  long long i;
  if (py_int(raw, i)) return i;
  double d;
  if (py_float(raw, d)) return d;
  if (raw == "true") return 1LL;
  if (raw == "false") return 0LL;
  return raw;
}

std::string show(const ConfigValue& v) {
  if (auto p = std::get_if<long long>(&v)) return std::to_string(*p);
  if (auto p = std::get_if<double>(&v)) {
    std::ostringstream os;
    os << *p;
    return os.str();
  }
  return std::get<std::string>(v);
}

struct FileScan {
  std::vector<std::string> lines;  // without '\n'
  size_t pos = 0;                  // next line to read
  // readline(): "" at the end of the file (Python returns '' there too).
  std::string readline() { return pos < lines.size() ? lines[pos++] : std::string(); }
  bool at_end() const { return pos >= lines.size(); }
  size_t lineno() const { return pos; }  // 1-based number of the line last read
};

class Checker {
 public:
  explicit Checker(const std::string& path) : path_(path) {}

  std::vector<std::string> run() {
    std::ifstream in(path_, std::ios::binary);
    if (!in) return {path_ + ": cannot be opened"};
    if (!ends_with(path_, ".csv")) problem(0, "the file name must end in .csv");
    std::string line;
    while (std::getline(in, line)) file_.lines.push_back(line);

    scan_config();
    if (!config_.count("model") || !config_.count("method")) {
      problem(0, "not a Stan CSV file: the config comments need 'model' and 'method'");
      return problems_;
    }
    std::string method = show(config_["method"]);
    if (method == "sample") {
      check_sample();
    } else if (method == "optimize") {
      check_optimize();
    } else if (method == "variational") {
      check_variational();
    } else {
      problem(0, "method '" + method + "' is not one this check knows");
    }
    return problems_;
  }

  const std::map<std::string, ConfigValue>& config() const { return config_; }
  const std::string& raw_header() const { return raw_header_; }

 private:
  void problem(size_t line, const std::string& what) {
    problems_.push_back(path_ + (line ? ":" + std::to_string(line) : std::string()) + ": " + what);
  }

  // scan_config: leading lines that are non-empty after strip() and start with '#'.
  void scan_config() {
    for (;;) {
      size_t before = file_.pos;
      std::string line = strip(file_.readline());
      if (line.empty() || line[0] != '#') {
        if (line.empty() && !file_.at_end() && before < file_.lines.size()) {
          problem(before + 1, "a blank line ends the config block; cmdstanpy would take it as the header");
        }
        file_.pos = before;
        return;
      }
      if (ends_with(line, "(Default)")) {
        size_t k = line.find("(Default)");
        line.erase(k, 9);
      }
      line = lstrip(line, " #\t");
      std::vector<std::string> kv = split(line, '=');
      if (kv.size() != 2) continue;
      std::string key = strip(kv[0]);
      if (key == "file") {
        if (!ends_with(kv[1], "csv")) config_["data_file"] = strip(kv[1]);
        continue;
      }
      config_[key] = py_value(strip(kv[1]));
    }
  }

  std::vector<std::string> scan_column_names() {
    raw_header_ = strip(file_.readline());
    header_line_ = file_.lineno();
    return split(raw_header_, ',');
  }

  bool int_key(const char* key, long long& out, long long minimum) {
    auto it = config_.find(key);
    if (it == config_.end()) {
      problem(0, std::string("the config comments have no '") + key + "' (cmdstanpy needs it)");
      return false;
    }
    auto p = std::get_if<long long>(&it->second);
    if (!p || *p < minimum) {
      problem(0, std::string("'") + key + " = " + show(it->second) + "' should be an integer >= " +
                     std::to_string(minimum));
      return false;
    }
    out = *p;
    return true;
  }

  bool require(const char* key) {
    if (config_.count(key)) return true;
    problem(0, std::string("the config comments have no '") + key + "' (cmdstanpy needs it)");
    return false;
  }

  // stanio.parse_header: the columns of one variable are contiguous and, read in order, are
  // the full grid of the shape given by the last column's indices, first index fastest.
  void check_header(const std::vector<std::string>& names) {
    std::map<std::string, size_t> seen;  // variable -> index of its group
    size_t i = 0;
    while (i < names.size()) {
      const std::string& first = names[i];
      std::string base = first.substr(0, first.find('.'));
      size_t j = i;
      while (j < names.size() && names[j].substr(0, names[j].find('.')) == base) ++j;
      if (first.empty()) problem(header_line_, "an empty column name");
      if (seen.count(base)) {
        problem(header_line_, "the columns of '" + base + "' are not contiguous (stanio needs them together)");
      }
      seen[base] = i;
      // Indices of each column.
      std::vector<std::vector<long long>> idx;
      for (size_t k = i; k < j; ++k) {
        std::vector<std::string> parts = split(names[k], '.');
        std::vector<long long> v;
        for (size_t p = 1; p < parts.size(); ++p) {
          long long x;
          if (!py_int(parts[p], x) || x < 1) {
            problem(header_line_, "column '" + names[k] + "' has an index that is not a positive integer");
            return;
          }
          v.push_back(x);
        }
        idx.push_back(v);
      }
      const std::vector<long long>& shape = idx.back();
      long long total = 1;
      for (long long d : shape) total *= d;
      if (static_cast<long long>(j - i) != total) {
        problem(header_line_, "variable '" + base + "' has " + std::to_string(j - i) +
                                  " columns but its last column implies " + std::to_string(total));
      } else {
        for (size_t k = 0; k < idx.size(); ++k) {
          // Column-major unravel of k.
          std::vector<long long> expect;
          long long rest = static_cast<long long>(k);
          for (long long d : shape) {
            expect.push_back(rest % d + 1);
            rest /= d;
          }
          if (idx[k] != expect) {
            problem(header_line_, "column '" + names[i + k] +
                                      "' is out of order: columns must list the first index fastest");
            break;
          }
        }
      }
      i = j;
    }
  }

  // Python float() on every field, as cmdstanpy's _assemble_draws does.
  bool row_ok(const std::vector<std::string>& fields, size_t line) {
    for (const std::string& f : fields) {
      double x;
      if (!py_float(f, x)) {
        problem(line, "'" + f + "' is not a number Python can read");
        return false;
      }
    }
    return true;
  }

  // One pass of check_sampler_csv; false with `why` filled at the first failure.
  bool scan_sampler(bool fixed_param, long long draws_sampling_expected,
                    long long draws_warmup_expected, bool save_warmup, std::string& why,
                    size_t& why_line) {
    file_.pos = 0;
    // skip config
    for (;;) {
      size_t before = file_.pos;
      std::string line = strip(file_.readline());
      if (line.empty() || line[0] != '#') {
        file_.pos = before;
        break;
      }
    }
    std::vector<std::string> names = scan_column_names();
    size_t ncols = names.size();
    long long warmup_found = 0;
    if (!fixed_param) {
      // scan_warmup_iters
      for (;;) {
        size_t before = file_.pos;
        std::string line = strip(file_.readline());
        if (line.empty() || line[0] == '#') {
          file_.pos = before;
          break;
        }
        ++warmup_found;
      }
      // scan_hmc_params
      std::string metric = show(config_["metric"]);
      std::string line = strip(file_.readline());
      if (line != "# Adaptation terminated") {
        why = "expected '# Adaptation terminated', found '" + line + "'";
        why_line = file_.lineno();
        return false;
      }
      line = strip(file_.readline());
      std::vector<std::string> kv = split(line, '=');
      double step;
      if (kv.size() != 2 || !starts_with(kv[0], "# Step size") || !py_float(kv[1], step)) {
        why = "expected '# Step size = <number>', found '" + line + "'";
        why_line = file_.lineno();
        return false;
      }
      size_t before_metric = file_.pos;
      line = strip(file_.readline());
      if (metric == "unit_e") {
        if (!starts_with(line, "# No free parameters")) file_.pos = before_metric;
      } else {
        bool ok = (metric == "diag_e" && line == "# Diagonal elements of inverse mass matrix:") ||
                  (metric == "dense_e" && line == "# Elements of inverse mass matrix:");
        if (!ok) {
          why = "invalid or missing mass matrix lines for metric " + metric + ": found '" + line + "'";
          why_line = file_.lineno();
          return false;
        }
        line = lstrip(file_.readline(), " #\t");
        size_t n = split(line, ',').size();
        if (metric == "dense_e") {
          for (size_t r = 1; r < n; ++r) {
            line = lstrip(file_.readline(), " #\t");
            if (split(line, ',').size() != n) {
              why = "the dense inverse mass matrix needs " + std::to_string(n) + " rows of " +
                    std::to_string(n) + " values";
              why_line = file_.lineno();
              return false;
            }
          }
        }
      }
    }
    // scan_sampling_iters
    long long draws_found = 0;
    long long divergent_col = -1, treedepth_col = -1;
    for (size_t c = 0; c < ncols; ++c) {
      if (names[c] == "divergent__") divergent_col = static_cast<long long>(c);
      if (names[c] == "treedepth__") treedepth_col = static_cast<long long>(c);
    }
    if (!fixed_param && (divergent_col < 0 || treedepth_col < 0)) {
      why = "the header lacks divergent__ or treedepth__";
      why_line = header_line_;
      return false;
    }
    for (;;) {
      size_t before = file_.pos;
      std::string line = strip(file_.readline());
      if (line.empty() || line[0] == '#') {
        file_.pos = before;
        break;
      }
      ++draws_found;
      std::vector<std::string> data = split(line, ',');
      if (data.size() != ncols) {
        why = "bad draw, expecting " + std::to_string(ncols) + " items, found " + std::to_string(data.size());
        why_line = file_.lineno();
        return false;
      }
      if (!fixed_param) {
        long long v;
        if (!py_int(data[static_cast<size_t>(divergent_col)], v) ||
            !py_int(data[static_cast<size_t>(treedepth_col)], v)) {
          why = "divergent__ and treedepth__ must be written as integers (Python int() fails on '" +
                data[static_cast<size_t>(divergent_col)] + "' / '" +
                data[static_cast<size_t>(treedepth_col)] + "')";
          why_line = file_.lineno();
          return false;
        }
      }
    }
    if (draws_found != draws_sampling_expected) {
      why = "expected " + std::to_string(draws_sampling_expected) + " draws (ceil(num_samples / thin)), found " +
            std::to_string(draws_found);
      why_line = 0;
      return false;
    }
    if (save_warmup && !fixed_param && warmup_found != draws_warmup_expected) {
      why = "expected " + std::to_string(draws_warmup_expected) +
            " warmup draws (ceil(num_warmup / thin)), found " + std::to_string(warmup_found);
      why_line = 0;
      return false;
    }
    return true;
  }

  void check_sample() {
    long long num_samples = 0, num_warmup = 0, save_warmup = 0, thin = 1;
    bool ok = int_key("num_samples", num_samples, 0) & int_key("num_warmup", num_warmup, 0) &
              int_key("save_warmup", save_warmup, 0) & int_key("thin", thin, 1);
    ok &= require("max_depth") & require("metric") & require("stan_version_major") &
          require("stan_version_minor") & require("stan_version_patch");
    if (!ok) return;
    long long draws = (num_samples + thin - 1) / thin;
    long long warmup = (num_warmup + thin - 1) / thin;
    std::string why, why_fixed;
    size_t line = 0, line_fixed = 0;
    if (!scan_sampler(false, draws, warmup, save_warmup != 0, why, line) &&
        !scan_sampler(true, draws, warmup, save_warmup != 0, why_fixed, line_fixed)) {
      problem(line, "invalid or corrupt Stan CSV output: " + why);
      return;
    }
    // Every value must read as a float (cmdstanpy's _assemble_draws).
    file_.pos = 0;
    for (;;) {
      size_t before = file_.pos;
      std::string l = strip(file_.readline());
      if (l.empty() || l[0] != '#') {
        file_.pos = before;
        break;
      }
    }
    std::vector<std::string> names = scan_column_names();
    check_header(names);
    while (!file_.at_end()) {
      std::string l = strip(file_.readline());
      if (l.empty() || l[0] == '#') continue;
      if (!row_ok(split(l, ','), file_.lineno())) break;
    }
  }

  void check_optimize() {
    if (!require("algorithm") || !require("save_iterations")) return;
    std::string algorithm = show(config_["algorithm"]);
    if (algorithm != "lbfgs" && algorithm != "bfgs" && algorithm != "newton")
      problem(0, "algorithm '" + algorithm + "' is not lbfgs, bfgs or newton");
    file_.pos = 0;
    for (;;) {
      size_t before = file_.pos;
      std::string l = strip(file_.readline());
      if (l.empty() || l[0] != '#') {
        file_.pos = before;
        break;
      }
    }
    std::vector<std::string> names = scan_column_names();
    check_header(names);
    size_t rows = 0;
    while (!file_.at_end()) {
      std::string l = strip(file_.readline());
      if (l.empty()) {
        problem(file_.lineno(), "an empty line among the optimisation rows");
        return;
      }
      std::vector<std::string> f = split(l, ',');
      if (f.size() != names.size()) {
        problem(file_.lineno(), "expected " + std::to_string(names.size()) + " values, found " +
                                    std::to_string(f.size()));
        return;
      }
      if (!row_ok(f, file_.lineno())) return;
      ++rows;
    }
    if (rows == 0) problem(0, "no optimisation result row");
  }

  void check_variational() {
    bool ok = true;
    for (const char* key : {"algorithm", "iter", "grad_samples", "elbo_samples", "eta",
                            "tol_rel_obj", "eval_elbo", "output_samples"})
      ok &= require(key);
    if (!ok) return;
    file_.pos = 0;
    for (;;) {
      size_t before = file_.pos;
      std::string l = strip(file_.readline());
      if (l.empty() || l[0] != '#') {
        file_.pos = before;
        break;
      }
    }
    std::vector<std::string> names = scan_column_names();
    check_header(names);
    if (names.size() < 3 || names[0] != "lp__" || names[1] != "log_p__" || names[2] != "log_g__")
      problem(header_line_, "the header must start with lp__,log_p__,log_g__");
    std::string line = strip(lstrip(file_.readline(), " #\t"));
    if (starts_with(line, "Stepsize adaptation complete.")) {
      line = lstrip(file_.readline(), " #\t\n");
      std::vector<std::string> kv = split(line, '=');
      double eta;
      if (!starts_with(line, "eta") || kv.size() != 2 || !py_float(kv[1], eta)) {
        problem(file_.lineno(), "expected '# eta = <number>', found '" + line + "'");
        return;
      }
      line = lstrip(file_.readline(), " #\t\n");
    }
    std::vector<std::string> mean = split(strip(line), ',');
    if (mean.size() != names.size() || !row_ok(mean, file_.lineno())) {
      problem(file_.lineno(), "the first row (the mean) must have one number per column");
      return;
    }
    while (!file_.at_end()) {
      std::string l = strip(file_.readline());
      if (l.empty() || l[0] == '#') continue;
      std::vector<std::string> f = split(l, ',');
      if (f.size() != names.size()) {
        problem(file_.lineno(), "expected " + std::to_string(names.size()) + " values, found " +
                                    std::to_string(f.size()));
        return;
      }
      if (!row_ok(f, file_.lineno())) return;
    }
  }

  std::string path_;
  FileScan file_;
  std::map<std::string, ConfigValue> config_;
  std::string raw_header_;
  size_t header_line_ = 0;
  std::vector<std::string> problems_;
};

}  // namespace

std::vector<std::string> check_cmdstanpy_rules(const std::string& path) {
  return Checker(path).run();
}

std::vector<std::string> check_cmdstanpy_rules(const std::vector<std::string>& paths) {
  std::vector<std::string> problems;
  if (paths.empty()) return {"no CSV files"};
  std::map<std::string, ConfigValue> first_config;
  std::string first_header;
  for (size_t i = 0; i < paths.size(); ++i) {
    Checker c(paths[i]);
    std::vector<std::string> p = c.run();
    problems.insert(problems.end(), p.begin(), p.end());
    if (i == 0) {
      first_config = c.config();
      first_header = c.raw_header();
      continue;
    }
    // mcmc.py _validate_csv_files: the chains must agree on these.
    for (const char* key : {"stan_version_major", "stan_version_minor", "stan_version_patch",
                            "stanc_version", "model", "num_samples", "num_warmup", "save_warmup",
                            "thin", "refresh"}) {
      auto a = first_config.find(key);
      auto b = c.config().find(key);
      bool same = (a == first_config.end()) == (b == c.config().end()) &&
                  (a == first_config.end() || a->second == b->second);
      if (!same) {
        problems.push_back(paths[i] + ": '" + key + "' differs from " + paths[0]);
      }
    }
    if (c.raw_header() != first_header) {
      problems.push_back(paths[i] + ": the header differs from " + paths[0]);
    }
  }
  return problems;
}

}  // namespace halo::output
