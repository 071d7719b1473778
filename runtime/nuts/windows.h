// The schedule of Stan's windowed metric adaptation (stan/mcmc/windowed_adaptation.hpp).
//
// Warmup is split into an initial buffer (step size only, while the chain finds the typical
// set), a series of metric windows whose sizes double (the metric is re-estimated from each
// window's draws at its end; the last window is stretched to the terminal buffer), and a
// terminal buffer (step size only, under the final metric). Defaults from Stan (cmdstan's adapt
// init_buffer=75, window=25, term_buffer=50): for 1000 warmup iterations the windows end after
// iterations 100, 150, 250, 450 and 950.
#pragma once
#include <vector>

namespace halo::nuts {

struct WindowSchedule {
  int num_warmup = 0;
  int init_buffer = 0;
  int term_buffer = 0;
  int base_window = 0;
  bool adapts_metric = false;  // false when there are too few warmup iterations (or no window)
  int counter = 0;             // warmup iterations completed (0-based index of the current one)
  int window_size = 0;         // size of the current window
  int window_end = -1;         // 0-based index of the current window's last iteration
};

// Stan's rules: with num_warmup < 20 the metric is not adapted; when init_buffer + base_window
// + term_buffer > num_warmup the stages become 15% / 75% / 10% of num_warmup (one window).
// Stan's own code forgets to restart its counters in that fallback, which leaves the metric
// unadapted there; we follow its stated intent and adapt over the 75% window.
// A base_window of 0 also disables metric adaptation (the intent of cmdstan's window=0).
WindowSchedule make_window_schedule(int num_warmup, int init_buffer = 75, int term_buffer = 50,
                                    int base_window = 25);

// Whether the current iteration's draw belongs to a metric window.
bool in_metric_window(const WindowSchedule& s);
// Whether the current iteration is the last of a metric window (the metric is updated after it).
bool ends_metric_window(const WindowSchedule& s);
// After a window ends: the next window doubles, and is stretched to the terminal buffer when
// the one after it would not fit (Stan's compute_next_window).
void advance_window(WindowSchedule& s);
// Moves on to the next warmup iteration.
inline void next_iteration(WindowSchedule& s) { ++s.counter; }

// The iteration counts (1-based: "after N iterations") at which metric windows end.
std::vector<int> metric_window_ends(WindowSchedule s);

}  // namespace halo::nuts
