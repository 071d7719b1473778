// Helpers for the tests of the `halo` program: scratch directories, models compiled with the
// build's haloc, child processes (with stdout/stderr captured and SIGINT on demand).
#pragma once
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace halo::cli::test {

// A fresh (emptied) directory under the build's scratch directory.
std::string fresh_dir(const std::string& name);
std::string slurp(const std::string& path);
void write_text(const std::string& path, const std::string& text);
std::vector<std::string> lines_of(const std::string& text);
bool exists(const std::string& path);

// Writes `source` to <dir>/<name>.model and compiles it with the build's haloc into
// <dir>/<name>.so (returned). Fails the test when haloc fails.
std::string compile_model(const std::string& dir, const std::string& name, const std::string& source);

struct ProcessResult {
  int exit_code = -1;  // -1 when killed by a signal
  int signal = 0;
  std::string out, err;
};

// Runs a program (argv[0] is its path), waiting at most `timeout_s`. `env` entries are added to
// the environment. When `interrupt_when` is given it is polled every 10 ms, and the child gets
// one SIGINT the first time it returns true. The child starts with SIGINT at its default
// disposition.
ProcessResult run_process(const std::vector<std::string>& argv,
                          const std::map<std::string, std::string>& env = {},
                          const std::function<bool()>& interrupt_when = nullptr,
                          double timeout_s = 300);

// The build's programs.
std::string halo_program();
std::string haloc_program();

}  // namespace halo::cli::test
