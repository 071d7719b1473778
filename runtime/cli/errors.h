// The two kinds of failure a command reports to its user: one clear sentence each, never a
// stack of messages. main() prints `halo: error: <what>` and exits 1 (CliError) or 2
// (UsageError: the command line itself is wrong).
#pragma once
#include <stdexcept>
#include <string>

namespace halo::cli {

class CliError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class UsageError : public CliError {
 public:
  using CliError::CliError;
};

// Exit codes of the `halo` program.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;     // bad input (files, data, model), failed run
inline constexpr int kExitUsage = 2;       // bad command line
inline constexpr int kExitInterrupted = 130;  // stopped by SIGINT (128 + 2, the shell's convention)

}  // namespace halo::cli
