// The models the runtime tests compile, with their data and closed forms.
#pragma once
#include <cmath>
#include <string>
#include <vector>

namespace halo::model_test {

// A normal model with transformed data, a transformed parameter, a generated quantity and a
// constrained data variable.
inline const char* const kNormalModel = R"(data {
  int<lower=1> N;
  vector[N] y;
}
transformed data {
  real ybar = mean(y);
}
parameters {
  real mu;
  real<lower=0> sigma;
}
transformed parameters {
  real<lower=0> sigma2 = sigma * sigma;
}
model {
  mu ~ normal(ybar, 10);
  sigma ~ normal(0, 5);
  y ~ normal(mu, sigma);
}
generated quantities {
  real y_rep = normal_rng(mu, sigma);
}
)";

inline const std::vector<double> kNormalY = {0.5, 1.5, -0.3, 2.2, 1.1};
inline const char* const kNormalData = R"({"N": 5, "y": [0.5, 1.5, -0.3, 2.2, 1.1]})";

// The normal model's log density at theta_unc = (mu, log sigma), as the stdlib defines
// normal_lpdf and its propto form.
struct NormalClosedForm {
  double ybar() const {
    double s = 0;
    for (double y : kNormalY) s += y;
    return s / static_cast<double>(kNormalY.size());
  }
  double log_density(double mu, double u, bool propto, bool jacobian) const {
    const double log_sqrt_2pi = 0.9189385332046727;
    double sigma = std::exp(u);
    double n = static_cast<double>(kNormalY.size());
    double lp = -0.5 * std::pow((mu - ybar()) / 10, 2) - 0.5 * std::pow(sigma / 5, 2);
    for (double y : kNormalY) lp += -0.5 * std::pow((y - mu) / sigma, 2);
    lp -= n * std::log(sigma);
    if (!propto) lp -= std::log(10.0) + std::log(5.0) + (n + 2) * log_sqrt_2pi;
    if (jacobian) lp += u;
    return lp;
  }
  void gradient(double mu, double u, bool jacobian, double* g) const {
    double sigma = std::exp(u);
    double s1 = 0, s2 = 0;
    for (double y : kNormalY) {
      s1 += y - mu;
      s2 += (y - mu) * (y - mu);
    }
    double n = static_cast<double>(kNormalY.size());
    g[0] = -(mu - ybar()) / 100 + s1 / (sigma * sigma);
    g[1] = -sigma * sigma / 25 + s2 / (sigma * sigma) - n + (jacobian ? 1 : 0);
  }
  // Row-major 2 x 2.
  void hessian(double mu, double u, double* h) const {
    double sigma2 = std::exp(2 * u);
    double s1 = 0, s2 = 0;
    for (double y : kNormalY) {
      s1 += y - mu;
      s2 += (y - mu) * (y - mu);
    }
    double n = static_cast<double>(kNormalY.size());
    h[0] = -1.0 / 100 - n / sigma2;
    h[1] = h[2] = -2 * s1 / sigma2;
    h[3] = -2 * sigma2 / 25 - 2 * s2 / sigma2;
  }
};

// Containers of every layout: arrays of vectors, matrices, 2-D int arrays, a bounded scalar.
inline const char* const kShapesModel = R"(data {
  array[2] vector[3] a;
  matrix[2, 3] X;
  array[2, 3] int n;
}
parameters {
  array[2] vector[3] z;
  matrix[2, 3] W;
  real<lower=-1, upper=2> b;
}
transformed parameters {
  real s = b * 2;
}
model {
  for (i in 1:2) {
    for (j in 1:3) {
      z[i][j] ~ normal(a[i][j], 1);
      W[i, j] ~ normal(X[i, j], 1);
      b ~ normal(n[i, j], 10);
    }
  }
}
)";

inline const char* const kShapesData =
    R"({"a": [[1, 2, 3], [4, 5, 6]], "X": [[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]], "n": [[1, 2, 3], [4, 5, 6]]})";
inline const double kShapesA[2][3] = {{1, 2, 3}, {4, 5, 6}};
inline const double kShapesX[2][3] = {{0.1, 0.2, 0.3}, {0.4, 0.5, 0.6}};
inline const double kShapesN[2][3] = {{1, 2, 3}, {4, 5, 6}};

// print() and reject().
inline const char* const kPrinterModel = R"(data {
  int N;
}
parameters {
  real mu;
}
model {
  print("mu = ", mu, ", N = ", N);
  if (mu > 100) reject("mu too big: ", mu);
  mu ~ normal(0, 1);
}
)";

// Printing containers (and literal braces).
inline const char* const kContainerPrinterModel = R"(parameters {
  real mu;
}
model {
  matrix[2, 3] m = [[1, 2, 3], [4, 5, mu]];
  array[2] vector[2] a = {[1, 2]', [3, 4]'};
  print("{m} = ", m, " a = ", a, " v = ", m[1]);
  mu ~ normal(0, 1);
}
)";

// No data at all.
inline const char* const kNoDataModel = R"(parameters {
  real x;
}
model {
  x ~ normal(1, 2);
}
)";

}  // namespace halo::model_test
