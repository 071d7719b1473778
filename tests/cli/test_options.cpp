// The command line: defaults, values, and one clear message for each kind of bad option.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "cli/init.h"
#include "cli/options.h"
#include "support.h"

using namespace halo::cli;

namespace {

std::string usage_error(const std::vector<std::string>& args) {
  try {
    parse_command_line(args);
  } catch (const UsageError& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST_CASE("options: sample defaults are CmdStan's") {
  Command c = parse_command_line({"sample", "m.so"});
  REQUIRE(c.kind == Command::Kind::Sample);
  CHECK(c.sample.model == "m.so");
  CHECK(c.sample.chains == 4);
  CHECK(c.sample.warmup == 1000);
  CHECK(c.sample.samples == 1000);
  CHECK(c.sample.thin == 1);
  CHECK(c.sample.max_depth == 10);
  CHECK(c.sample.delta == doctest::Approx(0.8));
  CHECK(c.sample.metric == "diag");
  CHECK(c.sample.init == "2");
  CHECK_FALSE(c.sample.seed.has_value());
  CHECK_FALSE(c.sample.save_warmup);
  CHECK_FALSE(c.sample.quiet);
}

TEST_CASE("options: sample with every option") {
  Command c = parse_command_line({"sample", "m.so", "--data", "d.json", "--init", "prior", "--chains", "2",
                                  "--threads", "3", "--warmup", "10", "--samples", "20", "--thin", "2",
                                  "--seed", "18446744073709551615", "--max-depth", "12", "--delta", "0.95",
                                  "--metric", "dense_e", "-o", "out", "--save-warmup", "--quiet",
                                  "--step-size", "0.5", "--step-size-jitter", "0.1", "--sig-figs", "9"});
  REQUIRE(c.kind == Command::Kind::Sample);
  CHECK(c.sample.data == "d.json");
  CHECK(c.sample.init == "prior");
  CHECK(c.sample.chains == 2);
  CHECK(c.sample.threads == 3);
  CHECK(c.sample.warmup == 10);
  CHECK(c.sample.samples == 20);
  CHECK(c.sample.thin == 2);
  REQUIRE(c.sample.seed.has_value());
  CHECK(*c.sample.seed == 18446744073709551615ULL);
  CHECK(c.sample.max_depth == 12);
  CHECK(c.sample.delta == doctest::Approx(0.95));
  CHECK(c.sample.metric == "dense");  // Stan's name accepted
  CHECK(c.sample.output_dir == "out");
  CHECK(c.sample.save_warmup);
  CHECK(c.sample.quiet);
  CHECK(c.sample.step_size == doctest::Approx(0.5));
  CHECK(c.sample.step_size_jitter == doctest::Approx(0.1));
  CHECK(c.sample.sig_figs == 9);
}

TEST_CASE("options: each bad option gets one message naming it") {
  CHECK(usage_error({}).find("subcommand is required") != std::string::npos);
  CHECK(usage_error({"sampel", "m.so"}).find("sampel") != std::string::npos);
  CHECK(usage_error({"sample"}).find("model is required") != std::string::npos);
  CHECK(usage_error({"sample", "m.so", "--chains", "0"}) == "--chains: must be at least 1, got 0");
  CHECK(usage_error({"sample", "m.so", "--chains", "four"}).find("four") != std::string::npos);
  CHECK(usage_error({"sample", "m.so", "--threads", "-1"}).find("--threads") == 0);
  CHECK(usage_error({"sample", "m.so", "--warmup", "-5"}) == "--warmup: must be 0 or more, got -5");
  CHECK(usage_error({"sample", "m.so", "--thin", "0"}) == "--thin: must be at least 1, got 0");
  CHECK(usage_error({"sample", "m.so", "--delta", "1.5"}) ==
        "--delta: must lie strictly between 0 and 1, got 1.5");
  CHECK(usage_error({"sample", "m.so", "--max-depth", "0"}).find("--max-depth") == 0);
  CHECK(usage_error({"sample", "m.so", "--metric", "full"}).find("--metric") != std::string::npos);
  CHECK(usage_error({"sample", "m.so", "--init", "abc"}).find("--init: expected a radius") == 0);
  CHECK(usage_error({"sample", "m.so", "--init", "-1"}).find("--init") == 0);
  CHECK(usage_error({"sample", "m.so", "--step-size", "0"}).find("--step-size") == 0);
  CHECK(usage_error({"sample", "m.so", "--step-size-jitter", "1"}).find("--step-size-jitter") == 0);
  CHECK(usage_error({"sample", "m.so", "--metric", "unit", "--metric-file", "m.json"}).find("--metric-file") == 0);
  CHECK(usage_error({"sample", "m.so", "--warmup", "0", "--samples", "0"}).find("nothing to do") !=
        std::string::npos);
  CHECK(usage_error({"sample", "m.so", "--bogus"}).find("--bogus") != std::string::npos);
  CHECK(usage_error({"sample", "m.so", "--seed", "-3"}).find("--seed: expected a non-negative integer") == 0);
  CHECK(usage_error({"sample", "m.so", "--seed", "99999999999999999999"}).find("--seed") == 0);
  CHECK(usage_error({"optimize", "m.so", "--iter", "0"}) == "--iter: must be at least 1, got 0");
  CHECK(usage_error({"optimize", "m.so", "--history-size", "0"}).find("--history-size") == 0);
  CHECK(usage_error({"summary"}).find("files is required") != std::string::npos);
  CHECK(usage_error({"run", "m.model"}).find("subcommand") != std::string::npos);
}

TEST_CASE("options: optimize and summary and run") {
  Command o = parse_command_line({"optimize", "m.so", "--jacobian", "--iter", "50", "--seed", "4"});
  REQUIRE(o.kind == Command::Kind::Optimize);
  CHECK(o.optimize.jacobian);
  CHECK(o.optimize.iterations == 50);
  CHECK(*o.optimize.seed == 4);
  CHECK(o.optimize.tol_rel_grad == doctest::Approx(1e7));  // CmdStan's defaults
  CHECK(o.optimize.history_size == 5);

  Command s = parse_command_line({"summary", "a.csv", "b.csv"});
  REQUIRE(s.kind == Command::Kind::Summary);
  CHECK(s.summary.files == std::vector<std::string>{"a.csv", "b.csv"});

  Command r = parse_command_line({"run", "m.model", "--cache-dir", "c", "sample", "--chains", "2", "--seed", "9"});
  REQUIRE(r.kind == Command::Kind::Run);
  CHECK(r.run.method == "sample");
  CHECK(r.run.model_file == "m.model");
  CHECK(r.run.cache_dir == "c");
  CHECK(r.run.sample.model == "m.model");
  CHECK(r.run.sample.chains == 2);
  CHECK(*r.run.sample.seed == 9);

  Command ro = parse_command_line({"run", "m.model", "optimize", "--jacobian"});
  CHECK(ro.run.method == "optimize");
  CHECK(ro.run.optimize.jacobian);

  Command h = parse_command_line({"sample", "--help"});
  CHECK(h.kind == Command::Kind::Help);
  CHECK(h.text.find("--max-depth") != std::string::npos);
}

TEST_CASE("options: --init forms") {
  CHECK(parse_init("2").kind == InitChoice::Kind::Radius);
  CHECK(parse_init("0").radius == 0);
  CHECK(parse_init("0.5").radius == doctest::Approx(0.5));
  CHECK(parse_init("prior").kind == InitChoice::Kind::Prior);
  CHECK(parse_init("inits.json").kind == InitChoice::Kind::File);
  CHECK_THROWS_AS(parse_init("x"), UsageError);
  CHECK_THROWS_AS(parse_init("inf"), UsageError);
}

TEST_CASE("halo: a usage error is one message and exit status 2, a missing file exit status 1") {
  using namespace halo::cli::test;
  ProcessResult r = run_process({halo_program(), "sample", "m.so", "--chains", "0"});
  CHECK(r.exit_code == 2);
  CHECK(r.out.empty());
  CHECK(r.err.find("halo sample: error: --chains: must be at least 1, got 0\n") == 0);
  CHECK(lines_of(r.err).size() == 2);  // the message and where to find help

  ProcessResult missing = run_process({halo_program(), "sample", "/nonexistent/m.so"});
  CHECK(missing.exit_code == 1);
  CHECK(missing.err == "halo sample: error: cannot open the model library '/nonexistent/m.so': No "
                       "such file or directory\n");

  ProcessResult version = run_process({halo_program(), "--version"});
  CHECK(version.exit_code == 0);
  CHECK(version.out.find("halo ") == 0);
}

// Code generation, seen through `haloc --dump=llvm`: an element of a var written by an outer
// loop and read in an inner loop that does not write it (log_forward[t - 1, j]) is a volatile
// (scalar) load; one read in the writing loop itself (e[t - 1]) is an ordinary load, which LLVM
// forwards from the previous iteration.
TEST_CASE("haloc: recurrence rows read in an inner loop stay scalar loads") {
  const std::string dir = halo::cli::test::fresh_dir("volatile_rows");
  const std::string model = dir + "/rows.model";
  halo::cli::test::write_text(model, R"(
data {
  int<lower=1> N;
  int<lower=1> K;
  vector[N] y;
}
parameters {
  real mu;
}
model {
  array[N] vector[K] f;
  vector[N] e;
  f[1] = rep_vector(0, K);
  e[1] = 0;
  for (t in 2:N) {
    for (k in 1:K) {
      real s = 0;
      for (j in 1:K) s += f[t - 1, j] * 0.5;
      f[t, k] = s + mu;
    }
    e[t] = 0.5 * e[t - 1] + y[t] - mu;
  }
  target += -0.5 * dot_self(e) + sum(f[N]);
}
)");
  halo::cli::test::ProcessResult r = halo::cli::test::run_process({halo::cli::test::haloc_program(), model, "--dump=llvm"});
  REQUIRE(r.exit_code == 0);
  size_t volatile_loads = 0;
  for (size_t at = r.out.find("load volatile double"); at != std::string::npos; at = r.out.find("load volatile double", at + 1))
    ++volatile_loads;
  CHECK(volatile_loads > 0);
  // Every volatile load reads f: e's loads are not volatile (the dump names no values, so
  // count them against a model without the inner loop over f).
  halo::cli::test::write_text(model, R"(
data {
  int<lower=1> N;
  vector[N] y;
}
parameters {
  real mu;
}
model {
  vector[N] e;
  e[1] = 0;
  for (t in 2:N) e[t] = 0.5 * e[t - 1] + y[t] - mu;
  target += -0.5 * dot_self(e);
}
)");
  r = halo::cli::test::run_process({halo::cli::test::haloc_program(), model, "--dump=llvm"});
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("load volatile") == std::string::npos);
}
