// Progress of running chains on a terminal: one line per chain with its phase, iteration, step
// size, divergences and estimated time left, redrawn in place a few times a second by a
// background thread. Chains report with update() (lock-free, from their own threads).
// Disabled (no thread, no output) with --quiet or when the output is not a terminal.
#pragma once
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace halo::cli {

class Progress {
 public:
  Progress(int num_chains, int first_chain_id, int num_warmup, int num_samples, bool enabled,
           std::FILE* out = stdout);
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  bool enabled() const { return enabled_; }
  // Starts the redraw thread (when enabled).
  void start();
  // After iteration `iteration` (0-based: warmup, then sampling) of a chain.
  void update(int chain_id, int iteration, bool warmup, double step_size, bool divergent);
  // Stops the thread and leaves the last state on screen.
  void stop();

  // The lines as they would be drawn `now`; for tests and the redraw thread.
  std::vector<std::string> render(std::chrono::steady_clock::time_point now) const;

 private:
  struct ChainState {
    std::atomic<int> done{0};            // iterations completed
    std::atomic<int> divergences{0};     // during sampling
    std::atomic<double> step_size{0};
    std::atomic<int64_t> start_ns{0};    // steady_clock ns of the first report; 0: not started
    std::atomic<int64_t> last_ns{0};
  };
  void redraw();

  int num_warmup_, num_samples_, first_chain_id_;
  bool enabled_;
  std::FILE* out_;
  std::unique_ptr<ChainState[]> chains_;
  int num_chains_;
  std::chrono::steady_clock::time_point created_;
  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  int lines_drawn_ = 0;
};

// "350 ms", "4.2 s", "42 s", "3 min 12 s", "1 h 02 min".
std::string format_duration(double seconds);
// Whether a FILE is a terminal.
bool is_terminal(std::FILE* f);

}  // namespace halo::cli
