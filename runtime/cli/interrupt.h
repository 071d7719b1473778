// Ctrl-C during a run. SIGINT and SIGTERM are blocked in the thread that creates the guard (and
// so in every thread it starts afterwards: chains, progress) and taken by a watcher thread with
// sigtimedwait, so no work happens in signal-handler context. The first signal sets the stop
// flag that every chain checks before each iteration: chains end cleanly and their files are
// completed by the normal path. A second signal means "now": the watcher runs `on_second`
// (which closes the files as they are) and exits the process with status 130.
#pragma once
#include <signal.h>

#include <atomic>
#include <functional>
#include <thread>

namespace halo::cli {

class InterruptGuard {
 public:
  InterruptGuard(std::atomic<bool>& stop, std::function<void()> on_second = nullptr);
  // Stops the watcher and restores the signal mask.
  ~InterruptGuard();
  InterruptGuard(const InterruptGuard&) = delete;
  InterruptGuard& operator=(const InterruptGuard&) = delete;
  bool interrupted() const { return signals_.load() > 0; }

 private:
  std::atomic<bool>& stop_;
  std::function<void()> on_second_;
  std::atomic<bool> done_{false};
  std::atomic<int> signals_{0};
  sigset_t previous_mask_;
  std::thread watcher_;
};

}  // namespace halo::cli
