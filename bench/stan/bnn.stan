// Stan 2.21 twin of models/bnn/bnn.model: MLP 1 -> 5 -> 10 -> 1, softplus hidden layers,
// written with matrices over all rows at once (the fast way to write it in Stan). Parameter
// names mirror Halo's (net.layer1.W -> net_layer1_W; W_k is matrix[w_k, w_(k-1)]) so the bench
// maps the two unconstrained vectors onto each other by name.
data {
  int<lower=1> N;
  vector[N] x;
  vector[N] y;
  int<lower=1> N_grid;
  vector[N_grid] x_grid;
}
transformed data {
  matrix[1, N] xt = to_matrix(x');
  matrix[1, N_grid] xt_grid = to_matrix(x_grid');
}
parameters {
  matrix[5, 1] net_layer1_W;
  vector[5] net_layer1_b;
  matrix[10, 5] net_layer2_W;
  vector[10] net_layer2_b;
  matrix[1, 10] net_layer3_W;
  vector[1] net_layer3_b;
  real<lower=0> sigma;
}
model {
  // Hidden activations as columns, one per row of the data.
  matrix[5, N] h1 = log1p_exp(net_layer1_W * xt + rep_matrix(net_layer1_b, N));
  matrix[10, N] h2 = log1p_exp(net_layer2_W * h1 + rep_matrix(net_layer2_b, N));
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
generated quantities {
  vector[N_grid] mu_grid;
  real y_grid[N_grid];
  {
    matrix[5, N_grid] g1 = log1p_exp(net_layer1_W * xt_grid + rep_matrix(net_layer1_b, N_grid));
    matrix[10, N_grid] g2 = log1p_exp(net_layer2_W * g1 + rep_matrix(net_layer2_b, N_grid));
    mu_grid = (net_layer3_W[1] * g2 + net_layer3_b[1])';
  }
  y_grid = normal_rng(mu_grid, sigma);
}
