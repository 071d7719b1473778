// Stan 2.21 twin of models/posteriordb/earnings-logearn_interaction.model.
data {
  int<lower=0> N;
  vector<lower=0>[N] earn;
  vector[N] height;
  vector<lower=0, upper=1>[N] male;
}
transformed data {
  vector[N] log_earn = log(earn);
  vector[N] inter = height .* male;
}
parameters {
  vector[4] beta;
  real<lower=0> sigma;
}
model {
  log_earn ~ normal(beta[1] + beta[2] * height + beta[3] * male + beta[4] * inter, sigma);
}
