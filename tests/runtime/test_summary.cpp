// Posterior summaries: against the R package posterior on shared draws, and against theory on
// simulated chains (iid normal, AR(1) with known autocorrelation, chains with shifted means).
#include <doctest/doctest.h>

#include <cmath>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>

#include "output/summary.h"

using namespace halo::output;

namespace {

// reference_draws.csv (made by reference/make_reference_draws.py): quantity -> chains.
std::map<std::string, ChainDraws> load_reference_draws() {
  std::ifstream in(std::string(HALO_TEST_REFERENCE_DIR) + "/reference_draws.csv");
  REQUIRE(in);
  std::map<std::string, ChainDraws> out;
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    std::stringstream ss(line);
    std::string q, chain, draw, value;
    std::getline(ss, q, ',');
    std::getline(ss, chain, ',');
    std::getline(ss, draw, ',');
    std::getline(ss, value, ',');
    ChainDraws& c = out[q];
    size_t k = std::stoul(chain) - 1;
    if (c.size() <= k) c.resize(k + 1);
    c[k].push_back(std::stod(value));
  }
  return out;
}

struct Reference {
  const char* quantity;
  // mean, sd, mcse_mean, q5, q50, q95, rhat, ess_bulk, ess_tail, rhat_basic, ess_basic,
  // ess_q05, ess_q95, autocovariance of chain 1 at lags 0, 1, 2, 5.
  double v[17];
};

constexpr double NA = NAN;

// Computed by posterior 1.4.0 (R 4.2.2) with reference/posterior_reference.R from
// reference/reference_draws.csv; copied from reference/posterior_reference.txt.
const Reference kReferences[] = {
    {"iid", {-0.042249655213059727, 1.0071575737832654, 0.034206174057641696, -1.6923471928961382, -0.060044380214106609, 1.6460179102211285, 1.0019102734639054, 862.08913054273955, 702.44405862748238, 1.0010513153712173, 866.93361590849986, 702.44405862748238, 796.83970169621307, 1.0406823855719163, -0.039432812816114556, -0.050355643443751701, 0.012991492005392249}},
    {"ar1", {-0.12745470317558097, 2.5129657549670052, 0.35970277963325109, -4.1635767617008721, -0.2203070709404365, 4.0352984299596235, 1.049645974316421, 48.973766722648712, 55.244084260263882, 1.0530028019653119, 48.807386493061117, 55.244084260263882, 111.69146077753547, 6.8955867308948608, 6.3694776260132882, 5.8660411063797184, 4.1497629701028416}},
    {"shifted", {0.39414207244486005, 1.220206653958301, 0.32499362203421556, -1.4965307468031985, 0.35604600277697013, 2.545472766563937, 1.2047269408393628, 14.978977671009984, 53.011120325336321, 1.2203452964993844, 14.096688455559757, 733.62586541280029, 53.011120325336321, 0.89893060146301251, 0.12628440645362693, -0.074444737611350814, 0.11341894837662467}},
    {"odd", {-0.1718267089661292, 1.1557873506640866, 0.10650920493144907, -2.2080285494740322, -0.19904043521334841, 1.7694960857232847, 1.0415346448908667, 118.33565749509792, 197.6953623298962, 1.0419621722992682, 117.75560514037552, 197.6953623298962, 263.57127416364767, 1.6972899522289315, 0.91145585573071519, 0.35735610555461084, -0.29212203028968481}},
    {"ties", {2.9725000000000001, 1.749448330710937, 0.059873430432606865, 0, 3, 6, 1.0023794767154557, 833.458714527187, 633.82332488891279, 1.0022693078795111, 853.75637047503051, 771.4422798933449, 633.82332488891279, 2.834975, 0.0050498749999999502, 0.065074750000000042, -0.46975062499999998}},
    {"heavy", {-2.0900629423297707, 37.414768421438225, 2.35430266721619, -6.669729108536516, -0.05366176811406137, 4.5019123673551587, 0.99574550484968694, 339.72774878553867, 294.96151988588872, 1.0033860255026374, 252.5582349399937, 345.56808175996895, 294.96151988588872, 2653.9349881865478, -31.757905549344954, -106.07274412525186, -77.153226030739461}},
    {"antithetic", {0.027595200472368027, 1.2274680662648623, 0.025470352761837678, -2.0325006546086826, -0.0017843547187827019, 2.0061242380648361, 1.0010944420055135, 2322.471989593555, 630.00855405844902, 0.99553912157197455, 2322.471989593555, 630.00855405844902, 681.82539874584018, 1.781876033473315, -1.0774326887403631, 0.56246357073550068, -0.11238943612047594}},
    // Short chains: split halves of 3 draws exercise posterior's max_t = 0 branch; ess_tail
    // and ess_q95 are NA because the only draw above the 95% quantile is a dropped middle draw.
    {"short", {-0.32850841894392946, 0.96489085490275084, 0.39391504199826338, -1.460426441820516, -0.3210699741723852, 0.99990761966820485, 1.3723315065320543, 6, NA, 0.8829513620810413, 6, 6, NA, 1.3084568769542335, -0.28139904384416281, -0.71222754980788416, -0.35598202655773875}},
};

void check_close(double got, double expected, const char* what, const char* quantity) {
  INFO(quantity << " " << what << ": got " << got << ", posterior gives " << expected);
  if (std::isnan(expected)) {
    CHECK(std::isnan(got));
  } else {
    // Both sides compute the autocovariances by FFT; they agree to rounding.
    CHECK(got == doctest::Approx(expected).epsilon(1e-9).scale(1e-300));
  }
}

ChainDraws ar1_chains(std::mt19937_64& rng, size_t chains, size_t n, double rho, double shift = 0) {
  std::normal_distribution<double> normal(0.0, 1.0);
  ChainDraws out(chains);
  for (size_t c = 0; c < chains; ++c) {
    double x = normal(rng) / std::sqrt(1 - rho * rho);
    for (size_t i = 0; i < n; ++i) {
      x = rho * x + normal(rng);
      out[c].push_back(x + (c == chains - 1 ? shift : 0.0));
    }
  }
  return out;
}

}  // namespace

TEST_CASE("summary: every statistic equals the R package posterior's") {
  std::map<std::string, ChainDraws> draws = load_reference_draws();
  for (const Reference& ref : kReferences) {
    const ChainDraws& x = draws.at(ref.quantity);
    QuantitySummary s = summarize_quantity(ref.quantity, x);
    check_close(s.mean, ref.v[0], "mean", ref.quantity);
    check_close(s.sd, ref.v[1], "sd", ref.quantity);
    check_close(s.mcse_mean, ref.v[2], "mcse_mean", ref.quantity);
    check_close(s.q5, ref.v[3], "q5", ref.quantity);
    check_close(s.q50, ref.v[4], "q50", ref.quantity);
    check_close(s.q95, ref.v[5], "q95", ref.quantity);
    check_close(s.rhat, ref.v[6], "rhat", ref.quantity);
    check_close(s.ess_bulk, ref.v[7], "ess_bulk", ref.quantity);
    check_close(s.ess_tail, ref.v[8], "ess_tail", ref.quantity);
    check_close(rhat_basic(x), ref.v[9], "rhat_basic", ref.quantity);
    check_close(ess_basic(x), ref.v[10], "ess_basic", ref.quantity);
    check_close(ess_quantile(x, 0.05), ref.v[11], "ess_q05", ref.quantity);
    check_close(ess_quantile(x, 0.95), ref.v[12], "ess_q95", ref.quantity);
    std::vector<double> ac = autocovariance(x[0]);
    check_close(ac[0], ref.v[13], "acov[0]", ref.quantity);
    check_close(ac[1], ref.v[14], "acov[1]", ref.quantity);
    check_close(ac[2], ref.v[15], "acov[2]", ref.quantity);
    check_close(ac[5], ref.v[16], "acov[5]", ref.quantity);
  }
}

TEST_CASE("summary: autocovariance equals the direct biased sum") {
  std::mt19937_64 rng(7);
  ChainDraws c = ar1_chains(rng, 1, 1001, 0.7);  // odd, not 2-3-5 smooth: padding matters
  const std::vector<double>& x = c[0];
  double m = 0;
  for (double v : x) m += v;
  m /= static_cast<double>(x.size());
  std::vector<double> ac = autocovariance(x);
  for (size_t lag : {0, 1, 2, 17, 500, 1000}) {
    double s = 0;
    for (size_t t = 0; t + lag < x.size(); ++t) s += (x[t] - m) * (x[t + lag] - m);
    CHECK(ac[lag] == doctest::Approx(s / static_cast<double>(x.size())).epsilon(1e-10).scale(1e-12));
  }
  CHECK(autocovariance(std::vector<double>(10, 3.0)) == std::vector<double>(10, 0.0));
}

TEST_CASE("summary: split chains, ranks, quantiles") {
  ChainDraws odd = {{1, 2, 3, 4, 5}, {6, 7, 8, 9, 10}};
  ChainDraws split = split_chains(odd);
  REQUIRE(split.size() == 4);
  CHECK(split[0] == std::vector<double>{1, 2});
  CHECK(split[1] == std::vector<double>{6, 7});
  CHECK(split[2] == std::vector<double>{4, 5});  // the middle draw 3 is dropped
  CHECK(split[3] == std::vector<double>{9, 10});
  // Ties share the average rank: ranks of {5, 1, 5, 3} are {3.5, 1, 3.5, 2}; S = 4.
  ChainDraws z = z_scale({{5, 1}, {5, 3}});
  // Phi(z) = (r - 3/8) / (S + 1/4)
  auto phi = [](double v) { return 0.5 * std::erfc(-v / std::sqrt(2.0)); };
  CHECK(phi(z[0][0]) == doctest::Approx((3.5 - 0.375) / 4.25));
  CHECK(phi(z[0][1]) == doctest::Approx((1 - 0.375) / 4.25));
  CHECK(z[1][0] == z[0][0]);
  CHECK(phi(z[1][1]) == doctest::Approx((2 - 0.375) / 4.25));
  CHECK(quantile({1, 2, 3, 4}, 0.5) == 2.5);
  CHECK(quantile({4, 1, 3, 2}, 0.05) == doctest::Approx(1.15));  // R type 7
  CHECK(std::isnan(rhat({{1, 1, 1}, {1, 1, 1}})));                // constant: NA in posterior
  CHECK(std::isnan(ess_bulk({{1, 2, NAN, 4}, {1, 2, 3, 4}})));    // non-finite: NA
}

TEST_CASE("summary: iid normal chains have ESS near S and R-hat near 1") {
  std::mt19937_64 rng(11);
  ChainDraws x = ar1_chains(rng, 4, 2000, 0.0);
  const double s = 8000;
  // The relative sd of an ESS estimate at this size is a few percent; 15% is > 3 sd.
  CHECK(ess_bulk(x) == doctest::Approx(s).epsilon(0.15));
  CHECK(ess_basic(x) == doctest::Approx(s).epsilon(0.15));
  CHECK(ess_tail(x) == doctest::Approx(s).epsilon(0.25));
  CHECK(rhat(x) < 1.01);
  CHECK(rhat(x) > 0.99);
  CHECK(rhat_basic(x) < 1.01);
}

TEST_CASE("summary: AR(1) chains have ESS near S (1 - rho) / (1 + rho)") {
  for (double rho : {0.5, 0.8, 0.95}) {
    std::mt19937_64 rng(static_cast<uint64_t>(rho * 1000));
    ChainDraws x = ar1_chains(rng, 4, 4000, rho);
    double theory = 16000 * (1 - rho) / (1 + rho);
    INFO("rho = " << rho << ", theory " << theory << ", ess_basic " << ess_basic(x)
                  << ", ess_bulk " << ess_bulk(x));
    CHECK(ess_basic(x) == doctest::Approx(theory).epsilon(0.25));
    CHECK(ess_bulk(x) == doctest::Approx(theory).epsilon(0.25));
    CHECK(rhat(x) < 1.02);
    // MCSE of the mean: sd / sqrt(ESS), and the stationary sd is 1 / sqrt(1 - rho^2).
    double sd = 1 / std::sqrt(1 - rho * rho);
    CHECK(mcse_mean(x) == doctest::Approx(sd / std::sqrt(theory)).epsilon(0.2));
  }
  // Antithetic chains: ESS above S, up to the cap S log10(S).
  std::mt19937_64 rng(5);
  ChainDraws anti = ar1_chains(rng, 4, 1000, -0.5);
  CHECK(ess_basic(anti) > 4000 * 1.5);
  CHECK(ess_basic(anti) <= 4000 * std::log10(4000.0) + 1e-9);
}

TEST_CASE("summary: chains with shifted means have a large R-hat") {
  std::mt19937_64 rng(3);
  ChainDraws shifted = ar1_chains(rng, 4, 1000, 0.3, 3.0);  // last chain shifted by 3
  CHECK(rhat(shifted) > 1.3);
  CHECK(rhat_basic(shifted) > 1.3);
  // A chain with the right mean but four times the spread: the folded (tail) R-hat sees it.
  std::mt19937_64 rng2(4);
  ChainDraws wide = ar1_chains(rng2, 4, 1000, 0.0);
  for (double& v : wide[3]) v *= 4;
  double bulk = rhat_of(z_scale(split_chains(wide)));
  CHECK(bulk < 1.02);
  CHECK(rhat(wide) > 1.1);
}

TEST_CASE("summary: E-BFMI") {
  // Alternating energies: mean squared difference 1, biased variance 1/4.
  CHECK(ebfmi({1, 2, 1, 2}) == doctest::Approx(4.0));
  // Independent energies: E (E_i - E_{i-1})^2 = 2 Var(E), so E-BFMI is near 2.
  std::mt19937_64 rng(9);
  ChainDraws iid = ar1_chains(rng, 1, 20000, 0.0);
  CHECK(ebfmi(iid[0]) == doctest::Approx(2.0).epsilon(0.05));
  // Strongly autocorrelated energy (poor momentum resampling): 2 (1 - rho), well below 0.3.
  ChainDraws slow = ar1_chains(rng, 1, 20000, 0.95);
  CHECK(ebfmi(slow[0]) == doctest::Approx(0.1).epsilon(0.2));
}
