// `halo summary` on CmdStan's layout (a fixture, tests/cli/fixtures) and on bad input.
#include <doctest/doctest.h>

#include <cstdio>

#include "output/stan_csv_reader.h"
#include "support.h"

using namespace halo::cli::test;

namespace {

std::string fixture(const std::string& name) { return std::string(HALO_TEST_FIXTURE_DIR) + "/" + name; }

}  // namespace

TEST_CASE("summary: CmdStan's files with every warning in plain words") {
  ProcessResult r = run_process({halo_program(), "summary", fixture("cmdstan-1.csv"), fixture("cmdstan-2.csv")});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("Inference for model: bernoulli_model") != std::string::npos);
  CHECK(r.out.find("2 chains, 200 draws each") != std::string::npos);
  // The mean of theta over both chains, as the table prints it (4 significant digits).
  double sum = 0;
  size_t n = 0;
  for (const char* f : {"cmdstan-1.csv", "cmdstan-2.csv"}) {
    halo::output::StanCsv csv = halo::output::read_stan_csv(fixture(f));
    for (double x : csv.column(static_cast<size_t>(csv.column_index("theta")))) {
      sum += x;
      ++n;
    }
  }
  char mean[32];
  std::snprintf(mean, sizeof mean, "%.4g", sum / static_cast<double>(n));
  bool found = false;
  for (const std::string& line : lines_of(r.out))
    if (line.rfind("theta ", 0) == 0) found = line.find(mean) != std::string::npos;
  CHECK(found);
  for (const char* warning : {"R-hat is above 1.01", "Bulk ESS is below", "Tail ESS is below",
                              "ended with a divergence", "hit the maximum tree depth of 10",
                              "Chain 2 has E-BFMI"})
    CHECK(r.out.find(warning) != std::string::npos);
}

TEST_CASE("summary: chains of unequal length are cut to the shortest with a note") {
  const std::string dir = fresh_dir("summary-unequal");
  std::string text;
  int draws = 0;
  for (const std::string& line : lines_of(slurp(fixture("cmdstan-2.csv")))) {
    bool is_draw = !line.empty() && line[0] != '#' && line.rfind("lp__", 0) != 0;
    if (is_draw && ++draws > 150) continue;
    text += line + "\n";
  }
  write_text(dir + "/short.csv", text);
  ProcessResult r = run_process({halo_program(), "summary", fixture("cmdstan-1.csv"), dir + "/short.csv"});
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("between 150 and 200 draws") != std::string::npos);
  CHECK(r.out.find("2 chains, 150 draws each") != std::string::npos);
}

TEST_CASE("summary: bad files get one message") {
  const std::string dir = fresh_dir("summary-bad");
  write_text(dir + "/not.csv", "hello\n1,2\n");
  ProcessResult r = run_process({halo_program(), "summary", dir + "/not.csv"});
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("is not a Stan CSV file") != std::string::npos);
  r = run_process({halo_program(), "summary", dir + "/missing.csv"});
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("cannot read the CSV file") != std::string::npos);
}

TEST_CASE("summary: a directory stands for its sampler CSV files") {
  const std::string dir = fresh_dir("summary-directory");
  for (const char* f : {"cmdstan-1.csv", "cmdstan-2.csv"}) write_text(dir + "/" + f, slurp(fixture(f)));
  // Not part of the run: an optimisation result and a note.
  write_text(dir + "/mode.csv", "# model = m_model\n# method = optimize\nlp__,theta\n-5,0.2\n");
  write_text(dir + "/notes.txt", "hello\n");
  ProcessResult r = run_process({halo_program(), "summary", dir});
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("2 chains, 200 draws each") != std::string::npos);
  r = run_process({halo_program(), "summary", fresh_dir("summary-empty")});
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("holds no sampler CSV files") != std::string::npos);
}
