// Small models whose posteriors are known in closed form, for the end-to-end tests.
#pragma once

namespace halo::cli::test {

// mu | y ~ normal(m, sqrt(v)) with v = 1 / (1 / tau0^2 + N / sigma^2), m = v (mu0 / tau0^2 +
// sum(y) / sigma^2); s ~ gamma(3, 2) independently (mean 1.5, sd sqrt(3) / 2, kurtosis 5);
// y_new ~ normal(m, sqrt(v + sigma^2)).
inline constexpr const char* kNormalModel = R"(data {
  int<lower=0> N;
  vector[N] y;
  real<lower=0> sigma;
  real mu0;
  real<lower=0> tau0;
}
parameters {
  real mu;
  real<lower=0> s;
}
model {
  mu ~ normal(mu0, tau0);
  s ~ gamma(3, 2);
  y ~ normal(mu, sigma);
}
generated quantities {
  real y_new = normal_rng(mu, sigma);
}
)";
inline constexpr const char* kNormalData =
    R"({"N": 5, "y": [1.2, 0.4, 2.3, 1.7, 0.9], "sigma": 1, "mu0": 0, "tau0": 2})";
// The closed form for kNormalData: v = 1 / 5.25, m = 6.5 / 5.25.
inline constexpr double kNormalPostVar = 1.0 / 5.25;
inline constexpr double kNormalPostMean = 6.5 / 5.25;

}  // namespace halo::cli::test
