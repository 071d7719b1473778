#include "cli/interrupt.h"

#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include "cli/errors.h"

namespace halo::cli {

namespace {

sigset_t stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  return set;
}

}  // namespace

InterruptGuard::InterruptGuard(std::atomic<bool>& stop, std::function<void()> on_second)
    : stop_(stop), on_second_(std::move(on_second)) {
  // A signal whose disposition is SIG_IGN (SIGINT of a background job in a shell script) is
  // discarded when sent, blocked or not: such a run goes on, as the caller asked.
  sigset_t set = stop_signals();
  pthread_sigmask(SIG_BLOCK, &set, &previous_mask_);
  watcher_ = std::thread([this, set] {
    // Poll for the end of the run every 100 ms; a signal wakes the wait at once.
    const struct timespec period = {0, 100 * 1000 * 1000};
    while (!done_.load()) {
      siginfo_t info;
      int sig = sigtimedwait(&set, &info, &period);
      if (sig < 0) continue;  // EAGAIN (timeout) or EINTR
      int count = signals_.fetch_add(1) + 1;
      stop_.store(true);
      if (count == 1) {
        std::fprintf(stderr,
                     "\nhalo: stopping: the chains finish their current iteration and the files "
                     "are completed (press Ctrl-C again to stop at once)\n");
      } else {
        if (on_second_) on_second_();
        std::fprintf(stderr, "\nhalo: stopped at once; the files were closed as they were\n");
        std::fflush(stderr);
        ::_exit(kExitInterrupted);
      }
    }
  });
}

InterruptGuard::~InterruptGuard() {
  done_.store(true);
  if (watcher_.joinable()) watcher_.join();
  pthread_sigmask(SIG_SETMASK, &previous_mask_, nullptr);
}

}  // namespace halo::cli
