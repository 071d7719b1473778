// Stan 2.21 twin of bench/models/bnn_wide.model: MLP 14 -> 64 -> 64 -> 1, tanh hidden layers,
// on all rows at once; names mirror Halo's (see bnn.stan).
data {
  int<lower=1> N;
  matrix[N, 14] X;
  vector[N] y;
}
transformed data {
  matrix[14, N] Xt = X';
}
parameters {
  matrix[64, 14] net_layer1_W;
  vector[64] net_layer1_b;
  matrix[64, 64] net_layer2_W;
  vector[64] net_layer2_b;
  matrix[1, 64] net_layer3_W;
  vector[1] net_layer3_b;
  real<lower=0> sigma;
}
model {
  matrix[64, N] h1 = tanh(net_layer1_W * Xt + rep_matrix(net_layer1_b, N));
  matrix[64, N] h2 = tanh(net_layer2_W * h1 + rep_matrix(net_layer2_b, N));
  row_vector[N] out = net_layer3_W[1] * h2 + net_layer3_b[1];
  to_vector(net_layer1_W) ~ normal(0, 1);
  net_layer1_b ~ normal(0, 1);
  to_vector(net_layer2_W) ~ normal(0, 1);
  net_layer2_b ~ normal(0, 1);
  to_vector(net_layer3_W) ~ normal(0, 1);
  net_layer3_b ~ normal(0, 1);
  sigma ~ lognormal(0, 1);
  y ~ normal(out', sigma);
}
