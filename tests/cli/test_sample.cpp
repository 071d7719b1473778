// `halo sample` end to end: a compiled model with a known posterior, the files checked against
// cmdstanpy's from_csv rules, posterior means within their Monte Carlo error, reproducibility
// across thread counts, Ctrl-C, robustness to failing densities, inits, metric files, and one
// clear message for bad input.
#include <doctest/doctest.h>
#include <sys/stat.h>

#include <cmath>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "models.h"
#include "output/stan_csv_check.h"
#include "output/stan_csv_reader.h"
#include "output/summary.h"
#include "support.h"

using namespace halo::cli::test;
using halo::output::check_cmdstanpy_rules;
using halo::output::read_stan_csv;

namespace {

struct NormalSetup {
  std::string dir, library, data;
};

NormalSetup normal_setup(const std::string& name) {
  NormalSetup s;
  s.dir = fresh_dir(name);
  s.library = compile_model(s.dir, "normal", kNormalModel);
  s.data = s.dir + "/normal.data.json";
  write_text(s.data, kNormalData);
  return s;
}

std::vector<std::string> chain_files(const std::string& dir, const std::string& name, int chains) {
  std::vector<std::string> files;
  for (int c = 1; c <= chains; ++c) files.push_back(dir + "/" + name + "-" + std::to_string(c) + ".csv");
  return files;
}

std::string joined(const std::vector<std::string>& problems) {
  std::string s;
  for (const std::string& p : problems) s += p + "\n";
  return s;
}

// The rows of a CSV that must not depend on the thread count: draws and adaptation.
std::string draws_and_adaptation(const std::string& path) {
  std::string kept;
  bool in_metric = false;
  for (const std::string& line : lines_of(slurp(path))) {
    bool keep = line.empty() || line[0] != '#' || line.rfind("# Step size", 0) == 0 || in_metric;
    in_metric = line.rfind("# Diagonal elements", 0) == 0;
    if (keep) kept += line + "\n";
  }
  return kept;
}

const halo::output::QuantitySummary& quantity(const halo::output::RunSummary& run, const std::string& name) {
  for (const auto& q : run.quantities)
    if (q.name == name) return q;
  FAIL("no quantity " << name);
  throw 0;
}

}  // namespace

TEST_CASE("sample: the normal model's posterior within Monte Carlo error and files as from_csv reads them") {
  NormalSetup s = normal_setup("sample-normal");
  const std::string out = s.dir + "/out";
  ProcessResult r = run_process({halo_program(), "sample", s.library, "--data", s.data, "--chains", "2",
                                 "--warmup", "300", "--samples", "300", "--seed", "11", "-o", out});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  // Not a terminal: no progress, the summary and the final line.
  CHECK(r.out.find("\x1b[") == std::string::npos);
  CHECK(r.out.find("Inference for model: normal") != std::string::npos);
  CHECK(r.out.find("halo sample: 2 chains x 300 draws") != std::string::npos);

  std::vector<std::string> files = chain_files(out, "normal", 2);
  CHECK(joined(check_cmdstanpy_rules(files)) == "");
  std::vector<halo::output::StanCsv> csvs;
  for (const std::string& f : files) csvs.push_back(read_stan_csv(f));
  CHECK(csvs[0].num_draws() == 300);
  CHECK(csvs[0].columns.back() == "y_new");
  REQUIRE(csvs[0].has_adaptation);
  CHECK(csvs[0].inv_metric.size() == 2);
  halo::output::RunSummary run = halo::output::summarize_run(csvs);

  // |estimate - truth| within 4 Monte Carlo standard errors (the chance of a false alarm is
  // about 6e-5 per check); sd within 5 standard errors of the sample sd, whose relative
  // standard error is sqrt((kurtosis - 1) / (4 ESS)).
  auto check_moments = [&](const std::string& name, double mean, double sd, double kurtosis) {
    const auto& q = quantity(run, name);
    INFO(name << ": mean " << q.mean << " (truth " << mean << ", mcse " << q.mcse_mean << "), sd " << q.sd
              << " (truth " << sd << "), ess " << q.ess_bulk << ", rhat " << q.rhat);
    CHECK(std::fabs(q.mean - mean) < 4 * q.mcse_mean);
    CHECK(std::fabs(q.sd - sd) < 5 * sd * std::sqrt((kurtosis - 1) / (4 * q.ess_bulk)));
    CHECK(q.rhat < 1.05);
  };
  check_moments("mu", kNormalPostMean, std::sqrt(kNormalPostVar), 3);
  check_moments("s", 1.5, std::sqrt(3.0) / 2, 5);
  check_moments("y_new", kNormalPostMean, std::sqrt(kNormalPostVar + 1), 3);

  // The run configuration and the adapted metrics.
  nlohmann::json config = nlohmann::json::parse(slurp(out + "/normal-config.json"));
  CHECK(config["seed"] == 11);
  CHECK(config["chains"] == 2);
  CHECK(config["command"].get<std::string>().find("--seed 11") != std::string::npos);
  REQUIRE(config["chain_results"].size() == 2);
  CHECK(config["chain_results"][0]["status"] == "complete");
  CHECK(config["chain_results"][1]["initial_unconstrained"].size() == 2);
  nlohmann::json metric = nlohmann::json::parse(slurp(out + "/normal-2-metric.json"));
  CHECK(metric["metric_type"] == "diag_e");
  CHECK(metric["inv_metric"].size() == 2);
  CHECK(metric["stepsize"].get<double>() == doctest::Approx(csvs[1].step_size).epsilon(1e-5));
  // No temporary files are left.
  for (const auto& entry : std::filesystem::directory_iterator(out))
    CHECK(entry.path().extension() != ".part");
}

TEST_CASE("sample: draws are identical bit for bit whatever the number of threads and depend on the seed") {
  NormalSetup s = normal_setup("sample-threads");
  auto run = [&](const std::string& threads, const std::string& seed, const std::string& out) {
    ProcessResult r = run_process({halo_program(), "sample", s.library, "--data", s.data, "--chains", "3",
                                   "--warmup", "150", "--samples", "100", "--seed", seed, "--threads", threads,
                                   "-q", "-o", s.dir + "/" + out});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
  };
  run("1", "5", "t1");
  run("2", "5", "t2");
  run("3", "5", "t3");
  run("2", "6", "other-seed");
  for (int c = 1; c <= 3; ++c) {
    const std::string name = "/normal-" + std::to_string(c) + ".csv";
    std::string one = draws_and_adaptation(s.dir + "/t1" + name);
    CHECK(one.size() > 1000);
    CHECK(one == draws_and_adaptation(s.dir + "/t2" + name));
    CHECK(one == draws_and_adaptation(s.dir + "/t3" + name));
    CHECK(one != draws_and_adaptation(s.dir + "/other-seed" + name));
  }
  // The chains differ from each other.
  CHECK(draws_and_adaptation(s.dir + "/t1/normal-1.csv") != draws_and_adaptation(s.dir + "/t1/normal-2.csv"));
}

TEST_CASE("sample: Ctrl-C stops the chains and leaves valid CSV files with the draws completed") {
  NormalSetup s = normal_setup("sample-sigint");
  const std::string out = s.dir + "/out";
  auto big_enough = [&](const std::string& path, long bytes) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 && st.st_size > bytes;
  };
  SUBCASE("during sampling") {
    ProcessResult r = run_process(
        {halo_program(), "sample", s.library, "--data", s.data, "--chains", "2", "--threads", "2", "--warmup",
         "200", "--samples", "50000000", "--seed", "3", "-o", out},
        {}, [&] { return big_enough(out + "/normal-1.csv.part", 200000) && big_enough(out + "/normal-2.csv.part", 200000); });
    INFO(r.out << r.err);
    CHECK(r.exit_code == 130);
    CHECK(r.out.find("interrupted") != std::string::npos);
    std::vector<std::string> files = chain_files(out, "normal", 2);
    for (const std::string& f : files) {
      // Each file alone: the chains stopped at different iterations, so their num_samples
      // differ and cmdstanpy would not take them as one run.
      CHECK(joined(check_cmdstanpy_rules(f)) == "");
      CHECK_FALSE(exists(f + ".part"));
      halo::output::StanCsv csv = read_stan_csv(f);
      CHECK(csv.num_draws() > 1000);
      CHECK(csv.config_number("num_samples", -1) == static_cast<double>(csv.num_draws()));
    }
    // halo summary reads them (chains of unequal length are cut to the shortest).
    ProcessResult summary = run_process({halo_program(), "summary", files[0], files[1]});
    CHECK(summary.exit_code == 0);
    CHECK(summary.out.find("mu") != std::string::npos);
    nlohmann::json config = nlohmann::json::parse(slurp(out + "/normal-config.json"));
    CHECK(config["chain_results"][0]["status"] == "interrupted");
  }
  SUBCASE("during warmup, with the warmup draws saved") {
    ProcessResult r = run_process(
        {halo_program(), "sample", s.library, "--data", s.data, "--chains", "1", "--warmup", "50000000",
         "--samples", "100", "--save-warmup", "--seed", "3", "-o", out},
        {}, [&] { return big_enough(out + "/normal-1.csv.part", 100000); });
    INFO(r.out << r.err);
    CHECK(r.exit_code == 130);
    const std::string f = out + "/normal-1.csv";
    CHECK(joined(check_cmdstanpy_rules(std::vector<std::string>{f})) == "");
    halo::output::StanCsv csv = read_stan_csv(f);
    CHECK(csv.num_warmup_rows() > 500);
    CHECK(csv.num_draws() == 0);
    CHECK(csv.config_number("num_warmup", -1) == static_cast<double>(csv.num_warmup_rows()));
    CHECK_FALSE(exists(out + "/normal-1-metric.json"));  // warmup did not finish
  }
}

TEST_CASE("sample: a non-finite log density is a divergence and never a crash") {
  const std::string dir = fresh_dir("sample-nonfinite");
  // A standard normal cut at 1.5: beyond it the log density is NaN. The mean of the truncated
  // normal is -phi(1.5) / Phi(1.5).
  const std::string library = compile_model(dir, "cut", R"(parameters { real x; }
model {
  x ~ normal(0, 1);
  if (x > 1.5) target += log(-1.0);
}
)");
  ProcessResult r = run_process({halo_program(), "sample", library, "--chains", "2", "--warmup", "500",
                                 "--samples", "1000", "--seed", "7", "-o", dir + "/out"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  std::vector<std::string> files = chain_files(dir + "/out", "cut", 2);
  CHECK(joined(check_cmdstanpy_rules(files)) == "");
  std::vector<halo::output::StanCsv> csvs;
  size_t divergences = 0;
  for (const std::string& f : files) {
    csvs.push_back(read_stan_csv(f));
    const auto& c = csvs.back();
    for (double x : c.column(static_cast<size_t>(c.column_index("x")))) CHECK(x <= 1.5);
    for (double d : c.column(static_cast<size_t>(c.column_index("divergent__")))) divergences += d != 0;
  }
  CHECK(divergences > 0);
  CHECK(r.out.find("ended with a divergence") != std::string::npos);  // the summary's warning
  halo::output::RunSummary run = halo::output::summarize_run(csvs);
  const double phi = std::exp(-1.5 * 1.5 / 2) / std::sqrt(2 * M_PI);
  const double Phi = 0.5 * std::erfc(-1.5 / std::sqrt(2.0));
  const auto& x = quantity(run, "x");
  INFO("mean " << x.mean << " mcse " << x.mcse_mean);
  CHECK(std::fabs(x.mean - (-phi / Phi)) < 5 * x.mcse_mean);
}

TEST_CASE("sample: when every initialisation fails the message is the model's and nothing is written") {
  const std::string dir = fresh_dir("sample-init-fail");
  const std::string library = compile_model(dir, "rejects", R"(parameters { real x; }
model {
  if (x > -100) reject("x must be below -100, got ", x);
  x ~ normal(0, 1);
}
)");
  ProcessResult r = run_process({halo_program(), "sample", library, "--seed", "1", "-o", dir + "/out"});
  CHECK(r.exit_code == 1);
  CHECK(lines_of(r.err).size() == 1);
  CHECK(r.err.find("initialisation failed after 100 attempts") != std::string::npos);
  CHECK(r.err.find("x must be below -100, got ") != std::string::npos);
  CHECK(std::filesystem::is_empty(dir + "/out"));
}

TEST_CASE("sample: bad input gets one message and a non-zero status and no output") {
  NormalSetup s = normal_setup("sample-bad-input");
  const std::string out = s.dir + "/out";
  auto expect_error = [&](std::vector<std::string> args, const std::string& expected) {
    args.insert(args.begin(), halo_program());
    ProcessResult r = run_process(args);
    INFO(r.err);
    CHECK(r.exit_code == 1);
    CHECK(lines_of(r.err).size() == 1);
    CHECK(r.err.find(expected) != std::string::npos);
    CHECK_FALSE(exists(out));
  };
  expect_error({"sample", s.library, "--data", s.dir + "/missing.json", "-o", out},
               "cannot read the data file");
  expect_error({"sample", s.library, "-o", out}, "the model needs data");
  write_text(s.dir + "/short.json", R"({"N": 3, "y": [1, 2], "sigma": 1, "mu0": 0, "tau0": 1})");
  expect_error({"sample", s.library, "--data", s.dir + "/short.json", "-o", out},
               "'y' has 2 elements but is declared with N = 3");
  write_text(s.dir + "/negative.json", R"({"N": 1, "y": [1], "sigma": -1, "mu0": 0, "tau0": 1})");
  expect_error({"sample", s.library, "--data", s.dir + "/negative.json", "-o", out}, "sigma");
  write_text(s.dir + "/broken.json", R"({"N": 1, "y": [1)");
  expect_error({"sample", s.library, "--data", s.dir + "/broken.json", "-o", out}, "malformed JSON");
  expect_error({"sample", s.dir + "/normal.model", "-o", out}, "must be compiled first");
  expect_error({"sample", s.data, "-o", out}, "cannot load the model library");
  write_text(s.dir + "/bad-init.json", R"({"s": -1})");
  expect_error({"sample", s.library, "--data", s.data, "--init", s.dir + "/bad-init.json", "-o", out}, "'s'");
  write_text(s.dir + "/bad-metric.json", R"({"inv_metric": [1, 2, 3]})");
  expect_error({"sample", s.library, "--data", s.data, "--metric-file", s.dir + "/bad-metric.json", "-o", out},
               "must be a vector of 2 numbers");
}

TEST_CASE("sample: init from the prior or a partial file, metric file, thinning, saved warmup, dense metric") {
  NormalSetup s = normal_setup("sample-options");
  auto run = [&](std::vector<std::string> extra, const std::string& out, const std::string& warmup = "100") {
    std::vector<std::string> args = {halo_program(), "sample", s.library, "--data", s.data, "--chains", "2",
                                     "--warmup", warmup, "--samples", "100", "--seed", "2", "-q", "-o", s.dir + "/" + out};
    args.insert(args.end(), extra.begin(), extra.end());
    ProcessResult r = run_process(args);
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(lines_of(r.out).size() == 1);  // --quiet: the final line only
    std::vector<std::string> files = chain_files(s.dir + "/" + out, "normal", 2);
    CHECK(joined(check_cmdstanpy_rules(files)) == "");
    return files;
  };
  run({"--init", "prior"}, "prior");
  {
    // One thread for three chains: each chain's clock starts when the chain does, not when its
    // prior draw was checked before the run, so the chains' times (disjoint intervals of the
    // run) add up to no more than the run's wall time. (They used to include the earlier
    // chains' time: the Elapsed Time lines of chain k counted chains 1..k.)
    ProcessResult r = run_process({halo_program(), "sample", s.library, "--data", s.data, "--chains", "3",
                                   "--threads", "1", "--init", "prior", "--warmup", "400", "--samples", "400",
                                   "--seed", "3", "-q", "-o", s.dir + "/prior-sequential"});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    nlohmann::json config = nlohmann::json::parse(slurp(s.dir + "/prior-sequential/normal-config.json"));
    double chains_total = 0;
    for (const auto& c : config["chain_results"])
      chains_total += c["warmup_seconds"].get<double>() + c["sampling_seconds"].get<double>();
    CHECK(chains_total > 0);
    CHECK(chains_total <= config["wall_seconds"].get<double>());
  }

  write_text(s.dir + "/init.json", R"({"mu": 0.5})");
  run({"--init", s.dir + "/init.json"}, "init-file");
  nlohmann::json config = nlohmann::json::parse(slurp(s.dir + "/init-file/normal-config.json"));
  auto chain1 = config["chain_results"][0]["initial_unconstrained"];
  auto chain2 = config["chain_results"][1]["initial_unconstrained"];
  CHECK(chain1[0].get<double>() == 0.5);
  CHECK(chain2[0].get<double>() == 0.5);
  CHECK(chain1[1].get<double>() != chain2[1].get<double>());  // s was drawn

  // A metric file with no warmup: the given metric and step size are used as they are.
  write_text(s.dir + "/metric.json", R"({"inv_metric": [0.25, 0.5]})");
  std::vector<std::string> files =
      run({"--metric-file", s.dir + "/metric.json", "--step-size", "0.3"}, "metric", "0");
  halo::output::StanCsv csv = read_stan_csv(files[0]);
  CHECK(csv.step_size == doctest::Approx(0.3));
  CHECK(csv.inv_metric == std::vector<double>{0.25, 0.5});

  files = run({"--thin", "3", "--save-warmup"}, "thin");
  csv = read_stan_csv(files[1]);
  CHECK(csv.num_warmup_rows() == 34);
  CHECK(csv.num_draws() == 34);

  files = run({"--metric", "dense"}, "dense");
  csv = read_stan_csv(files[0]);
  CHECK(csv.dense_metric);
  CHECK(csv.inv_metric.size() == 4);
}
