#include "nuts/windows.h"

namespace halo::nuts {

WindowSchedule make_window_schedule(int num_warmup, int init_buffer, int term_buffer,
                                    int base_window) {
  WindowSchedule s;
  s.num_warmup = num_warmup;
  if (num_warmup < 20) return s;  // from Stan: "No estimation is performed for num_warmup < 20"
  if (init_buffer + base_window + term_buffer > num_warmup) {
    // From Stan: 15% / 75% / 10% (truncated to integers as Stan's unsigned conversion does).
    s.init_buffer = static_cast<int>(0.15 * num_warmup);
    s.term_buffer = static_cast<int>(0.10 * num_warmup);
    s.base_window = num_warmup - (s.init_buffer + s.term_buffer);
  } else {
    s.init_buffer = init_buffer;
    s.term_buffer = term_buffer;
    s.base_window = base_window;
  }
  if (s.base_window <= 0) return s;
  s.adapts_metric = true;
  s.counter = 0;
  s.window_size = s.base_window;
  s.window_end = s.init_buffer + s.window_size - 1;
  return s;
}

bool in_metric_window(const WindowSchedule& s) {
  return s.adapts_metric && s.counter >= s.init_buffer &&
         s.counter < s.num_warmup - s.term_buffer && s.counter != s.num_warmup;
}

bool ends_metric_window(const WindowSchedule& s) {
  return s.adapts_metric && s.counter == s.window_end && s.counter != s.num_warmup;
}

void advance_window(WindowSchedule& s) {
  const int last_window_end = s.num_warmup - s.term_buffer - 1;
  if (s.window_end == last_window_end) return;
  s.window_size *= 2;
  s.window_end = s.counter + s.window_size;
  if (s.window_end == last_window_end) return;
  // Stretch this window to the terminal buffer if the following one would overrun it.
  const int following_window_end = s.window_end + 2 * s.window_size;
  if (following_window_end >= s.num_warmup - s.term_buffer) s.window_end = last_window_end;
}

std::vector<int> metric_window_ends(WindowSchedule s) {
  std::vector<int> ends;
  for (; s.counter < s.num_warmup; next_iteration(s)) {
    if (ends_metric_window(s)) {
      ends.push_back(s.counter + 1);
      advance_window(s);
    }
  }
  return ends;
}

}  // namespace halo::nuts
