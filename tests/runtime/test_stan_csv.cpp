// Stan CSV: writer -> reader round trips, the from_csv rules of cmdstanpy 1.2.5 on every file
// written (and on broken files), interruption, and run summaries of written chains.
#include <doctest/doctest.h>

#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <charconv>
#include <chrono>
#include <cstring>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <thread>

#include "output/stan_csv_check.h"
#include "output/stan_csv_reader.h"
#include "output/stan_csv_writer.h"
#include "output/summary.h"
#ifdef HALO_TEST_HAVE_DATA
#include "data/cmdstan_json.h"
#endif

using namespace halo::output;

namespace {

std::string scratch(const std::string& name) {
  std::string dir = std::string(HALO_TEST_SCRATCH_DIR) + "/csv";
  std::filesystem::create_directories(dir);
  return dir + "/" + name;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream ss(text);
  std::string line;
  while (std::getline(ss, line)) out.push_back(line);
  return out;
}

std::string rstrip(std::string s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\r')) s.pop_back();
  return s;
}

void write_text(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary);
  f << text;
}

std::string joined(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += s + "\n";
  return out;
}

SampleRunInfo small_run() {
  SampleRunInfo info;
  info.model = "bern";
  info.num_samples = 5;
  info.num_warmup = 4;
  info.save_warmup = true;
  info.seed = 4711;
  info.data_file = "bern.data.json";
  info.num_unconstrained = 2;
  info.extra = {{"halo_version", "0.1.0"}};
  return info;
}

// small_run() with `num_samples` draws and no warmup draws saved.
SampleRunInfo draws_only_run(int num_samples) {
  SampleRunInfo info = small_run();
  info.save_warmup = false;
  info.num_samples = num_samples;
  return info;
}

SamplerStats stats(int i) {
  SamplerStats s;
  s.lp = -7.25 - 0.001 * i;
  s.accept_stat = 0.9123456789;
  s.stepsize = 0.787025;
  s.treedepth = 2 + i % 2;
  s.n_leapfrog = 3 + 4 * (i % 2);
  s.divergent = i == 3;
  s.energy = 8.125 + i;
  return s;
}

const std::vector<std::string> kNames = {"theta.1", "theta.2", "L.1.1", "L.2.1", "L.1.2", "L.2.2"};

std::vector<double> values(int i) {
  return {0.1 * i, 1e-7 * i, 123456.789 + i, -2.5, 1.0 / 3.0, 1e22};
}

// Data rows in the file as it is on disk now (not a valid Stan CSV file before finish()).
size_t read_stan_csv_rows_on_disk(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  size_t rows = 0;
  bool header = false;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    if (!header) {
      header = true;
      continue;
    }
    ++rows;
  }
  return rows;
}

}  // namespace

TEST_CASE("stan csv: writer -> reader round trip") {
  std::string path = scratch("roundtrip.csv");
  {
    SampleCsvWriter w(path, small_run(), kNames);
    for (int i = 0; i < 4; ++i) CHECK(w.write_warmup_draw(stats(i), values(i).data(), kNames.size()));
    CHECK(w.write_adaptation(0.787025, {0.59, 0.61}));
    for (int i = 0; i < 5; ++i) CHECK(w.write_draw(stats(i), values(i).data(), kNames.size()));
    CHECK(w.write_timing(0.5, 0.25));
    CHECK(w.finish());
    CHECK(w.draws_written() == 5);
  }
  StanCsv csv = read_stan_csv(path);
  CHECK(csv.method == "sample");
  CHECK(*csv.config_value("model") == "bern_model");
  CHECK(csv.config_number("num_samples", 0) == 5);
  CHECK(csv.config_number("num_warmup", 0) == 4);
  CHECK(csv.config_number("save_warmup", 0) == 1);
  CHECK(csv.config_number("seed", 0) == 4711);
  CHECK(*csv.config_value("metric") == "diag_e");
  CHECK(*csv.config_value("halo_version") == "0.1.0");
  std::vector<std::string> columns = sampler_column_names();
  columns.insert(columns.end(), kNames.begin(), kNames.end());
  CHECK(csv.columns == columns);
  REQUIRE(csv.num_warmup_rows() == 4);
  REQUIRE(csv.num_draws() == 5);
  CHECK(csv.has_adaptation);
  CHECK(csv.step_size == 0.787025);
  CHECK(csv.inv_metric == std::vector<double>{0.59, 0.61});
  CHECK_FALSE(csv.dense_metric);
  CHECK(csv.warmup_seconds == 0.5);
  CHECK(csv.sampling_seconds == 0.25);
  CHECK(csv.total_seconds == 0.75);
  size_t k = csv.num_columns();
  for (int i = 0; i < 5; ++i) {
    const double* row = &csv.draws[static_cast<size_t>(i) * k];
    SamplerStats s = stats(i);
    CHECK(row[0] == doctest::Approx(s.lp).epsilon(1e-6));
    CHECK(row[1] == doctest::Approx(0.912346));  // 6 significant digits
    CHECK(row[3] == s.treedepth);
    CHECK(row[4] == s.n_leapfrog);
    CHECK(row[5] == (i == 3 ? 1 : 0));
    std::vector<double> v = values(i);
    for (size_t j = 0; j < v.size(); ++j) CHECK(row[7 + j] == doctest::Approx(v[j]).epsilon(5e-6));
  }
  CHECK(check_cmdstanpy_rules(path).empty());
}

TEST_CASE("stan csv: the text follows CmdStan's layout exactly") {
  std::string path = scratch("layout.csv");
  {
    SampleCsvWriter w(path, small_run(), kNames);
    for (int i = 0; i < 4; ++i) w.write_warmup_draw(stats(i), values(i).data(), kNames.size());
    w.write_adaptation(0.787025, {0.59, 0.61});
    for (int i = 0; i < 5; ++i) w.write_draw(stats(i), values(i).data(), kNames.size());
    w.write_timing(0.001332, 0.000249);
    w.finish();
  }
  std::vector<std::string> lines = lines_of(slurp(path));
  REQUIRE(lines.size() > 40);
  CHECK(lines[0] == "# stan_version_major = 2");
  CHECK(lines[1] == "# stan_version_minor = 36");
  CHECK(lines[2] == "# stan_version_patch = 0");
  CHECK(lines[3] == "# model = bern_model");
  CHECK(lines[4] == "# method = sample (Default)");
  CHECK(lines[5] == "#   sample");
  CHECK(rstrip(lines[6]) == "#     num_samples = 5");
  CHECK(rstrip(lines[7]) == "#     num_warmup = 4");
  CHECK(lines[8] == "#     save_warmup = 1");
  CHECK(lines[9] == "#     thin = 1 (Default)");
  std::string text = slurp(path);
  for (const char* expected :
       {"\n#     adapt\n#       engaged = 1 (Default)\n#       gamma = 0.05 (Default)\n"
        "#       delta = 0.8 (Default)\n#       kappa = 0.75 (Default)\n#       t0 = 10 (Default)\n"
        "#       init_buffer = 75 (Default)\n#       term_buffer = 50 (Default)\n"
        "#       window = 25 (Default)\n#     algorithm = hmc (Default)\n#       hmc\n"
        "#         engine = nuts (Default)\n#           nuts\n"
        "#             max_depth = 10 (Default)\n#         metric = diag_e (Default)\n"
        "#         metric_file =  (Default)\n#         stepsize = 1 (Default)\n"
        "#         stepsize_jitter = 0 (Default)\n",
        "\n# id = 1 (Default)\n# data\n#   file = bern.data.json\n# init = 2 (Default)\n"
        "# random\n#   seed = 4711\n# output\n",
        "\n# halo_version = 0.1.0\n"
        "lp__,accept_stat__,stepsize__,treedepth__,n_leapfrog__,divergent__,energy__,theta.1,"
        "theta.2,L.1.1,L.2.1,L.1.2,L.2.2\n",
        // Warmup rows: integers for treedepth__, n_leapfrog__, divergent__; 6 significant digits.
        "\n-7.25,0.912346,0.787025,2,3,0,8.125,0,0,123457,-2.5,0.333333,1e+22\n",
        "\n# Adaptation terminated\n# Step size = 0.787025\n"
        "# Diagonal elements of inverse mass matrix:\n# 0.59, 0.61\n",
        "\n-7.253,0.912346,0.787025,3,7,1,11.125,0.3,3e-07,123460,-2.5,0.333333,1e+22\n",
        "\n# \n#  Elapsed Time: 0.001332 seconds (Warm-up)\n"
        "#                0.000249 seconds (Sampling)\n#                0.001581 seconds (Total)\n# \n"}) {
    INFO("missing: " << expected);
    CHECK(text.find(expected) != std::string::npos);
  }
  // No blank line anywhere (a blank line ends cmdstanpy's config scan), one header line.
  for (const std::string& l : lines) CHECK_FALSE(rstrip(l).empty());
  CHECK(text.back() == '\n');
}

TEST_CASE("stan csv: non-finite values, dense metric, thinning") {
  std::string path = scratch("dense.csv");
  SampleRunInfo info = small_run();
  info.metric = "dense_e";
  info.save_warmup = false;
  info.thin = 3;
  info.num_samples = 10;  // ceil(10 / 3) = 4 rows
  info.sig_figs = 9;
  {
    SampleCsvWriter w(path, info, {"a", "b"});
    w.write_adaptation(0.5, {2, 0.5, 0.5, 3});
    const double inf = INFINITY;
    double rows[4][2] = {{NAN, inf}, {-inf, 1.0 / 3.0}, {1, 2}, {3, 4}};
    for (auto& r : rows) w.write_draw(stats(0), r, 2);
    w.write_timing(1, 2);
    w.finish();
  }
  std::string text = slurp(path);
  CHECK(text.find("\nnan,inf\n") == std::string::npos);  // values follow the 7 sampler columns
  CHECK(text.find(",8.125,nan,inf\n") != std::string::npos);
  CHECK(text.find(",8.125,-inf,0.333333333\n") != std::string::npos);  // sig_figs = 9
  CHECK(text.find("# Elements of inverse mass matrix:\n# 2, 0.5\n# 0.5, 3\n") != std::string::npos);
  CHECK(text.find("#         metric = dense_e\n") != std::string::npos);
  CHECK(rstrip(lines_of(text)[6]) == "#     num_samples = 10");
  StanCsv csv = read_stan_csv(path);
  REQUIRE(csv.num_draws() == 4);
  CHECK(std::isnan(csv.draws[7]));
  CHECK(csv.draws[8] == INFINITY);
  CHECK(csv.draws[9 + 7] == -INFINITY);
  CHECK(csv.dense_metric);
  CHECK(csv.inv_metric == std::vector<double>{2, 0.5, 0.5, 3});
  CHECK(check_cmdstanpy_rules(path).empty());
}

TEST_CASE("stan csv: buffered rows reach the file when the buffer fills and at finish()") {
  std::string path = scratch("buffered.csv");
  SampleRunInfo info = draws_only_run(5000);
  SampleCsvWriter w(path, info, kNames);
  w.write_adaptation(0.5, {1, 1});
  for (int i = 0; i < 5000; ++i) REQUIRE(w.write_draw(stats(i), values(i).data(), kNames.size()));
  // About 60 bytes a row: the 64 KiB buffer has been written several times, not yet the rest.
  const size_t before_finish = w.draws_written();
  CHECK(before_finish > 1000);
  CHECK(before_finish < 5000);
  CHECK(read_stan_csv_rows_on_disk(path) == before_finish);
  w.write_timing(1, 1);
  CHECK(w.finish());
  CHECK(w.draws_written() == 5000);
  CHECK(read_stan_csv(path).num_draws() == 5000);
  CHECK(check_cmdstanpy_rules(path).empty());
}

TEST_CASE("stan csv: values are written exactly as printf's %g (std::to_chars) writes them") {
  // append_value has a fast path for up to 9 significant digits that must give the same text as
  // the exact conversion: random doubles over the whole range, decimal ties and near-ties
  // (k + 1/2) * 10^m and their neighbours, powers of ten and their neighbours, integers.
  auto reference = [](double x, int digits) {
    char buf[64];
    return std::string(buf, std::to_chars(buf, buf + sizeof buf, x, std::chars_format::general, digits).ptr);
  };
  std::mt19937_64 gen(20261123);
  long compared = 0, mismatches = 0;
  std::string first_mismatch;
  auto check = [&](double x, int digits) {
    if (!std::isfinite(x)) return;
    std::string got;
    append_value(got, x, digits);
    ++compared;
    if (got != reference(x, digits) && mismatches++ == 0) {
      char hex[64];
      std::snprintf(hex, sizeof hex, "%a", x);
      first_mismatch = std::string(hex) + " with " + std::to_string(digits) + " digits: " + got +
                       " instead of " + reference(x, digits);
    }
  };
  std::uniform_int_distribution<int> digit_count(1, 12);
  for (int i = 0; i < 300000; ++i) {
    double bits_value;
    uint64_t bits = gen();
    std::memcpy(&bits_value, &bits, sizeof bits_value);
    check(bits_value, digit_count(gen));                                       // any double
    double v = std::ldexp(std::uniform_real_distribution<double>(-1, 1)(gen),
                          std::uniform_int_distribution<int>(-70, 80)(gen));  // usual magnitudes
    for (int d = 1; d <= 10; ++d) check(v, d);
  }
  for (int digits = 1; digits <= 9; ++digits) {
    for (int m = -25; m <= 25; ++m) {
      for (int k = 0; k < 200; ++k) {
        const double mantissa = std::uniform_int_distribution<long>(0, 999999999)(gen) % static_cast<long>(std::pow(10, digits));
        for (double x : {(mantissa + 0.5) * std::pow(10.0, m - digits + 1), mantissa * std::pow(10.0, m - digits + 1),
                         std::pow(10.0, m)}) {
          for (double y : {x, std::nextafter(x, 0.0), std::nextafter(x, INFINITY)}) {
            check(y, digits);
            check(-y, digits);
          }
        }
      }
    }
  }
  for (double x : {0.0, -0.0, 1.0, 9.5, 99.5, 999999.5, 9999995.0, 1234565.0, 0.0001, 0.00001, 123456.0,
                   1e21, 1e22, 1e23, 5e-324, 2.2250738585072014e-308, 1.7976931348623157e308})
    for (int d = 1; d <= 12; ++d) check(x, d);
  INFO(first_mismatch);
  CHECK(mismatches == 0);
  CHECK(compared > 3000000);
  // The default (-1) is Stan's 6 digits.
  std::string s;
  append_value(s, 1.0 / 3.0);
  CHECK(s == "0.333333");
}

TEST_CASE("stan csv: unit metric and a run without adaptation pass the from_csv rules") {
  std::string unit = scratch("unit.csv");
  SampleRunInfo info = small_run();
  info.metric = "unit_e";
  info.save_warmup = false;
  {
    SampleCsvWriter w(unit, info, {"a"});
    w.write_adaptation(0.9, {});
    for (int i = 0; i < 5; ++i) {
      double v = i;
      w.write_draw(stats(i), &v, 1);
    }
    w.finish();
  }
  CHECK(slurp(unit).find("# Step size = 0.9\n# No free parameters for unit metric\n") != std::string::npos);
  CHECK(check_cmdstanpy_rules(unit).empty());
  CHECK(read_stan_csv(unit).num_draws() == 5);
}

TEST_CASE("stan csv: an interrupted run leaves a valid file with the rows written") {
  SUBCASE("during sampling") {
    std::string path = scratch("interrupted.csv");
    SampleRunInfo info = small_run();
    info.num_samples = 10;
    info.thin = 2;  // 5 rows expected; 3 written
    info.save_warmup = false;
    {
      SampleCsvWriter w(path, info, kNames);
      w.write_adaptation(0.7, {1, 1});
      for (int i = 0; i < 3; ++i) w.write_draw(stats(i), values(i).data(), kNames.size());
      CHECK(w.finish());
      CHECK(w.finished());
      CHECK_FALSE(w.write_draw(stats(9), values(9).data(), kNames.size()));  // ignored
      CHECK(w.finish());  // idempotent
    }
    std::string text = slurp(path);
    CHECK(rstrip(lines_of(text)[6]) == "#     num_samples = 6");  // 3 rows x thin 2
    CHECK(text.find("# Interrupted: 3 of 5 draws written") != std::string::npos);
    CHECK(check_cmdstanpy_rules(path).empty());
    CHECK(read_stan_csv(path).num_draws() == 3);
  }
  SUBCASE("during warmup, warmup saved") {
    std::string path = scratch("interrupted-warmup.csv");
    {
      SampleCsvWriter w(path, small_run(), kNames);
      w.write_warmup_draw(stats(0), values(0).data(), kNames.size());
      w.set_current_adaptation(0.31, {0.5, 0.25});
      w.write_warmup_draw(stats(1), values(1).data(), kNames.size());
      w.finish();
    }
    std::string text = slurp(path);
    std::vector<std::string> lines = lines_of(text);
    CHECK(rstrip(lines[6]) == "#     num_samples = 0");
    CHECK(rstrip(lines[7]) == "#     num_warmup = 2");
    CHECK(text.find("# Adaptation terminated\n# Step size = 0.31\n"
                    "# Diagonal elements of inverse mass matrix:\n# 0.5, 0.25\n") != std::string::npos);
    CHECK(check_cmdstanpy_rules(path).empty());
    StanCsv csv = read_stan_csv(path);
    CHECK(csv.num_warmup_rows() == 2);
    CHECK(csv.num_draws() == 0);
  }
  SUBCASE("before any row") {
    std::string path = scratch("interrupted-start.csv");
    SampleRunInfo info = small_run();
    info.save_warmup = false;
    { SampleCsvWriter w(path, info, kNames); }  // the destructor finishes
    std::string text = slurp(path);
    CHECK(text.find("# Step size = 1\n# Diagonal elements of inverse mass matrix:\n# 1, 1\n") !=
          std::string::npos);
    CHECK(check_cmdstanpy_rules(path).empty());
  }
}

namespace {
SampleCsvWriter* g_signal_writer = nullptr;
std::atomic<int> g_signals{0};
void finish_on_signal(int) {
  g_signals.fetch_add(1);
  g_signal_writer->finish();
}
}  // namespace

TEST_CASE("stan csv: finish() from a signal handler and from another thread") {
  SUBCASE("signal delivered to the writing thread while it writes rows") {
    std::string path = scratch("signal.csv");
    SampleRunInfo info = draws_only_run(1000000);
    SampleCsvWriter w(path, info, kNames);
    g_signal_writer = &w;
    struct sigaction sa = {};
    sa.sa_handler = finish_on_signal;
    sigemptyset(&sa.sa_mask);
    struct sigaction old = {};
    sigaction(SIGUSR1, &sa, &old);
    std::atomic<bool> started{false};
    size_t rows_accepted = 0;
    std::thread writer([&] {
      w.write_adaptation(0.5, {1, 1});
      std::vector<double> v = values(1);
      for (int i = 0; i < 1000000; ++i) {
        if (i == 100) started = true;
        if (!w.write_draw(stats(i), v.data(), v.size())) break;
        ++rows_accepted;
      }
    });
    while (!started) std::this_thread::yield();
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    pthread_kill(writer.native_handle(), SIGUSR1);
    writer.join();
    sigaction(SIGUSR1, &old, nullptr);
    CHECK(g_signals.load() == 1);
    CHECK(w.finished());
    CHECK(rows_accepted < 1000000);
    CHECK(w.draws_written() == rows_accepted);
    std::vector<std::string> problems = check_cmdstanpy_rules(path);
    INFO(joined(problems));
    CHECK(problems.empty());
    CHECK(read_stan_csv(path).num_draws() == rows_accepted);
  }
  SUBCASE("another thread finishes while the chain writes") {
    std::string path = scratch("thread-finish.csv");
    SampleRunInfo info = draws_only_run(1000000);
    SampleCsvWriter w(path, info, kNames);
    std::atomic<bool> started{false};
    std::thread writer([&] {
      w.write_adaptation(0.5, {1, 1});
      std::vector<double> v = values(2);
      for (int i = 0; i < 1000000; ++i) {
        if (i == 100) started = true;
        if (!w.write_draw(stats(i), v.data(), v.size())) break;
      }
    });
    while (!started) std::this_thread::yield();
    CHECK(w.finish());
    writer.join();
    std::vector<std::string> problems = check_cmdstanpy_rules(path);
    INFO(joined(problems));
    CHECK(problems.empty());
    CHECK(read_stan_csv(path).num_draws() == w.draws_written());
  }
}

TEST_CASE("stan csv: the from_csv check rejects what cmdstanpy rejects") {
  // A hand-written CmdStan-style file (Stan 2.19 layout), then broken copies of it.
  const std::string good =
      "# stan_version_major = 2\n# stan_version_minor = 19\n# stan_version_patch = 0\n"
      "# model = bernoulli_model\n# method = sample (Default)\n#   sample\n"
      "#     num_samples = 3\n#     num_warmup = 100\n#     save_warmup = 0 (Default)\n"
      "#     thin = 1 (Default)\n#     adapt\n#       engaged = 1 (Default)\n"
      "#     algorithm = hmc (Default)\n#       hmc\n#         engine = nuts (Default)\n"
      "#           nuts\n#             max_depth = 10 (Default)\n"
      "#         metric = diag_e (Default)\n# id = 1\n# data\n#   file = bern.json\n"
      "# output\n#   file = output_1.csv\n#   refresh = 100 (Default)\n"
      "lp__,accept_stat__,stepsize__,treedepth__,n_leapfrog__,divergent__,energy__,theta,z.1,z.2\n"
      "# Adaptation terminated\n# Step size = 0.787025\n"
      "# Diagonal elements of inverse mass matrix:\n# 1, 1, 1\n"
      "-6.76206,1,0.787025,1,1,0,6.81411,0.229458,1,2\n"
      "-6.81411,0.983499,0.787025,1,1,0,6.8147,0.20649,1,2\n"
      "-6.85511,0.994945,0.787025,2,3,0,6.85536,0.310589,nan,-inf\n"
      "# \n#  Elapsed Time: 0.001332 seconds (Warm-up)\n"
      "#                0.000249 seconds (Sampling)\n#                0.001581 seconds (Total)\n# \n";
  std::string path = scratch("cmdstan.csv");
  write_text(path, good);
  CHECK(check_cmdstanpy_rules(path).empty());
  StanCsv csv = read_stan_csv(path);
  CHECK(csv.num_draws() == 3);
  CHECK(csv.step_size == 0.787025);
  CHECK(*csv.config_value("model") == "bernoulli_model");

  auto broken = [&](const std::string& from, const std::string& to) {
    std::string text = good;
    size_t at = text.find(from);
    REQUIRE(at != std::string::npos);
    text.replace(at, from.size(), to);
    std::string p = scratch("broken.csv");
    write_text(p, text);
    return joined(check_cmdstanpy_rules(p));
  };
  auto has = [](const std::string& problems, const std::string& what) {
    INFO(problems);
    CHECK(problems.find(what) != std::string::npos);
  };
  has(broken("1,1,0,6.8147", "1,1,0.0,6.8147"), "divergent__ and treedepth__ must be written as integers");
  has(broken("# id = 1\n", "# id = 1\n\n"), "a blank line ends the config block");
  has(broken("# Adaptation terminated", "# Adaptation finished"), "expected '# Adaptation terminated'");
  has(broken("# Diagonal elements of inverse mass matrix:", "# Diagonal of the metric:"),
      "invalid or missing mass matrix lines");
  has(broken("-6.81411,0.983499,0.787025,1,1,0,6.8147,0.20649,1,2\n", ""), "expected 3 draws");
  has(broken("0.20649,1,2\n", "0.20649,1\n"), "bad draw, expecting 10 items, found 9");
  has(broken("energy__,theta,z.1,z.2", "energy__,z.1,theta,z.2"), "the columns of 'z' are not contiguous");
  has(broken("# model = bernoulli_model\n", ""), "not a Stan CSV file");
  has(broken("#     thin = 1 (Default)\n", ""), "have no 'thin'");
  has(broken("0.20649,1,2", "0.20649,1,two"), "'two' is not a number Python can read");
  // Column-major order of a matrix: a.1.1, a.2.1, a.1.2, a.2.2.
  std::string m = good;
  m.replace(m.find("theta,z.1,z.2"), 13, "a.1.1,a.1.2,a.2.1");
  std::string mp = scratch("order.csv");
  write_text(mp, m);
  has(joined(check_cmdstanpy_rules(mp)), "variable 'a' has 3 columns but its last column implies 2");

  // Chains of one run must agree.
  std::string other = scratch("cmdstan-2.csv");
  std::string text = good;
  text.replace(text.find("num_samples = 3"), 15, "num_samples = 2");
  text.erase(text.find("-6.81411"), text.find("-6.85511") - text.find("-6.81411"));
  write_text(other, text);
  CHECK(check_cmdstanpy_rules(other).empty());
  has(joined(check_cmdstanpy_rules(std::vector<std::string>{path, other})), "'num_samples' differs");
}

TEST_CASE("stan csv: optimisation and variational output") {
  std::string opt = scratch("optimize.csv");
  OptimizeRunInfo oi;
  oi.model = "rosenbrock";
  oi.seed = 1;
  write_optimize_csv(opt, oi, {"x", "y"}, -2.80848e-10, {1.00001, 1.00001});
  CHECK(check_cmdstanpy_rules(opt).empty());
  std::string ot = slurp(opt);
  CHECK(ot.find("# method = optimize\n#   optimize\n#     algorithm = lbfgs (Default)\n#       lbfgs\n") !=
        std::string::npos);
  CHECK(ot.find("#     jacobian = 0 (Default)\n") != std::string::npos);
  CHECK(ot.find("#     save_iterations = 0 (Default)\n") != std::string::npos);
  CHECK(ot.find("\nlp__,x,y\n-2.80848e-10,1.00001,1.00001\n") != std::string::npos);
  StanCsv o = read_stan_csv(opt);
  CHECK(o.method == "optimize");
  REQUIRE(o.num_draws() == 1);
  CHECK(o.draws[1] == 1.00001);
  CHECK_FALSE(std::filesystem::exists(opt + ".tmp"));

  std::string vb = scratch("variational.csv");
  VariationalRunInfo vi;
  vi.model = "eta";
  vi.output_samples = 3;
  std::vector<VariationalDraw> draws = {{-1.5, -2.5, {0.1, 0.2}}, {-1.25, -2.25, {0.3, 0.4}},
                                        {-1, -2, {0.5, 0.6}}};
  write_variational_csv(vb, vi, {"mu.1", "mu.2"}, 1.0, {0.3, 0.4}, draws);
  CHECK(check_cmdstanpy_rules(vb).empty());
  std::string vt = slurp(vb);
  CHECK(vt.find("\nlp__,log_p__,log_g__,mu.1,mu.2\n# Stepsize adaptation complete.\n# eta = 1\n"
                "0,0,0,0.3,0.4\n0,-1.5,-2.5,0.1,0.2\n") != std::string::npos);
  CHECK(vt.find("#     output_samples = 3\n") != std::string::npos);
  StanCsv v = read_stan_csv(vb);
  CHECK(v.method == "variational");
  CHECK(v.mean_row == std::vector<double>{0, 0, 0, 0.3, 0.4});
  CHECK(v.num_draws() == 3);
}

TEST_CASE("summary of written chains: table, diagnostics, warnings in plain words") {
  std::mt19937_64 rng(21);
  std::normal_distribution<double> normal(0, 1);
  std::vector<std::string> paths;
  for (int chain = 0; chain < 4; ++chain) {
    std::string path = scratch("summary-" + std::to_string(chain + 1) + ".csv");
    SampleRunInfo info;
    info.model = "two";
    info.num_samples = 400;
    info.chain_id = chain + 1;
    info.num_unconstrained = 2;
    SampleCsvWriter w(path, info, {"mu", "very_long_parameter_name"});
    w.write_adaptation(0.5, {1, 1});
    for (int i = 0; i < 400; ++i) {
      SamplerStats s;
      s.lp = normal(rng);
      s.accept_stat = 0.8;
      s.stepsize = 0.5;
      s.treedepth = (chain == 1 && i < 7) ? 10 : 3;  // 7 max-depth hits in chain 2
      s.n_leapfrog = 7;
      s.divergent = chain == 2 && i % 100 == 0;   // 4 divergences in chain 3
      s.energy = chain == 3 ? 0.01 * i + 0.1 * normal(rng) : normal(rng);  // chain 4: low E-BFMI
      double v[2] = {normal(rng), 5 + (chain == 0 ? 2.0 : 0.0) + normal(rng)};
      w.write_draw(s, v, 2);
    }
    w.write_timing(1, 1);
    w.finish();
    paths.push_back(path);
  }
  CHECK(check_cmdstanpy_rules(paths).empty());
  std::vector<StanCsv> chains;
  for (const auto& p : paths) chains.push_back(read_stan_csv(p));
  RunSummary run = summarize_run(chains);
  REQUIRE(run.quantities.size() == 3);
  CHECK(run.quantities[0].name == "lp__");
  CHECK(run.quantities[1].name == "mu");
  CHECK(run.quantities[1].rhat < 1.01);
  CHECK(run.quantities[2].rhat > 1.1);  // chain 1 is shifted by 2
  CHECK(run.chain_diagnostics[1].max_treedepth_hits == 7);
  CHECK(run.chain_diagnostics[2].divergences == 4);
  CHECK(run.chain_diagnostics[3].ebfmi < 0.3);
  CHECK(run.chain_diagnostics[0].ebfmi > 1.5);

  std::string table = format_summary(run);
  MESSAGE(table);
  std::vector<std::string> lines = lines_of(table);
  // Header and rows aligned: every row of the table is as wide as the header.
  size_t header = 0;
  while (header < lines.size() && lines[header].find("ESS_bulk") == std::string::npos) ++header;
  REQUIRE(header + 3 < lines.size());
  CHECK(lines[header + 1].rfind("lp__", 0) == 0);
  CHECK(lines[header + 3].rfind("very_long_parameter_name", 0) == 0);
  for (size_t r = header + 1; r <= header + 3; ++r) CHECK(lines[r].size() == lines[header].size());
  for (const char* expected :
       {"R-hat is above 1.01 for 1 quantity (worst: very_long_parameter_name",
        "4 of 1600 transitions (0.25%) ended with a divergence", "--delta 0.95",
        "7 of 1600 transitions hit the maximum tree depth of 10", "Raise --max-depth",
        "Chain 4 has E-BFMI", "Reparameterise the model"}) {
    INFO(expected);
    CHECK(table.find(expected) != std::string::npos);
  }
  CHECK_THROWS_AS(summarize_run({chains[0], read_stan_csv(scratch("optimize.csv"))}), OutputError);
}

TEST_CASE("stan csv: the adapted metric as CmdStan's metric JSON") {
  std::string diag = scratch("metric_diag.json");
  write_metric_json(diag, 0.787025, "diag_e", {0.1 + 0.2, 1e-300, 2});
  std::string dt = slurp(diag);
  CHECK(dt == "{\n  \"stepsize\": 0.78702499999999997,\n  \"metric_type\": \"diag_e\",\n"
              "  \"inv_metric\": [0.30000000000000004, 1e-300, 2]\n}\n");
  std::string dense = scratch("metric_dense.json");
  write_metric_json(dense, 0.5, "dense_e", {2, 0.5, 0.5, 3});
  CHECK(slurp(dense).find("\"inv_metric\": [\n    [2, 0.5],\n    [0.5, 3]\n  ]") != std::string::npos);
  CHECK_THROWS_AS(write_metric_json(dense, 0.5, "dense_e", {1, 2, 3}), OutputError);
#ifdef HALO_TEST_HAVE_DATA
  // Read back exactly by the data reader (a metric file is CmdStan JSON).
  halo::DataSet d = halo::load_cmdstan_json(diag);
  CHECK(d.get("inv_metric").values == std::vector<double>{0.1 + 0.2, 1e-300, 2});
  CHECK(d.get("stepsize").values[0] == 0.787025);
  halo::DataSet m = halo::load_cmdstan_json(dense);
  CHECK(m.get("inv_metric").dims == std::vector<size_t>{2, 2});
#endif
}
