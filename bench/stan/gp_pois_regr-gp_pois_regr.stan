// Stan 2.21 twin of models/posteriordb/gp_pois_regr-gp_pois_regr.model.
data {
  int<lower=1> N;
  real x[N];
  int<lower=0> k[N];
}
parameters {
  real<lower=0> rho;
  real<lower=0> alpha;
  vector[N] f_tilde;
}
transformed parameters {
  vector[N] f;
  {
    matrix[N, N] cov = add_diag(cov_exp_quad(x, alpha, rho), 1e-10);
    matrix[N, N] L_cov = cholesky_decompose(cov);
    f = L_cov * f_tilde;
  }
}
model {
  rho ~ gamma(25, 4);
  alpha ~ normal(0, 2);
  f_tilde ~ normal(0, 1);
  k ~ poisson_log(f);
}
