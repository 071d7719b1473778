#include "cli/progress.h"

#include <unistd.h>

#include <cmath>

namespace halo::cli {

namespace {

int64_t to_ns(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

}  // namespace

std::string format_duration(double seconds) {
  char buf[64];
  if (!(seconds >= 0) || !std::isfinite(seconds)) return "?";
  if (seconds < 1) {
    std::snprintf(buf, sizeof buf, "%.0f ms", seconds * 1000);
  } else if (seconds < 10) {
    std::snprintf(buf, sizeof buf, "%.1f s", seconds);
  } else if (seconds < 60) {
    std::snprintf(buf, sizeof buf, "%.0f s", seconds);
  } else if (seconds < 3600) {
    long s = std::lround(seconds);
    std::snprintf(buf, sizeof buf, "%ld min %02ld s", s / 60, s % 60);
  } else {
    long m = std::lround(seconds / 60);
    std::snprintf(buf, sizeof buf, "%ld h %02ld min", m / 60, m % 60);
  }
  return buf;
}

bool is_terminal(std::FILE* f) { return f && ::isatty(::fileno(f)) == 1; }

Progress::Progress(int num_chains, int first_chain_id, int num_warmup, int num_samples,
                   bool enabled, std::FILE* out)
    : num_warmup_(num_warmup), num_samples_(num_samples), first_chain_id_(first_chain_id),
      enabled_(enabled), out_(out), chains_(new ChainState[static_cast<size_t>(num_chains)]),
      num_chains_(num_chains), created_(std::chrono::steady_clock::now()) {}

Progress::~Progress() { stop(); }

void Progress::start() {
  if (!enabled_ || thread_.joinable()) return;
  thread_ = std::thread([this] {
    std::unique_lock<std::mutex> lock(mutex_);
    while (!stopping_) {
      lock.unlock();
      redraw();
      lock.lock();
      // 4 redraws a second: smooth enough, and negligible next to sampling.
      wake_.wait_for(lock, std::chrono::milliseconds(250), [this] { return stopping_; });
    }
  });
}

void Progress::update(int chain_id, int iteration, bool warmup, double step_size, bool divergent) {
  int index = chain_id - first_chain_id_;
  if (index < 0 || index >= num_chains_) return;
  ChainState& c = chains_[static_cast<size_t>(index)];
  int64_t now = to_ns(std::chrono::steady_clock::now());
  int64_t zero = 0;
  c.start_ns.compare_exchange_strong(zero, now, std::memory_order_relaxed);
  c.last_ns.store(now, std::memory_order_relaxed);
  c.step_size.store(step_size, std::memory_order_relaxed);
  if (divergent && !warmup) c.divergences.fetch_add(1, std::memory_order_relaxed);
  c.done.store(iteration + 1, std::memory_order_relaxed);
}

std::vector<std::string> Progress::render(std::chrono::steady_clock::time_point now) const {
  std::vector<std::string> lines;
  const int total = num_warmup_ + num_samples_;
  long all_done = 0;
  for (int i = 0; i < num_chains_; ++i) {
    const ChainState& c = chains_[static_cast<size_t>(i)];
    int done = c.done.load(std::memory_order_relaxed);
    all_done += done;
    int64_t start = c.start_ns.load(std::memory_order_relaxed);
    char line[200];
    if (start == 0) {
      std::snprintf(line, sizeof line, "chain %-3d waiting", first_chain_id_ + i);
      lines.emplace_back(line);
      continue;
    }
    double elapsed = static_cast<double>(to_ns(now) - start) * 1e-9;
    const bool warming = done < num_warmup_;
    std::string eta;
    if (done >= total) {
      eta = "done in " + format_duration(elapsed);
    } else if (done > 0) {
      double left = elapsed / done * (total - done);
      eta = format_duration(elapsed) + ", about " + format_duration(left) + " left";
    } else {
      eta = format_duration(elapsed);
    }
    std::snprintf(line, sizeof line, "chain %-3d %-8s %*d/%d %3d%%  step %-9.3g div %-5d %s",
                  first_chain_id_ + i, warming ? "warmup" : "sampling",
                  static_cast<int>(std::to_string(total).size()), done, total,
                  total > 0 ? static_cast<int>(100.0 * done / total) : 100,
                  c.step_size.load(std::memory_order_relaxed),
                  c.divergences.load(std::memory_order_relaxed), eta.c_str());
    lines.emplace_back(line);
  }
  if (num_chains_ > 1 && total > 0) {
    // The whole run: its pace so far, over every chain (waiting ones included).
    const long all_total = static_cast<long>(total) * num_chains_;
    const double elapsed = std::chrono::duration<double>(now - created_).count();
    std::string eta = format_duration(elapsed);
    if (all_done >= all_total)
      eta = "done in " + eta;
    else if (all_done > 0)
      eta += ", about " + format_duration(elapsed / static_cast<double>(all_done) *
                                          static_cast<double>(all_total - all_done)) + " left";
    char line[200];
    std::snprintf(line, sizeof line, "all chains %3d%%  %s",
                  static_cast<int>(100.0 * static_cast<double>(all_done) / static_cast<double>(all_total)),
                  eta.c_str());
    lines.emplace_back(line);
  }
  return lines;
}

void Progress::redraw() {
  std::vector<std::string> lines = render(std::chrono::steady_clock::now());
  std::string text;
  // Move to the start of the block drawn last time, then overwrite each line (ESC[nF: cursor
  // up n lines to column 1; ESC[2K: erase the line).
  if (lines_drawn_ > 0) text += "\x1b[" + std::to_string(lines_drawn_) + "F";
  for (const std::string& l : lines) text += "\x1b[2K" + l + "\n";
  std::fwrite(text.data(), 1, text.size(), out_);
  std::fflush(out_);
  lines_drawn_ = static_cast<int>(lines.size());
}

void Progress::stop() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
  redraw();
}

}  // namespace halo::cli
