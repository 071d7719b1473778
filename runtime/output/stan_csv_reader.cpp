#include "output/stan_csv_reader.h"

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>

namespace halo::output {

long StanCsv::column_index(std::string_view name) const {
  for (size_t i = 0; i < columns.size(); ++i) {
    if (columns[i] == name) return static_cast<long>(i);
  }
  return -1;
}

std::vector<double> StanCsv::column(size_t c) const {
  size_t n = num_draws(), k = columns.size();
  std::vector<double> out(n);
  for (size_t r = 0; r < n; ++r) out[r] = draws[r * k + c];
  return out;
}

const std::string* StanCsv::config_value(std::string_view key) const {
  for (const auto& kv : config) {
    if (kv.first == key) return &kv.second;
  }
  return nullptr;
}

double StanCsv::config_number(std::string_view key, double fallback) const {
  const std::string* v = config_value(key);
  if (!v) return fallback;
  if (*v == "true") return 1;
  if (*v == "false") return 0;
  double x = 0;
  auto res = std::from_chars(v->data(), v->data() + v->size(), x);
  if (res.ec != std::errc() || res.ptr != v->data() + v->size()) return fallback;
  return x;
}

namespace {

std::string_view trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && (s[b] == ' ' || s[b] == '\t' || s[b] == '\r' || s[b] == '\n')) ++b;
  while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t' || s[e - 1] == '\r' || s[e - 1] == '\n')) --e;
  return s.substr(b, e - b);
}

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

// A comment line without its '#' and surrounding blanks.
std::string_view comment_body(std::string_view line) {
  line = trim(line);
  if (!line.empty() && line[0] == '#') line.remove_prefix(1);
  return trim(line);
}

bool parse_double(std::string_view s, double& out) {
  s = trim(s);
  if (s.empty()) return false;
  if (s[0] == '+') s.remove_prefix(1);
  auto res = std::from_chars(s.data(), s.data() + s.size(), out);
  return res.ec == std::errc() && res.ptr == s.data() + s.size();
}

bool parse_list(std::string_view s, std::vector<double>& out) {
  size_t start = 0;
  for (;;) {
    size_t comma = s.find(',', start);
    double x;
    if (!parse_double(s.substr(start, comma == std::string_view::npos ? s.npos : comma - start), x))
      return false;
    out.push_back(x);
    if (comma == std::string_view::npos) return true;
    start = comma + 1;
  }
}

class Parser {
 public:
  Parser(std::string_view text, const std::string& name) : text_(text) { csv_.path = name; }

  StanCsv run() {
    std::string_view line;
    // Config block.
    bool have_header = false;
    while (next_line(line)) {
      std::string_view t = trim(line);
      if (t.empty()) continue;
      if (t[0] != '#') {
        header(t);
        have_header = true;
        break;
      }
      config_line(comment_body(t));
    }
    if (!have_header) fail("no header line (a Stan CSV file has comments, then column names)");
    const std::string* m = csv_.config_value("method");
    csv_.method = m ? *m : "";

    std::vector<double> pending;  // rows before the adaptation block
    bool adaptation_seen = false;
    bool variational = csv_.method == "variational";
    while (next_line(line)) {
      std::string_view t = trim(line);
      if (t.empty()) continue;
      if (t[0] == '#') {
        std::string_view body = comment_body(t);
        if (body == "Adaptation terminated") {
          adaptation_seen = true;
          csv_.has_adaptation = true;
          csv_.warmup = std::move(pending);
          pending.clear();
          continue;
        }
        if (adaptation_block(body)) continue;
        if (timing(body)) continue;
        if (!body.empty()) csv_.trailing_comments.emplace_back(body);
        continue;
      }
      std::vector<double>& target = adaptation_seen ? csv_.draws : pending;
      size_t before = target.size();
      row(t, target);
      if (variational && csv_.mean_row.empty()) {
        csv_.mean_row.assign(target.begin() + static_cast<long>(before), target.end());
        target.resize(before);
      }
    }
    if (!adaptation_seen) {
      // No adaptation block (fixed_param, a non-adaptive run, optimize, variational): saved
      // warmup rows, if any, come first.
      size_t k = csv_.columns.size();
      size_t warmup_rows = 0;
      if (csv_.method == "sample" && csv_.config_number("save_warmup", 0) != 0) {
        double thin = std::max(1.0, csv_.config_number("thin", 1));
        warmup_rows = static_cast<size_t>(std::ceil(csv_.config_number("num_warmup", 0) / thin));
        warmup_rows = std::min(warmup_rows, pending.size() / k);
      }
      csv_.warmup.assign(pending.begin(), pending.begin() + static_cast<long>(warmup_rows * k));
      csv_.draws.assign(pending.begin() + static_cast<long>(warmup_rows * k), pending.end());
    }
    return std::move(csv_);
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw OutputError(csv_.path + ":" + std::to_string(line_no_) + ": " + what);
  }

  bool next_line(std::string_view& line) {
    if (pos_ >= text_.size()) return false;
    size_t nl = text_.find('\n', pos_);
    if (nl == std::string_view::npos) nl = text_.size();
    line = text_.substr(pos_, nl - pos_);
    pos_ = nl + 1;
    ++line_no_;
    return true;
  }

  void config_line(std::string_view body) {
    size_t eq = body.find('=');
    if (eq == std::string_view::npos) return;  // a section name such as "adapt"
    std::string_view key = trim(body.substr(0, eq));
    std::string_view value = trim(body.substr(eq + 1));
    const std::string_view kDefault = "(Default)";
    if (value.size() >= kDefault.size() && value.substr(value.size() - kDefault.size()) == kDefault)
      value = trim(value.substr(0, value.size() - kDefault.size()));
    csv_.config.emplace_back(std::string(key), std::string(value));
  }

  void header(std::string_view t) {
    size_t start = 0;
    for (;;) {
      size_t comma = t.find(',', start);
      std::string_view name = trim(t.substr(start, comma == std::string_view::npos ? t.npos : comma - start));
      if (name.empty()) fail("empty column name in the header");
      csv_.columns.emplace_back(name);
      if (comma == std::string_view::npos) break;
      start = comma + 1;
    }
  }

  void row(std::string_view t, std::vector<double>& out) {
    size_t k = csv_.columns.size();
    size_t start = 0, count = 0;
    for (;;) {
      size_t comma = t.find(',', start);
      std::string_view field = t.substr(start, comma == std::string_view::npos ? t.npos : comma - start);
      double x;
      if (!parse_double(field, x)) fail("'" + std::string(field.substr(0, 30)) + "' is not a number");
      out.push_back(x);
      ++count;
      if (comma == std::string_view::npos) break;
      start = comma + 1;
    }
    if (count != k) {
      out.resize(out.size() - count);
      fail("expected " + std::to_string(k) + " values (one per column), found " + std::to_string(count));
    }
  }

  // "Step size = x", the metric lines.
  bool adaptation_block(std::string_view body) {
    if (starts_with(body, "Step size")) {
      size_t eq = body.find('=');
      if (eq == std::string_view::npos || !parse_double(body.substr(eq + 1), csv_.step_size))
        fail("cannot read the step size in '" + std::string(body) + "'");
      return true;
    }
    if (body == "Diagonal elements of inverse mass matrix:") {
      std::string_view line;
      if (!next_line(line) || !parse_list(comment_body(line), csv_.inv_metric))
        fail("expected the diagonal of the inverse mass matrix");
      csv_.dense_metric = false;
      return true;
    }
    if (body == "Elements of inverse mass matrix:") {
      std::string_view line;
      if (!next_line(line) || !parse_list(comment_body(line), csv_.inv_metric))
        fail("expected the rows of the inverse mass matrix");
      size_t n = csv_.inv_metric.size();
      for (size_t r = 1; r < n; ++r) {
        size_t before = csv_.inv_metric.size();
        if (!next_line(line) || !parse_list(comment_body(line), csv_.inv_metric) ||
            csv_.inv_metric.size() - before != n)
          fail("expected " + std::to_string(n) + " rows of " + std::to_string(n) +
               " values in the inverse mass matrix");
      }
      csv_.dense_metric = true;
      return true;
    }
    if (starts_with(body, "No free parameters for unit metric")) return true;
    return false;
  }

  bool timing(std::string_view body) {
    if (starts_with(body, "Elapsed Time:")) body = trim(body.substr(13));
    double* target = nullptr;
    std::string_view suffix;
    for (auto [s, t] : {std::pair<std::string_view, double*>{"seconds (Warm-up)", &csv_.warmup_seconds},
                        {"seconds (Sampling)", &csv_.sampling_seconds},
                        {"seconds (Total)", &csv_.total_seconds}}) {
      if (body.size() > s.size() && body.substr(body.size() - s.size()) == s) {
        target = t;
        suffix = s;
      }
    }
    if (!target) return false;
    return parse_double(body.substr(0, body.size() - suffix.size()), *target);
  }

  std::string_view text_;
  size_t pos_ = 0;
  size_t line_no_ = 0;
  StanCsv csv_;
};

}  // namespace

StanCsv parse_stan_csv(std::string_view text, const std::string& name) {
  return Parser(text, name).run();
}

StanCsv read_stan_csv(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw OutputError("could not open '" + path + "': " + std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  return parse_stan_csv(ss.str(), path);
}

}  // namespace halo::output
