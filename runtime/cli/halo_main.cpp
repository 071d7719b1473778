// halo: the driver. Parses the command line (cli/options.h) and runs one command; every failure
// becomes one message on stderr and a non-zero exit status (cli/errors.h).
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "cli/compile_source.h"
#include "cli/errors.h"
#include "cli/optimize.h"
#include "cli/options.h"
#include "cli/run_command.h"
#include "cli/sample.h"
#include "cli/summary_command.h"

int main(int argc, char** argv) {
  using namespace halo::cli;
  std::vector<std::string> args(argv + 1, argv + argc);
  const std::string command = args.empty() ? "" : args[0];
  const std::string who = command == "sample" || command == "optimize" || command == "summary" || command == "run"
                              ? "halo " + command
                              : "halo";
  try {
    Command c = parse_command_line(args);
    switch (c.kind) {
      case Command::Kind::Help:
      case Command::Kind::Version: std::fputs(c.text.c_str(), stdout); return kExitOk;
      case Command::Kind::Sample: return run_sample(c.sample);
      case Command::Kind::Optimize: return run_optimize(c.optimize);
      case Command::Kind::Summary: return run_summary(c.summary);
      case Command::Kind::Run: return run_run(c.run, compile_model_source);
    }
  } catch (const UsageError& e) {
    std::fprintf(stderr, "%s: error: %s\n", who.c_str(), e.what());
    std::fprintf(stderr, "Run '%s --help' for the options.\n", who.c_str());
    return kExitUsage;
  } catch (const CliError& e) {
    std::fprintf(stderr, "%s: error: %s\n", who.c_str(), e.what());
    return kExitFailure;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: internal error: %s\n", who.c_str(), e.what());
    return kExitFailure;
  }
  return kExitFailure;
}
