#include "output/stan_csv_writer.h"

#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>

namespace halo::output {

// ---------------------------------------------------------------------------------------------
// Numbers

namespace {

// Stan's default output precision: 6 significant digits (CmdStan `sig_figs = -1`).
constexpr int kDefaultSigFigs = 6;

// Width reserved after `num_samples = ` / `num_warmup = ` so that finish() can rewrite the
// value in place: any 64-bit count plus " (Default)" fits.
constexpr size_t kSlotWidth = 32;

// Rows are collected in a buffer of this size and written with one pwrite when it is full (a
// pwrite per row costs about as much as formatting the row of a small model), when the oldest
// unwritten row is older than kBatchMaxAgeNs, and by finish().
constexpr size_t kBatchBytes = 64 * 1024;
constexpr int64_t kBatchMaxAgeNs = 1000000000;

// CLOCK_MONOTONIC in nanoseconds. Async-signal-safe.
int64_t monotonic_ns() {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return static_cast<int64_t>(t.tv_sec) * 1000000000 + t.tv_nsec;
}

// Appends x to a fixed buffer; returns the end. Async-signal-safe (to_chars).
char* put_uint(char* p, char* end, uint64_t x) { return std::to_chars(p, end, x).ptr; }

char* put_text(char* p, char* end, const char* s) {
  while (*s && p < end) *p++ = *s++;
  return p;
}

std::string shortest(double x) {
  if (std::isnan(x)) return "nan";
  if (std::isinf(x)) return x > 0 ? "inf" : "-inf";
  char buf[64];
  return std::string(buf, std::to_chars(buf, buf + sizeof buf, x).ptr);
}

// All data go through positioned writes; EINTR and short writes are retried.
bool write_all_at(int fd, const char* data, size_t size, uint64_t offset) {
  while (size > 0) {
    ssize_t n = ::pwrite(fd, data, size, static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data += n;
    size -= static_cast<size_t>(n);
    offset += static_cast<uint64_t>(n);
  }
  return true;
}

std::string model_name(const std::string& model) {
  const std::string suffix = "_model";
  if (model.size() >= suffix.size() &&
      model.compare(model.size() - suffix.size(), suffix.size(), suffix) == 0)
    return model;
  return model + suffix;
}

// The config block: `# key = value`, two spaces of indent per level of CmdStan's argument tree,
// ` (Default)` when the value is CmdStan's default.
class ConfigBlock {
 public:
  void section(int depth, const std::string& key) { text += "# " + indent(depth) + key + "\n"; }
  void entry(int depth, const std::string& key, const std::string& value, bool is_default) {
    text += "# " + indent(depth) + key + " = " + value + (is_default ? " (Default)" : "") + "\n";
  }
  void entry(int depth, const std::string& key, int value, int default_value) {
    entry(depth, key, std::to_string(value), value == default_value);
  }
  void entry(int depth, const std::string& key, double value, double default_value) {
    entry(depth, key, shortest(value), value == default_value);
  }
  void entry(int depth, const std::string& key, bool value, bool default_value) {
    entry(depth, key, std::string(value ? "1" : "0"), value == default_value);
  }
  // An entry whose value finish() may rewrite: returns the offset of the value.
  uint64_t slot(int depth, const std::string& key, int value, int default_value) {
    text += "# " + indent(depth) + key + " = ";
    uint64_t offset = text.size();
    std::string v = std::to_string(value) + (value == default_value ? " (Default)" : "");
    v.resize(kSlotWidth, ' ');
    text += v + "\n";
    return offset;
  }
  void extra(const std::vector<std::pair<std::string, std::string>>& entries) {
    for (const auto& kv : entries) entry(0, kv.first, kv.second, false);
  }
  void common_tail(int id, const std::string& data_file, const std::string& init, uint64_t seed,
                   const std::string& output_file, int refresh, int sig_figs) {
    entry(0, "id", id, 1);
    section(0, "data");
    entry(1, "file", data_file, data_file.empty());
    entry(0, "init", init, init == "2");
    section(0, "random");
    entry(1, "seed", std::to_string(seed), false);
    section(0, "output");
    entry(1, "file", output_file.empty() ? std::string("output.csv") : output_file,
          output_file.empty() || output_file == "output.csv");
    entry(1, "diagnostic_file", std::string(), true);
    entry(1, "refresh", refresh, 100);
    entry(1, "sig_figs", sig_figs, -1);
  }
  std::string text;

 private:
  static std::string indent(int depth) { return std::string(2 * static_cast<size_t>(depth), ' '); }
};

void version_lines(ConfigBlock& c, const std::string& model) {
  c.entry(0, "stan_version_major", std::to_string(kStanVersionMajor), false);
  c.entry(0, "stan_version_minor", std::to_string(kStanVersionMinor), false);
  c.entry(0, "stan_version_patch", std::to_string(kStanVersionPatch), false);
  c.entry(0, "model", model_name(model), false);
}

std::string join(const std::vector<std::string>& names, size_t reserve = 0) {
  std::string out;
  out.reserve(reserve);
  for (size_t i = 0; i < names.size(); ++i) {
    if (i) out += ',';
    out += names[i];
  }
  return out;
}

void write_file_atomically(const std::string& path, const std::string& text) {
  std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw OutputError("could not create '" + tmp + "': " + std::strerror(errno));
  bool ok = write_all_at(fd, text.data(), text.size(), 0);
  int saved = errno;
  if (::close(fd) != 0 && ok) {
    ok = false;
    saved = errno;
  }
  if (!ok) {
    ::unlink(tmp.c_str());
    throw OutputError("could not write '" + tmp + "': " + std::strerror(saved));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    saved = errno;
    ::unlink(tmp.c_str());
    throw OutputError("could not rename '" + tmp + "' to '" + path + "': " + std::strerror(saved));
  }
}

}  // namespace

namespace {

// 10^0 .. 10^22: the powers of ten that doubles hold exactly.
constexpr double kExactPow10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                  1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                  1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
constexpr int kFastMaxDigits = 9;

// x * 10^s with one rounding (s in [-22, 22]: a product or quotient by an exact power of ten).
double scale_pow10(double x, int s) { return s >= 0 ? x * kExactPow10[s] : x / kExactPow10[-s]; }

// printf("%.*g", digits, x) for finite nonzero x, 1 <= digits <= kFastMaxDigits, when the
// rounding to `digits` significant digits can be decided in double arithmetic; nullptr when it
// cannot (then std::to_chars, which is exact but several times slower, does it). The scaled
// value y = |x| * 10^(digits - 1 - X) is computed with one rounding (relative error <= 2^-53,
// so absolute error < 10^digits * 2^-53); unless its fraction lies within a safe margin of 1/2
// (ties included), rounding y to the nearest integer gives the digits that exact decimal
// rounding gives. Out of range exponents (|x| below ~1e-14 or above ~1e22) are left to
// to_chars as well. `out` needs 32 bytes.
char* fast_general(char* out, double x, int digits) {
  const double a = std::fabs(x);
  if (!(a >= 1e-300)) return nullptr;  // zero, subnormal
  uint64_t bits;
  std::memcpy(&bits, &a, sizeof bits);
  const int e2 = static_cast<int>(bits >> 52) - 1023;  // a in [2^e2, 2^(e2 + 1))
  // floor(log10(2) * e2) is the decimal exponent of a or one less (78913 / 2^18 ~ log10 2).
  int e10 = (e2 * 78913) >> 18;
  const double limit = kExactPow10[digits];
  int s = digits - 1 - e10;
  if (s < -22 || s > 22) return nullptr;
  double y = scale_pow10(a, s);
  if (y >= limit) {
    ++e10;
    if (--s < -22) return nullptr;
    y = scale_pow10(a, s);
  }
  if (!(y >= limit / 10 && y < limit)) return nullptr;  // the estimate was off: let to_chars do it
  uint64_t r = static_cast<uint64_t>(y);            // floor: 0 < y < 10^9
  const double frac = y - static_cast<double>(r);  // exact
  if (std::fabs(frac - 0.5) <= limit * 4e-16) return nullptr;
  r += frac > 0.5 ? 1 : 0;
  if (r >= static_cast<uint64_t>(limit)) {  // rounded up to 10^digits: one more decade
    r /= 10;
    ++e10;
  }
  char d[kFastMaxDigits];
  for (int i = digits - 1; i >= 0; --i) {
    d[i] = static_cast<char>('0' + r % 10);
    r /= 10;
  }
  int nz = digits;  // significant digits left after dropping trailing zeros (%g drops them)
  while (nz > 1 && d[nz - 1] == '0') --nz;
  char* p = out;
  if (x < 0) *p++ = '-';
  if (e10 < -4 || e10 >= digits) {  // %e style: d.ddde+XX
    *p++ = d[0];
    if (nz > 1) {
      *p++ = '.';
      for (int i = 1; i < nz; ++i) *p++ = d[i];
    }
    *p++ = 'e';
    *p++ = e10 < 0 ? '-' : '+';
    int ex = e10 < 0 ? -e10 : e10;
    if (ex >= 100) *p++ = static_cast<char>('0' + ex / 100);
    *p++ = static_cast<char>('0' + ex / 10 % 10);
    *p++ = static_cast<char>('0' + ex % 10);
  } else if (e10 >= 0) {  // %f style with e10 + 1 integer digits
    for (int i = 0; i <= e10; ++i) *p++ = i < nz ? d[i] : '0';
    if (nz > e10 + 1) {
      *p++ = '.';
      for (int i = e10 + 1; i < nz; ++i) *p++ = d[i];
    }
  } else {  // 0.000ddd
    *p++ = '0';
    *p++ = '.';
    for (int i = -1; i > e10; --i) *p++ = '0';
    for (int i = 0; i < nz; ++i) *p++ = d[i];
  }
  return p;
}

}  // namespace

void append_value(std::string& out, double x, int sig_figs) {
  if (std::isnan(x)) {
    out += "nan";
    return;
  }
  if (std::isinf(x)) {
    out += x > 0 ? "inf" : "-inf";
    return;
  }
  char buf[64];
  int digits = sig_figs > 0 ? sig_figs : kDefaultSigFigs;
  // The same text as std::to_chars (printf's %g), about 5x faster for Stan's 6 digits: this is
  // most of a CSV row's cost, which for small models is a large part of a sampler iteration.
  char* end = digits <= kFastMaxDigits ? fast_general(buf, x, digits) : nullptr;
  if (!end) end = std::to_chars(buf, buf + sizeof buf, x, std::chars_format::general, digits).ptr;
  out.append(buf, end);
}

std::string format_value(double x, int sig_figs) {
  std::string s;
  append_value(s, x, sig_figs);
  return s;
}

// ---------------------------------------------------------------------------------------------
// Sampler output

SampleCsvWriter::SampleCsvWriter(const std::string& path, const SampleRunInfo& info,
                                 const std::vector<std::string>& names)
    : path_(path), info_(info), num_columns_(names.size()), writer_thread_(pthread_self()),
      batch_(new char[kBatchBytes]), last_flush_ns_(monotonic_ns()) {
  if (info_.thin < 1) throw OutputError("thin must be at least 1");
  ConfigBlock c;
  version_lines(c, info_.model);
  c.entry(0, "method", std::string("sample"), true);
  c.section(1, "sample");
  num_samples_slot_ = c.slot(2, "num_samples", info_.num_samples, 1000);
  num_warmup_slot_ = c.slot(2, "num_warmup", info_.num_warmup, 1000);
  c.entry(2, "save_warmup", info_.save_warmup, false);
  c.entry(2, "thin", info_.thin, 1);
  c.section(2, "adapt");
  c.entry(3, "engaged", info_.adapt_engaged, true);
  c.entry(3, "gamma", info_.gamma, 0.05);
  c.entry(3, "delta", info_.delta, 0.8);
  c.entry(3, "kappa", info_.kappa, 0.75);
  c.entry(3, "t0", info_.t0, 10.0);
  c.entry(3, "init_buffer", info_.init_buffer, 75);
  c.entry(3, "term_buffer", info_.term_buffer, 50);
  c.entry(3, "window", info_.window, 25);
  c.entry(2, "algorithm", std::string("hmc"), true);
  c.section(3, "hmc");
  c.entry(4, "engine", info_.engine, info_.engine == "nuts");
  c.section(5, info_.engine);
  c.entry(6, "max_depth", info_.max_depth, 10);
  c.entry(4, "metric", info_.metric, info_.metric == "diag_e");
  c.entry(4, "metric_file", info_.metric_file, info_.metric_file.empty());
  c.entry(4, "stepsize", info_.stepsize, 1.0);
  c.entry(4, "stepsize_jitter", info_.stepsize_jitter, 0.0);
  c.entry(2, "num_chains", info_.num_chains, 1);
  c.common_tail(info_.chain_id, info_.data_file, info_.init, info_.seed,
                info_.output_file.empty() ? path : info_.output_file, info_.refresh,
                info_.sig_figs);
  c.entry(0, "num_threads", info_.num_threads, 1);
  c.extra(info_.extra);

  std::vector<std::string> header = sampler_column_names();
  header.insert(header.end(), names.begin(), names.end());
  std::string text = std::move(c.text);
  text += join(header) + "\n";

  // Until the sampler says otherwise, the adaptation state is the initial one: the configured
  // step size and the unit metric.
  if (info_.metric == "dense_e") {
    std::vector<double> eye(info_.num_unconstrained * info_.num_unconstrained, 0.0);
    for (size_t i = 0; i < info_.num_unconstrained; ++i) eye[i * info_.num_unconstrained + i] = 1;
    pending_adaptation_[0] = adaptation_text(info_.stepsize, eye);
  } else {
    pending_adaptation_[0] =
        adaptation_text(info_.stepsize, std::vector<double>(info_.num_unconstrained, 1.0));
  }

  fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0) throw OutputError("could not create '" + path + "': " + std::strerror(errno));
  append(text.data(), text.size());
  row_.reserve(16 * (num_columns_ + 8));
}

SampleCsvWriter::~SampleCsvWriter() {
  finish();
  if (fd_ >= 0) ::close(fd_);
}

bool SampleCsvWriter::append(const char* data, size_t size) {
  return append_counted(data, size, nullptr);
}

bool SampleCsvWriter::append_counted(const char* data, size_t size,
                                     std::atomic<uint64_t>* counter) {
  if (finish_requested_.load()) {
    finish();
    return false;
  }
  writer_thread_.store(pthread_self());
  int expected = kIdle;
  if (!state_.compare_exchange_strong(expected, kWriting)) return false;
  bool ok = true;
  int saved = 0;
  if (batch_size_ + size > kBatchBytes) {
    ok = flush_batch();
    saved = errno;
  }
  if (ok && size > kBatchBytes) {  // too big to batch: written at once, after the batch
    uint64_t offset = committed_bytes_.load();
    ok = write_all_at(fd_, data, size, offset);
    saved = errno;
    if (ok) {
      committed_bytes_.store(offset + size);
      if (counter) counter->fetch_add(1);
    }
  } else if (ok) {
    std::memcpy(batch_.get() + batch_size_, data, size);
    batch_size_ += size;
    if (counter == &draws_) ++batch_draws_;
    if (counter == &warmup_draws_) ++batch_warmup_draws_;
    // Slow chains still show their rows in the file within about a second.
    if (monotonic_ns() - last_flush_ns_ > kBatchMaxAgeNs) {
      ok = flush_batch();
      saved = errno;
    }
  }
  state_.store(kIdle);
  // A finish() that came while this piece was being written (from a signal handler on this
  // thread) left the work to us.
  if (finish_requested_.load()) finish();
  if (!ok) throw OutputError("could not write to '" + path_ + "': " + std::strerror(saved));
  return true;
}

bool SampleCsvWriter::flush_batch() {
  last_flush_ns_ = monotonic_ns();
  if (batch_size_ == 0) return true;
  uint64_t offset = committed_bytes_.load();
  if (!write_all_at(fd_, batch_.get(), batch_size_, offset)) return false;
  committed_bytes_.store(offset + batch_size_);
  draws_.fetch_add(batch_draws_);
  warmup_draws_.fetch_add(batch_warmup_draws_);
  batch_size_ = 0;
  batch_draws_ = 0;
  batch_warmup_draws_ = 0;
  return true;
}

void SampleCsvWriter::format_row(const SamplerStats& s, const double* values, size_t n) {
  if (n != num_columns_) {
    throw OutputError("a draw has " + std::to_string(n) + " values but the header has " +
                      std::to_string(num_columns_) + " model columns");
  }
  int sig = info_.sig_figs;
  row_.clear();
  append_value(row_, s.lp, sig);
  row_ += ',';
  append_value(row_, s.accept_stat, sig);
  row_ += ',';
  append_value(row_, s.stepsize, sig);
  // Integer columns as integers: cmdstanpy parses treedepth__ and divergent__ with int().
  row_ += ',';
  row_ += std::to_string(s.treedepth);
  row_ += ',';
  row_ += std::to_string(s.n_leapfrog);
  row_ += s.divergent ? ",1," : ",0,";
  append_value(row_, s.energy, sig);
  for (size_t i = 0; i < n; ++i) {
    row_ += ',';
    append_value(row_, values[i], sig);
  }
  row_ += '\n';
}

bool SampleCsvWriter::write_warmup_draw(const SamplerStats& stats, const double* values,
                                        size_t n) {
  if (!info_.save_warmup) return !finished();
  if (adaptation_written_) throw OutputError("a warmup draw after the adaptation block");
  format_row(stats, values, n);
  return append_counted(row_.data(), row_.size(), &warmup_draws_);
}

bool SampleCsvWriter::write_draw(const SamplerStats& stats, const double* values, size_t n) {
  format_row(stats, values, n);
  return append_counted(row_.data(), row_.size(), &draws_);
}

std::string SampleCsvWriter::adaptation_text(double step_size,
                                             const std::vector<double>& inv_metric) const {
  std::string t = "# Adaptation terminated\n# Step size = ";
  append_value(t, step_size, info_.sig_figs);
  t += '\n';
  auto values_line = [&](const double* v, size_t n) {
    t += "# ";
    for (size_t i = 0; i < n; ++i) {
      if (i) t += ", ";
      append_value(t, v[i], info_.sig_figs);
    }
    t += '\n';
  };
  if (info_.metric == "unit_e") {
    t += "# No free parameters for unit metric\n";
  } else if (info_.metric == "dense_e") {
    t += "# Elements of inverse mass matrix:\n";
    size_t n = static_cast<size_t>(std::lround(std::sqrt(static_cast<double>(inv_metric.size()))));
    if (n * n != inv_metric.size()) {
      throw OutputError("a dense inverse metric needs n x n values, got " +
                        std::to_string(inv_metric.size()));
    }
    for (size_t r = 0; r < n; ++r) values_line(inv_metric.data() + r * n, n);
  } else {
    t += "# Diagonal elements of inverse mass matrix:\n";
    values_line(inv_metric.data(), inv_metric.size());
  }
  return t;
}

bool SampleCsvWriter::write_adaptation(double step_size, const std::vector<double>& inv_metric) {
  if (adaptation_written_) throw OutputError("the adaptation block was already written");
  std::string text = adaptation_text(step_size, inv_metric);
  bool ok = append(text.data(), text.size());
  if (ok) {
    adaptation_written_ = true;
    phase_.store(1);
  }
  return ok;
}

void SampleCsvWriter::set_current_adaptation(double step_size,
                                             const std::vector<double>& inv_metric) {
  if (state_.load() >= kFinishing || finish_requested_.load()) return;
  // Write the buffer finish() is not reading, then publish it (see the header).
  int next = 1 - pending_index_.load();
  pending_adaptation_[next] = adaptation_text(step_size, inv_metric);
  pending_index_.store(next);
}

bool SampleCsvWriter::write_timing(double warmup_seconds, double sampling_seconds) {
  std::string t = "# \n#  Elapsed Time: ";
  append_value(t, warmup_seconds);
  t += " seconds (Warm-up)\n#                ";
  append_value(t, sampling_seconds);
  t += " seconds (Sampling)\n#                ";
  append_value(t, warmup_seconds + sampling_seconds);
  t += " seconds (Total)\n# \n";
  bool ok = append(t.data(), t.size());
  if (ok) phase_.store(2);
  return ok;
}

bool SampleCsvWriter::finish() {
  finish_requested_.store(true);
  // Bounded wait for a row being written by another thread: 2 s in 1 ms steps.
  for (int attempt = 0; attempt < 2000; ++attempt) {
    int s = state_.load();
    if (s == kFinished) return true;
    if (s == kIdle) {
      int expected = kIdle;
      if (state_.compare_exchange_strong(expected, kFinishing)) {
        do_finish();
        state_.store(kFinished);
        return true;
      }
      continue;
    }
    // kWriting on this thread: we interrupted our own row (signal handler); the writer will
    // finish when the row is done. kFinishing on this thread: we interrupted our own finish.
    if (pthread_equal(pthread_self(), writer_thread_.load())) return false;
    struct timespec pause = {0, 1000000};
    nanosleep(&pause, nullptr);
  }
  return false;
}

void SampleCsvWriter::do_finish() {
  if (fd_ < 0) return;
  flush_batch();  // on failure the rows stay out of the file and out of the counts
  uint64_t end = committed_bytes_.load();
  uint64_t draws = draws_.load();
  uint64_t warmup_draws = warmup_draws_.load();
  uint64_t expected_draws =
      (static_cast<uint64_t>(info_.num_samples) + static_cast<uint64_t>(info_.thin) - 1) /
      static_cast<uint64_t>(info_.thin);
  int phase = phase_.load();
  bool complete = draws == expected_draws;
  if (!complete) {
    // The adaptation block cmdstanpy requires between warmup and draws.
    if (phase == 0 && info_.adapt_engaged && draws == 0) {
      const std::string& a = pending_adaptation_[pending_index_.load()];
      if (write_all_at(fd_, a.data(), a.size(), end)) end += a.size();
    }
    char note[160];
    char* p = note;
    char* e = note + sizeof note;
    p = put_text(p, e, "# Interrupted: ");
    p = put_uint(p, e, draws);
    p = put_text(p, e, " of ");
    p = put_uint(p, e, expected_draws);
    p = put_text(p, e, " draws written; num_samples now counts the draws present\n");
    if (write_all_at(fd_, note, static_cast<size_t>(p - note), end)) end += static_cast<uint64_t>(p - note);
    if (::ftruncate(fd_, static_cast<off_t>(end)) == 0) {
      // Rewrite the counts so that readers expect exactly the rows present.
      char slot[kSlotWidth];
      auto patch = [&](uint64_t offset, uint64_t value) {
        for (char& ch : slot) ch = ' ';
        put_uint(slot, slot + kSlotWidth, value);
        write_all_at(fd_, slot, kSlotWidth, offset);
      };
      patch(num_samples_slot_, draws * static_cast<uint64_t>(info_.thin));
      if (info_.save_warmup) patch(num_warmup_slot_, warmup_draws * static_cast<uint64_t>(info_.thin));
    }
    committed_bytes_.store(end);
  }
  ::fdatasync(fd_);
}

// ---------------------------------------------------------------------------------------------
// Optimisation and variational output

void write_optimize_csv(const std::string& path, const OptimizeRunInfo& info,
                        const std::vector<std::string>& names, double lp,
                        const std::vector<double>& values) {
  if (values.size() != names.size()) {
    throw OutputError("optimisation result has " + std::to_string(values.size()) +
                      " values for " + std::to_string(names.size()) + " columns");
  }
  ConfigBlock c;
  version_lines(c, info.model);
  c.entry(0, "method", std::string("optimize"), false);
  c.section(1, "optimize");
  c.entry(2, "algorithm", info.algorithm, info.algorithm == "lbfgs");
  if (info.algorithm == "lbfgs" || info.algorithm == "bfgs") {
    c.section(3, info.algorithm);
    c.entry(4, "init_alpha", info.init_alpha, 0.001);
    c.entry(4, "tol_obj", info.tol_obj, 1e-12);
    c.entry(4, "tol_rel_obj", info.tol_rel_obj, 1e4);
    c.entry(4, "tol_grad", info.tol_grad, 1e-8);
    c.entry(4, "tol_rel_grad", info.tol_rel_grad, 1e7);
    c.entry(4, "tol_param", info.tol_param, 1e-8);
    if (info.algorithm == "lbfgs") c.entry(4, "history_size", info.history_size, 5);
  }
  c.entry(2, "jacobian", info.jacobian, false);
  c.entry(2, "iter", info.iter, 2000);
  c.entry(2, "save_iterations", false, false);
  c.common_tail(1, info.data_file, info.init, info.seed,
                info.output_file.empty() ? path : info.output_file, 100, info.sig_figs);
  c.extra(info.extra);
  std::string text = std::move(c.text);
  std::vector<std::string> header = {"lp__"};
  header.insert(header.end(), names.begin(), names.end());
  text += join(header) + "\n";
  append_value(text, lp, info.sig_figs);
  for (double v : values) {
    text += ',';
    append_value(text, v, info.sig_figs);
  }
  text += '\n';
  write_file_atomically(path, text);
}

void write_variational_csv(const std::string& path, const VariationalRunInfo& info,
                           const std::vector<std::string>& names, double adapted_eta,
                           const std::vector<double>& mean,
                           const std::vector<VariationalDraw>& draws) {
  if (mean.size() != names.size()) {
    throw OutputError("variational mean has " + std::to_string(mean.size()) + " values for " +
                      std::to_string(names.size()) + " columns");
  }
  ConfigBlock c;
  version_lines(c, info.model);
  c.entry(0, "method", std::string("variational"), false);
  c.section(1, "variational");
  c.entry(2, "algorithm", info.algorithm, info.algorithm == "meanfield");
  c.section(3, info.algorithm);
  c.entry(2, "iter", info.iter, 10000);
  c.entry(2, "grad_samples", info.grad_samples, 1);
  c.entry(2, "elbo_samples", info.elbo_samples, 100);
  c.entry(2, "eta", info.eta, 1.0);
  c.section(2, "adapt");
  c.entry(3, "engaged", info.adapt_engaged, true);
  c.entry(3, "iter", info.adapt_iter, 50);
  c.entry(2, "tol_rel_obj", info.tol_rel_obj, 0.01);
  c.entry(2, "eval_elbo", info.eval_elbo, 100);
  c.entry(2, "output_samples", info.output_samples, 1000);
  c.common_tail(1, info.data_file, info.init, info.seed,
                info.output_file.empty() ? path : info.output_file, 100, info.sig_figs);
  c.extra(info.extra);
  std::string text = std::move(c.text);
  std::vector<std::string> header = {"lp__", "log_p__", "log_g__"};
  header.insert(header.end(), names.begin(), names.end());
  text += join(header) + "\n";
  if (info.adapt_engaged) {
    text += "# Stepsize adaptation complete.\n# eta = ";
    append_value(text, adapted_eta);
    text += '\n';
  }
  // The mean of the approximation, with lp__, log_p__, log_g__ = 0 (CmdStan's layout).
  text += "0,0,0";
  for (double v : mean) {
    text += ',';
    append_value(text, v, info.sig_figs);
  }
  text += '\n';
  for (const VariationalDraw& d : draws) {
    if (d.values.size() != names.size()) {
      throw OutputError("a variational draw has " + std::to_string(d.values.size()) +
                        " values for " + std::to_string(names.size()) + " columns");
    }
    text += "0,";  // lp__ is always 0 in CmdStan's variational output ("a legacy feature")
    append_value(text, d.log_p, info.sig_figs);
    text += ',';
    append_value(text, d.log_g, info.sig_figs);
    for (double v : d.values) {
      text += ',';
      append_value(text, v, info.sig_figs);
    }
    text += '\n';
  }
  write_file_atomically(path, text);
}

void write_metric_json(const std::string& path, double step_size, const std::string& metric_type,
                       const std::vector<double>& inv_metric) {
  auto number = [](double x) {
    if (std::isnan(x)) return std::string("\"NaN\"");
    if (std::isinf(x)) return std::string(x > 0 ? "\"Inf\"" : "\"-Inf\"");
    return format_value(x, 17);
  };
  auto list = [&](const double* v, size_t n) {
    std::string t = "[";
    for (size_t i = 0; i < n; ++i) t += (i ? ", " : "") + number(v[i]);
    return t + "]";
  };
  std::string text = "{\n  \"stepsize\": " + number(step_size) + ",\n  \"metric_type\": \"" +
                     metric_type + "\",\n  \"inv_metric\": ";
  if (metric_type == "dense_e") {
    size_t n = static_cast<size_t>(std::lround(std::sqrt(static_cast<double>(inv_metric.size()))));
    if (n * n != inv_metric.size())
      throw OutputError("a dense inverse metric needs n x n values, got " + std::to_string(inv_metric.size()));
    text += "[";
    for (size_t r = 0; r < n; ++r) text += std::string(r ? ",\n    " : "\n    ") + list(inv_metric.data() + r * n, n);
    text += "\n  ]";
  } else {
    text += list(inv_metric.data(), inv_metric.size());
  }
  text += "\n}\n";
  write_file_atomically(path, text);
}

}  // namespace halo::output
