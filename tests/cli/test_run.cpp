// `halo run`: compile through the cache, then run; the second run finds the library cached.
#include <doctest/doctest.h>

#include <filesystem>

#include "models.h"
#include "output/stan_csv_check.h"
#include "support.h"

using namespace halo::cli::test;

namespace {

size_t libraries_in(const std::string& dir) {
  size_t n = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) n += e.path().extension() == ".so";
  return n;
}

}  // namespace

TEST_CASE("run: compiles once and then hits the cache, an edited model is compiled again") {
  const std::string dir = fresh_dir("run-cache");
  const std::string model = dir + "/normal.model";
  write_text(model, kNormalModel);
  write_text(dir + "/data.json", kNormalData);
  const std::map<std::string, std::string> env = {{"HALO_CACHE_DIR", dir + "/cache"}};
  auto run = [&](const std::string& method) {
    std::vector<std::string> args = {halo_program(), "run", model, method, "--data", dir + "/data.json",
                                     "--seed", "1", "-o", dir + "/out"};
    if (method == "sample") {
      for (const char* a : {"--chains", "1", "--warmup", "100", "--samples", "100"}) args.push_back(a);
    }
    ProcessResult r = run_process(args, env);
    INFO(r.out << r.err);
    REQUIRE(r.exit_code == 0);
    return r.out;
  };
  CHECK(run("sample").find("halo run: compiled") != std::string::npos);
  CHECK(libraries_in(dir + "/cache") == 1);
  CHECK(halo::output::check_cmdstanpy_rules(dir + "/out/normal-1.csv").empty());
  CHECK(run("sample").find("halo run: using the cached library") != std::string::npos);
  CHECK(run("optimize").find("halo run: using the cached library") != std::string::npos);
  CHECK(exists(dir + "/out/normal-optimize.csv"));
  CHECK(libraries_in(dir + "/cache") == 1);

  write_text(model, std::string(kNormalModel) + "// edited\n");
  CHECK(run("sample").find("halo run: compiled") != std::string::npos);
  CHECK(libraries_in(dir + "/cache") == 2);
}

TEST_CASE("run: a model that does not compile gets haloc's located message") {
  const std::string dir = fresh_dir("run-bad");
  write_text(dir + "/bad.model", "parameters { real x; }\nmodel { x ~ normal(0, sigam); }\n");
  ProcessResult r = run_process({halo_program(), "run", dir + "/bad.model", "sample"},
                                {{"HALO_CACHE_DIR", dir + "/cache"}});
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("does not compile") != std::string::npos);
  CHECK(r.err.find("bad.model:2:") != std::string::npos);
  CHECK(r.err.find("sigam") != std::string::npos);
}
