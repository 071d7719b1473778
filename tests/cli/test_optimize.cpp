// `halo optimize` against closed-form modes.
#include <doctest/doctest.h>

#include <cmath>

#include "output/stan_csv_check.h"
#include "output/stan_csv_reader.h"
#include "support.h"

using namespace halo::cli::test;

namespace {

// mu ~ normal(0, 10), y ~ normal(mu, 1): mode of mu = sum(y) / (N + 1 / 100) (the likelihood is
// quadratic, the prior too). s ~ gamma(3, 2): the density of s peaks at (3 - 1) / 2 = 1; the
// density of log s (with the log-Jacobian log s) peaks at s = 3 / 2. p = s^2 + mu as a
// transformed parameter.
constexpr const char* kModel = R"(data { int N; vector[N] y; }
parameters { real mu; real<lower=0> s; }
transformed parameters { real p = s * s + mu; }
model {
  mu ~ normal(0, 10);
  y ~ normal(mu, 1);
  s ~ gamma(3, 2);
}
)";

}  // namespace

TEST_CASE("optimize: the mode with and without the Jacobian in Stan's optimisation CSV") {
  const std::string dir = fresh_dir("optimize");
  const std::string library = compile_model(dir, "mode", kModel);
  write_text(dir + "/data.json", R"({"N": 4, "y": [1, 2, 3, 4.5]})");
  const double mu_mode = 10.5 / (4 + 0.01);

  for (bool jacobian : {false, true}) {
    CAPTURE(jacobian);
    const std::string out = dir + (jacobian ? "/jacobian" : "/plain");
    std::vector<std::string> args = {halo_program(), "optimize", library, "--data", dir + "/data.json",
                                     "--seed", "4", "-o", out};
    if (jacobian) args.push_back("--jacobian");
    ProcessResult r = run_process(args);
    INFO(r.out << r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(r.out.find("Convergence detected") != std::string::npos);
    const std::string csv_path = out + "/mode-optimize.csv";
    CHECK(halo::output::check_cmdstanpy_rules(csv_path).empty());
    halo::output::StanCsv csv = halo::output::read_stan_csv(csv_path);
    CHECK(csv.method == "optimize");
    REQUIRE(csv.num_draws() == 1);
    REQUIRE(csv.columns == std::vector<std::string>{"lp__", "mu", "s", "p"});
    const double s_mode = jacobian ? 1.5 : 1.0;
    // 6 significant digits in the file, and the optimiser's own tolerance.
    CHECK(csv.draws[1] == doctest::Approx(mu_mode).epsilon(2e-5));
    CHECK(csv.draws[2] == doctest::Approx(s_mode).epsilon(2e-5));
    CHECK(csv.draws[3] == doctest::Approx(s_mode * s_mode + mu_mode).epsilon(2e-5));
    CHECK(*csv.config_value("jacobian") == (jacobian ? "1" : "0"));
  }
}

TEST_CASE("optimize: a density without a maximum ends with a clear message") {
  const std::string dir = fresh_dir("optimize-unbounded");
  // The density grows without bound as x grows: the line search cannot bracket a maximum.
  const std::string library = compile_model(dir, "flat", "parameters { real x; } model { target += x; }\n");
  ProcessResult r = run_process({halo_program(), "optimize", library, "--seed", "1", "-q", "-o", dir});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 1);
  CHECK(lines_of(r.err).size() == 1);
  CHECK(r.err.find("Line search failed") != std::string::npos);
  CHECK(r.err.find("no maximum") != std::string::npos);
  CHECK(exists(dir + "/flat-optimize.csv"));  // the last point, as Stan writes it
}
