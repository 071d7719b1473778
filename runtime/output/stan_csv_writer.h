// Stan CSV writers: sampler output (one file per chain), optimisation and variational output,
// in the layout CmdStan writes and cmdstanpy 1.2.5 `from_csv` / ArviZ `from_cmdstan` read
// (../../shared/ecosystem.md sections 2.1-2.3):
//   config comments (`# key = value`, indented by the argument tree, ` (Default)` where the
//   value is CmdStan's default), header, [warmup rows], adaptation comments, draws, timing.
//
// Interruption (Ctrl-C). A SampleCsvWriter collects rows in a buffer and writes it with one
// positioned write at the end of what it has committed (when the buffer is full, about once a
// second for slow chains, and in finish()), so the file always ends with complete rows and
// finish() adds the buffered ones. finish() makes the
// file a valid Stan CSV for the rows written so far: it adds the adaptation block if warmup was
// cut short (the last state given to set_current_adaptation()), rewrites `num_samples` (and
// `num_warmup` when warmup rows were saved) to match the rows present, and appends a comment
// saying the run was interrupted. For that the header reserves fixed-width room after those two
// values (readers strip the trailing spaces).
//
// finish() is async-signal-safe: it uses only atomics, pwrite, ftruncate and fdatasync on text
// prepared beforehand, never allocates or locks, and is idempotent. The recommended pattern is
// still a handler that sets a flag which each chain checks between iterations before calling
// finish(); calling finish() straight from the handler also works. If the handler interrupts
// the writing thread in the middle of a row, finish() returns false and the writing thread
// completes the finish as soon as that row is written; all later writes are ignored.
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <pthread.h>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace halo::output {

class OutputError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The CmdStan version whose CSV layout Halo writes (readers use it only to pick a layout).
inline constexpr int kStanVersionMajor = 2;
inline constexpr int kStanVersionMinor = 36;
inline constexpr int kStanVersionPatch = 0;

// Value formatting shared by all writers: `sig_figs` significant digits (-1 = Stan's default
// of 6), C locale, non-finite as Stan spells them: nan, inf, -inf.
std::string format_value(double x, int sig_figs = -1);
// Appends to `out` without allocating beyond its capacity when possible.
void append_value(std::string& out, double x, int sig_figs = -1);

// What the config block of a sampler file records. Defaults are CmdStan's.
struct SampleRunInfo {
  std::string model = "model";  // written as `<model>_model` unless it already ends so
  int num_samples = 1000;
  int num_warmup = 1000;
  bool save_warmup = false;
  int thin = 1;
  bool adapt_engaged = true;
  double gamma = 0.05, delta = 0.8, kappa = 0.75, t0 = 10;  // dual averaging (Stan)
  int init_buffer = 75, term_buffer = 50, window = 25;      // windowed adaptation (Stan)
  std::string engine = "nuts";
  int max_depth = 10;
  std::string metric = "diag_e";  // unit_e | diag_e | dense_e
  std::string metric_file;
  double stepsize = 1, stepsize_jitter = 0;
  int num_chains = 1;
  int chain_id = 1;
  std::string data_file;
  std::string init = "2";
  uint64_t seed = 0;
  std::string output_file;  // the file's own name, for the record
  std::string diagnostic_file;
  int refresh = 100;
  int sig_figs = -1;
  int num_threads = 1;
  // Size of the unconstrained space: the length of the diagonal metric line.
  size_t num_unconstrained = 0;
  // Appended after CmdStan's keys, e.g. {"halo_version", "0.1.0"}.
  std::vector<std::pair<std::string, std::string>> extra;
};

// The seven sampler columns CmdStan writes before the model's quantities.
struct SamplerStats {
  double lp = 0;
  double accept_stat = 0;
  double stepsize = 0;
  int treedepth = 0;
  int64_t n_leapfrog = 0;
  bool divergent = false;
  double energy = 0;
};

inline const std::vector<std::string>& sampler_column_names() {
  static const std::vector<std::string> names = {"lp__",         "accept_stat__", "stepsize__",
                                                 "treedepth__",  "n_leapfrog__",  "divergent__",
                                                 "energy__"};
  return names;
}

// One chain's output file. Used by one thread (the chain's); finish() may come from any thread
// or a signal handler.
class SampleCsvWriter {
 public:
  // Creates (truncates) `path` and writes the config block and the header. `names` are the
  // model's columns (`theta.1`, `L.2.1`, ...: first index fastest). Throws OutputError.
  SampleCsvWriter(const std::string& path, const SampleRunInfo& info,
                  const std::vector<std::string>& names);
  ~SampleCsvWriter();
  SampleCsvWriter(const SampleCsvWriter&) = delete;
  SampleCsvWriter& operator=(const SampleCsvWriter&) = delete;

  // A warmup row (written only when info.save_warmup) or a sampling row, `values` holding one
  // value per model column. Rows must come in order: warmup rows, write_adaptation(), draws.
  // Returns false once the writer is finished (the row is dropped). Throws OutputError on an
  // I/O error or a row of the wrong width.
  bool write_warmup_draw(const SamplerStats& stats, const double* values, size_t n);
  bool write_draw(const SamplerStats& stats, const double* values, size_t n);
  // `inv_metric`: the diagonal (diag_e, size n), the n x n matrix row-major (dense_e), or
  // empty (unit_e). Writes `# Adaptation terminated`, `# Step size = x` and the metric lines.
  bool write_adaptation(double step_size, const std::vector<double>& inv_metric);
  // What finish() writes if warmup is interrupted: call it when the step size or metric change
  // (e.g. at the end of each adaptation window). Until then: info.stepsize and a unit metric.
  void set_current_adaptation(double step_size, const std::vector<double>& inv_metric);
  // The closing timing block (CmdStan's layout).
  bool write_timing(double warmup_seconds, double sampling_seconds);

  // Makes the file a valid Stan CSV for the rows written so far (see the top of this file).
  // Idempotent and async-signal-safe. Returns true when the file is final on return.
  bool finish();
  bool finished() const { return state_.load() == kFinished; }

  // Rows in the file: buffered rows count once written (after finish(), every accepted row).
  size_t draws_written() const { return draws_.load(); }
  size_t warmup_draws_written() const { return warmup_draws_.load(); }
  const std::string& path() const { return path_; }

 private:
  enum : int { kIdle = 0, kWriting = 1, kFinishing = 2, kFinished = 3 };
  // One committed piece of text; false (and nothing written) once finishing. `counter` is
  // incremented in the same critical section as the commit, so finish() never sees a row
  // without its count.
  bool append(const char* data, size_t size);
  bool append_counted(const char* data, size_t size, std::atomic<uint64_t>* counter);
  void format_row(const SamplerStats& stats, const double* values, size_t n);
  std::string adaptation_text(double step_size, const std::vector<double>& inv_metric) const;
  void do_finish();  // async-signal-safe; caller holds the state
  // Writes the buffered text and counts its rows; caller holds the state. Async-signal-safe.
  bool flush_batch();

  std::string path_;
  SampleRunInfo info_;
  size_t num_columns_ = 0;
  int fd_ = -1;
  // The thread of the latest write: a finish() on that thread while a row is being written
  // (a signal handler that interrupted it) must not wait for itself.
  std::atomic<pthread_t> writer_thread_;
  std::string row_;  // row buffer, reused
  // Text accepted but not yet written (kBatchBytes), its size and rows; touched only by the
  // holder of state_ (kWriting or kFinishing).
  std::unique_ptr<char[]> batch_;
  size_t batch_size_ = 0;
  uint64_t batch_draws_ = 0, batch_warmup_draws_ = 0;
  int64_t last_flush_ns_ = 0;

  // Offsets of the reserved slots after `num_samples = ` and `num_warmup = `.
  uint64_t num_samples_slot_ = 0, num_warmup_slot_ = 0;
  bool adaptation_written_ = false;  // owner thread only; mirrored in phase_
  std::atomic<int> state_{kIdle};
  std::atomic<bool> finish_requested_{false};
  std::atomic<uint64_t> committed_bytes_{0};
  std::atomic<uint64_t> draws_{0};
  std::atomic<uint64_t> warmup_draws_{0};
  std::atomic<int> phase_{0};  // 0: warmup, 1: adaptation written, 2: timing written
  // Double-buffered adaptation text for finish(): the owner writes the buffer that is not
  // current, then publishes its index.
  std::string pending_adaptation_[2];
  std::atomic<int> pending_index_{0};
};

// Optimisation output (CmdStan `method = optimize`): config, header `lp__,<names>`, one row.
struct OptimizeRunInfo {
  std::string model = "model";
  std::string algorithm = "lbfgs";  // lbfgs | bfgs | newton
  bool jacobian = false;
  int iter = 2000;
  double init_alpha = 0.001, tol_obj = 1e-12, tol_rel_obj = 1e4, tol_grad = 1e-8,
         tol_rel_grad = 1e7, tol_param = 1e-8;
  int history_size = 5;
  std::string data_file;
  std::string init = "2";
  uint64_t seed = 0;
  std::string output_file;
  int sig_figs = -1;
  std::vector<std::pair<std::string, std::string>> extra;
};
// Written to `<path>.tmp` and renamed over `path`, so a reader never sees half a file.
void write_optimize_csv(const std::string& path, const OptimizeRunInfo& info,
                        const std::vector<std::string>& names, double lp,
                        const std::vector<double>& values);

// Variational output (CmdStan `method = variational`): header `lp__,log_p__,log_g__,<names>`,
// `# Stepsize adaptation complete.` / `# eta = x`, the mean row (lp__, log_p__, log_g__ = 0),
// then one row per draw with lp__ = 0.
struct VariationalRunInfo {
  std::string model = "model";
  std::string algorithm = "meanfield";  // meanfield | fullrank
  int iter = 10000, grad_samples = 1, elbo_samples = 100;
  double eta = 1;
  bool adapt_engaged = true;
  int adapt_iter = 50;
  double tol_rel_obj = 0.01;
  int eval_elbo = 100, output_samples = 1000;
  std::string data_file;
  std::string init = "2";
  uint64_t seed = 0;
  std::string output_file;
  int sig_figs = -1;
  std::vector<std::pair<std::string, std::string>> extra;
};
struct VariationalDraw {
  double log_p = 0;
  double log_g = 0;
  std::vector<double> values;
};
void write_variational_csv(const std::string& path, const VariationalRunInfo& info,
                           const std::vector<std::string>& names, double adapted_eta,
                           const std::vector<double>& mean,
                           const std::vector<VariationalDraw>& draws);

// The adapted metric as CmdStan's `save_metric=1` writes it, and as `metric_file=` reads it:
// {"stepsize": x, "metric_type": "diag_e", "inv_metric": [...]} (a matrix of rows for dense_e),
// values with 17 significant digits so that a rerun gets the same doubles. Atomic like the
// writers above.
void write_metric_json(const std::string& path, double step_size, const std::string& metric_type,
                       const std::vector<double>& inv_metric);

}  // namespace halo::output
