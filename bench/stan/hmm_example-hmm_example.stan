// Stan 2.21 twin of models/posteriordb/hmm_example-hmm_example.model.
data {
  int<lower=1> N;
  int<lower=1> K;
  real y[N];
}
parameters {
  simplex[K] theta1;
  simplex[K] theta2;
  positive_ordered[K] mu;
}
model {
  vector[K] theta[K] = {theta1, theta2};
  vector[K] log_forward[N];
  vector[K] acc;

  mu[1] ~ normal(3, 1);
  mu[2] ~ normal(10, 1);

  for (k in 1:K) {
    log_forward[1, k] = normal_lpdf(y[1] | mu[k], 1);
  }
  for (t in 2:N) {
    for (k in 1:K) {
      for (j in 1:K) {
        acc[j] = log_forward[t - 1, j] + log(theta[j, k]);
      }
      log_forward[t, k] = log_sum_exp(acc) + normal_lpdf(y[t] | mu[k], 1);
    }
  }
  target += log_sum_exp(log_forward[N]);
}
