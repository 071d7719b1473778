// Precompiled header of the Stan harnesses (bench/run_gradient_bench.py): the Stan Math and
// model headers take most of a harness's ~1 min compile; precompiled once, each model then
// compiles in a fraction of that. Eigen.hpp comes first, standing in for the force-include of
// ../shared/toolchain.md section 7 (a PCH must be the first thing the compiler reads).
#include <stan/math/prim/mat/fun/Eigen.hpp>
#include <stan/model/model_header.hpp>
#include <stan/model/log_prob_grad.hpp>
#include <stan/io/array_var_context.hpp>
#include <nlohmann/json.hpp>
