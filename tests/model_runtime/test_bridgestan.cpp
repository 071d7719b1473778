// The BridgeStan C API of compiled models, called as a client would: through dlopen/dlsym.
#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "model_runtime/models.h"
#include "model_runtime/support.h"

using namespace halo::model_test;

namespace {

const std::string& normal_library() {
  static const std::string path = model_library("normal", kNormalModel);
  return path;
}
const std::string& shapes_library() {
  static const std::string path = model_library("shapes", kShapesModel);
  return path;
}

const std::string kConstructFailed = "bs_model_construct() failed with exception: ";

// The message of a failed construction (the test fails if construction succeeds).
std::string construct_error(const Client& client, const char* data) {
  std::string error;
  bs_model* m = client.construct(data, &error);
  if (m != nullptr) client.model_destruct(m);
  REQUIRE_MESSAGE(m == nullptr, "construction succeeded with data " << (data ? data : "NULL"));
  CHECK(error.rfind(kConstructFailed, 0) == 0);
  CHECK(error.back() == '\n');
  return error.substr(kConstructFailed.size(), error.size() - kConstructFailed.size() - 1);
}

double central_difference(const Client& c, bs_model* m, bool propto, bool jacobian, std::vector<double> x, size_t i) {
  const double h = 1e-6;
  double up = 0, down = 0;
  x[i] += h;
  REQUIRE(c.log_density(m, propto, jacobian, x.data(), &up, nullptr) == 0);
  x[i] -= 2 * h;
  REQUIRE(c.log_density(m, propto, jacobian, x.data(), &down, nullptr) == 0);
  return (up - down) / (2 * h);
}

double inv_logit(double u) { return 1 / (1 + std::exp(-u)); }

double normal_lpdf(double y, double mu, double sigma) {
  double z = (y - mu) / sigma;
  return -0.5 * z * z - std::log(sigma) - 0.9189385332046727;
}

}  // namespace

TEST_CASE("the library exports BridgeStan 2.7.0's symbols and describes itself") {
  Client c(normal_library());
  CHECK(c.major == 2);
  CHECK(c.minor == 7);
  CHECK(c.patch == 0);
  Model m(c, kNormalData);
  CHECK(std::string(c.name(m.model)) == "normal");
  std::string info = c.model_info(m.model);
  CHECK(info.find("BridgeStan version: 2.7.0") != std::string::npos);
  CHECK(info.find("Thread safety: always") != std::string::npos);
  CHECK(info.find("Compiled by: haloc ") != std::string::npos);
  // Returned strings are owned by the model and stable between calls.
  CHECK(c.name(m.model) == c.name(m.model));
}

TEST_CASE("names and counts: parameters, transformed parameters, generated quantities") {
  Client c(normal_library());
  Model m(c, kNormalData);
  CHECK(std::string(c.param_names(m.model, false, false)) == "mu,sigma");
  CHECK(std::string(c.param_names(m.model, true, false)) == "mu,sigma,sigma2");
  CHECK(std::string(c.param_names(m.model, false, true)) == "mu,sigma,y_rep");
  CHECK(std::string(c.param_names(m.model, true, true)) == "mu,sigma,sigma2,y_rep");
  CHECK(std::string(c.param_unc_names(m.model)) == "mu,sigma");
  CHECK(c.param_num(m.model, false, false) == 2);
  CHECK(c.param_num(m.model, true, false) == 3);
  CHECK(c.param_num(m.model, false, true) == 3);
  CHECK(c.param_num(m.model, true, true) == 4);
  CHECK(c.param_unc_num(m.model) == 2);
}

TEST_CASE("log density against the closed form, with and without propto and the Jacobian") {
  Client c(normal_library());
  Model m(c, kNormalData);
  NormalClosedForm exact;
  for (double mu : {-1.0, 0.3, 2.5}) {
    for (double u : {-0.7, 0.0, 1.2}) {
      for (bool propto : {false, true}) {
        for (bool jacobian : {false, true}) {
          double x[2] = {mu, u};
          double lp = 0;
          char* error = nullptr;
          REQUIRE(c.log_density(m.model, propto, jacobian, x, &lp, &error) == 0);
          CHECK(error == nullptr);
          CAPTURE(mu);
          CAPTURE(u);
          CAPTURE(propto);
          CAPTURE(jacobian);
          CHECK(lp == doctest::Approx(exact.log_density(mu, u, propto, jacobian)).epsilon(1e-12));
        }
      }
    }
  }
}

TEST_CASE("gradient against the closed form and central finite differences") {
  Client c(normal_library());
  Model m(c, kNormalData);
  NormalClosedForm exact;
  for (bool propto : {false, true}) {
    for (bool jacobian : {false, true}) {
      std::vector<double> x = {0.4, -0.2};
      double val = 0, lp = 0, grad[2], expected[2];
      REQUIRE(c.log_density_gradient(m.model, propto, jacobian, x.data(), &val, grad, nullptr) == 0);
      REQUIRE(c.log_density(m.model, propto, jacobian, x.data(), &lp, nullptr) == 0);
      CHECK(val == doctest::Approx(lp).epsilon(1e-14));
      exact.gradient(x[0], x[1], jacobian, expected);
      for (size_t i = 0; i < 2; ++i) {
        CHECK(grad[i] == doctest::Approx(expected[i]).epsilon(1e-12));
        CHECK(grad[i] == doctest::Approx(central_difference(c, m.model, propto, jacobian, x, i)).epsilon(1e-6));
      }
    }
  }
}

TEST_CASE("Hessian and Hessian-vector product by finite differences of the gradient") {
  Client c(normal_library());
  Model m(c, kNormalData);
  NormalClosedForm exact;
  double x[2] = {0.7, 0.3};
  double val = 0, grad[2], hessian[4], expected_grad[2], expected[4];
  REQUIRE(c.log_density_hessian(m.model, true, true, x, &val, grad, hessian, nullptr) == 0);
  exact.gradient(x[0], x[1], true, expected_grad);
  exact.hessian(x[0], x[1], expected);
  CHECK(val == doctest::Approx(exact.log_density(x[0], x[1], true, true)).epsilon(1e-12));
  for (int i = 0; i < 2; ++i) CHECK(grad[i] == doctest::Approx(expected_grad[i]).epsilon(1e-12));
  for (int i = 0; i < 4; ++i) CHECK(hessian[i] == doctest::Approx(expected[i]).epsilon(1e-6));
  CHECK(hessian[1] == hessian[2]);  // symmetrised

  double v[2] = {0.6, -1.3}, hvp[2];
  REQUIRE(c.log_density_hessian_vector_product(m.model, true, true, x, v, &val, hvp, nullptr) == 0);
  CHECK(val == doctest::Approx(exact.log_density(x[0], x[1], true, true)).epsilon(1e-12));
  CHECK(hvp[0] == doctest::Approx(expected[0] * v[0] + expected[1] * v[1]).epsilon(1e-6));
  CHECK(hvp[1] == doctest::Approx(expected[2] * v[0] + expected[3] * v[1]).epsilon(1e-6));

  double zero[2] = {0, 0};
  REQUIRE(c.log_density_hessian_vector_product(m.model, true, true, x, zero, &val, hvp, nullptr) == 0);
  CHECK(hvp[0] == 0.0);
  CHECK(hvp[1] == 0.0);
}

TEST_CASE("constrain, unconstrain and their round trip") {
  Client c(normal_library());
  Model m(c, kNormalData);
  double x[2] = {0.3, std::log(2.0)};
  double theta[4] = {-9, -9, -9, -9};
  REQUIRE(c.param_constrain(m.model, false, false, x, theta, nullptr, nullptr) == 0);
  CHECK(theta[0] == 0.3);
  CHECK(theta[1] == doctest::Approx(2.0).epsilon(1e-15));
  CHECK(theta[2] == -9);  // nothing written past param_num(false, false)
  REQUIRE(c.param_constrain(m.model, true, false, x, theta, nullptr, nullptr) == 0);
  CHECK(theta[2] == doctest::Approx(4.0).epsilon(1e-15));
  CHECK(theta[3] == -9);

  double back[2];
  REQUIRE(c.param_unconstrain(m.model, theta, back, nullptr) == 0);
  CHECK(back[0] == 0.3);
  CHECK(back[1] == doctest::Approx(std::log(2.0)).epsilon(1e-15));

  char* error = nullptr;
  double bad[2] = {0.0, -1.0};
  CHECK(c.param_unconstrain(m.model, bad, back, &error) == -1);
  std::string message = c.take(error);
  CHECK(message.rfind("bs_param_unconstrain() failed with exception: ", 0) == 0);
  CHECK(message.find("'sigma'") != std::string::npos);
}

TEST_CASE("generated quantities: an rng is required, and draws come from it") {
  Client c(normal_library());
  Model m(c, kNormalData);
  double x[2] = {1.0, std::log(0.5)};
  double theta[4];

  char* error = nullptr;
  CHECK(c.param_constrain(m.model, true, true, x, theta, nullptr, &error) == -1);
  CHECK(c.take(error) == "bs_param_constrain() failed with exception: include_gq=true but rng=nullptr\n");
  CHECK(c.param_constrain(m.model, true, true, x, theta, nullptr, nullptr) == -1);  // NULL error_msg

  bs_rng* first = c.rng_construct(42, nullptr);
  bs_rng* second = c.rng_construct(42, nullptr);
  bs_rng* other = c.rng_construct(43, nullptr);
  REQUIRE(first != nullptr);
  REQUIRE(c.param_constrain(m.model, true, true, x, theta, first, nullptr) == 0);
  CHECK(theta[0] == 1.0);
  CHECK(theta[1] == doctest::Approx(0.5).epsilon(1e-15));
  CHECK(theta[2] == doctest::Approx(0.25).epsilon(1e-15));
  double draw = theta[3];
  CHECK(std::isfinite(draw));
  CHECK(std::fabs(draw - 1.0) < 5 * 0.5);
  REQUIRE(c.param_constrain(m.model, false, true, x, theta, second, nullptr) == 0);
  CHECK(theta[2] == draw);  // same seed, same draw; params then GQ without the TP
  REQUIRE(c.param_constrain(m.model, true, true, x, theta, first, nullptr) == 0);
  CHECK(theta[3] != draw);  // the generator advanced
  REQUIRE(c.param_constrain(m.model, true, true, x, theta, other, nullptr) == 0);
  CHECK(theta[3] != draw);
  c.rng_destruct(first);
  c.rng_destruct(second);
  c.rng_destruct(other);

  // Without include_gq no rng is needed.
  CHECK(c.param_constrain(m.model, true, false, x, theta, nullptr, nullptr) == 0);
}

TEST_CASE("unconstrain from CmdStan JSON") {
  Client c(normal_library());
  Model m(c, kNormalData);
  double x[2];
  REQUIRE(c.param_unconstrain_json(m.model, R"({"mu": 0.3, "sigma": 2, "unused": [1, 2]})", x, nullptr) == 0);
  CHECK(x[0] == 0.3);
  CHECK(x[1] == doctest::Approx(std::log(2.0)).epsilon(1e-15));

  auto error_of = [&](const char* json) {
    char* error = nullptr;
    CHECK(c.param_unconstrain_json(m.model, json, x, &error) == -1);
    std::string text = c.take(error);
    CHECK(text.rfind("bs_param_unconstrain_json() failed with exception: ", 0) == 0);
    return text;
  };
  CHECK(error_of(R"({"mu": 0.3})").find("variable 'sigma' is missing") != std::string::npos);
  CHECK(error_of(R"({"mu": [0.3], "sigma": 2})").find("'mu'") != std::string::npos);
  CHECK(error_of(R"({"mu": 0.3, "sigma": -2})").find("'sigma'") != std::string::npos);
  CHECK(error_of(R"({"mu": 0.3, )").find("malformed JSON") != std::string::npos);
}

TEST_CASE("data errors: one message naming the variable") {
  Client c(normal_library());
  CHECK(construct_error(c, R"({"N": 5})") == "variable 'y' is missing from the data");
  CHECK(construct_error(c, R"({"y": [1, 2]})") == "variable 'N' is missing from the data");
  CHECK(construct_error(c, "") == "variable 'N' is missing from the data");
  CHECK(construct_error(c, nullptr) == "variable 'N' is missing from the data");
  CHECK(construct_error(c, R"({"N": 2.5, "y": [1, 2]})") == "'N' is declared int but the data has 2.5");
  CHECK(construct_error(c, R"({"N": 0, "y": []})") == "data 'N' is below its lower bound 1");
  CHECK(construct_error(c, R"({"N": 3, "y": [1, 2]})") == "'y' has 2 elements but is declared with N = 3");
  CHECK(construct_error(c, R"({"N": 1, "y": [[1]]})") ==
        "'y' is declared vector and needs 1 dimension, but the data has 2 dimensions (1 x 1)");
  CHECK(construct_error(c, R"({"N": [2], "y": [1, 2]})") ==
        "'N' is declared int and needs a single value, but the data has 1 dimension (1)");
  CHECK(construct_error(c, R"({"N": 2, "y": [1, "a"]})").find("'y'") != std::string::npos);
  CHECK(construct_error(c, R"({"N": 2, "y": [1, 2)").find("malformed JSON data at line 1") == 0);
  CHECK(construct_error(c, "[1, 2]").find("JSON object") != std::string::npos);
  CHECK(construct_error(c, "/nonexistent/data.json").find("/nonexistent/data.json") != std::string::npos);

  Client s(shapes_library());
  CHECK(construct_error(s, R"({"a": [[1, 2, 3], [4, 5, 6]], "X": [[1, 2, 3], [4, 5, 6]],
                             "n": [[1, 2, 3], [2.5, 5, 6]]})") ==
        "'n' is declared int but the data has n[2, 1] = 2.5");
  CHECK(construct_error(s, R"({"a": [[1, 2, 3], [4, 5, 6]], "X": [[1, 2], [4, 5]], "n": [[1, 2, 3], [4, 5, 6]]})")
            .find("'X'") != std::string::npos);
}

TEST_CASE("a NULL error_msg is allowed everywhere") {
  Client c(normal_library());
  CHECK(c.model_construct(R"({"N": 5})", 0, nullptr) == nullptr);
  CHECK(c.model_construct("{", 0, nullptr) == nullptr);
  CHECK(c.set_print_callback(nullptr, nullptr) == 0);
  bs_rng* rng = c.rng_construct(1, nullptr);
  CHECK(rng != nullptr);
  c.rng_destruct(rng);
  Model m(c, kNormalData);
  double x[2] = {0, 0}, out[4];
  CHECK(c.param_unconstrain_json(m.model, "{}", out, nullptr) == -1);
  CHECK(c.param_constrain(m.model, false, true, x, out, nullptr, nullptr) == -1);
}

TEST_CASE("data from a .json path, and a model without data") {
  Client c(normal_library());
  std::string path = scratch_file("normal_data.json", kNormalData);
  Model from_file(c, path.c_str());
  Model from_text(c, kNormalData);
  double x[2] = {0.1, 0.2}, a = 0, b = 0;
  REQUIRE(c.log_density(from_file.model, false, true, x, &a, nullptr) == 0);
  REQUIRE(c.log_density(from_text.model, false, true, x, &b, nullptr) == 0);
  CHECK(a == b);

  Client n(model_library("nodata", kNoDataModel));
  for (const char* data : {static_cast<const char*>(nullptr), "", "{}"}) {
    Model m(n, data);
    double y = 0.5, lp = 0;
    REQUIRE(n.log_density(m.model, false, false, &y, &lp, nullptr) == 0);
    CHECK(lp == doctest::Approx(normal_lpdf(0.5, 1, 2)).epsilon(1e-14));
  }
}

TEST_CASE("containers: Stan's names in column-major order, data read from row-major JSON") {
  Client c(shapes_library());
  Model m(c, kShapesData);
  CHECK(std::string(c.param_names(m.model, true, false)) ==
        "z.1.1,z.2.1,z.1.2,z.2.2,z.1.3,z.2.3,W.1.1,W.2.1,W.1.2,W.2.2,W.1.3,W.2.3,b,s");
  // The unconstrained vector holds each parameter in Halo's layout (arrays row-major).
  CHECK(std::string(c.param_unc_names(m.model)) ==
        "z.1.1,z.1.2,z.1.3,z.2.1,z.2.2,z.2.3,W.1.1,W.2.1,W.1.2,W.2.2,W.1.3,W.2.3,b");
  REQUIRE(c.param_unc_num(m.model) == 13);
  REQUIRE(c.param_num(m.model, true, true) == 14);

  std::vector<double> x(13);
  for (size_t k = 0; k < x.size(); ++k) x[k] = 0.1 * static_cast<double>(k) - 0.4;
  double z[2][3], W[2][3];
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j) {
      z[i][j] = x[static_cast<size_t>(i * 3 + j)];
      W[i][j] = x[static_cast<size_t>(6 + i + 2 * j)];
    }
  double u = x[12], b = -1 + 3 * inv_logit(u);

  double expected = std::log(3.0) + std::log(inv_logit(u)) + std::log(1 - inv_logit(u));
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j)
      expected += normal_lpdf(z[i][j], kShapesA[i][j], 1) + normal_lpdf(W[i][j], kShapesX[i][j], 1) +
                  normal_lpdf(b, kShapesN[i][j], 10);
  double lp = 0;
  REQUIRE(c.log_density(m.model, false, true, x.data(), &lp, nullptr) == 0);
  CHECK(lp == doctest::Approx(expected).epsilon(1e-12));

  std::vector<double> grad(13);
  REQUIRE(c.log_density_gradient(m.model, false, true, x.data(), &lp, grad.data(), nullptr) == 0);
  for (size_t i = 0; i < 13; ++i) CHECK(grad[i] == doctest::Approx(central_difference(c, m.model, false, true, x, i)).epsilon(1e-6));

  std::vector<double> theta(14);
  REQUIRE(c.param_constrain(m.model, true, false, x.data(), theta.data(), nullptr, nullptr) == 0);
  std::map<std::string, double> by_name;
  auto names = split_names(c.param_names(m.model, true, false));
  REQUIRE(names.size() == 14);
  for (size_t k = 0; k < names.size(); ++k) by_name[names[k]] = theta[k];
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j) {
      std::string index = "." + std::to_string(i + 1) + "." + std::to_string(j + 1);
      CHECK(by_name["z" + index] == z[i][j]);
      CHECK(by_name["W" + index] == W[i][j]);
    }
  CHECK(by_name["b"] == doctest::Approx(b).epsilon(1e-15));
  CHECK(by_name["s"] == doctest::Approx(2 * b).epsilon(1e-15));

  std::vector<double> back(13);
  REQUIRE(c.param_unconstrain(m.model, theta.data(), back.data(), nullptr) == 0);
  for (size_t k = 0; k < 13; ++k) CHECK(back[k] == doctest::Approx(x[k]).epsilon(1e-12));

  std::string json = R"({"z": [[)" + std::to_string(z[0][0]) + "," + std::to_string(z[0][1]) + "," +
                     std::to_string(z[0][2]) + "],[" + std::to_string(z[1][0]) + "," + std::to_string(z[1][1]) + "," +
                     std::to_string(z[1][2]) + R"(]], "W": [[)" + std::to_string(W[0][0]) + "," +
                     std::to_string(W[0][1]) + "," + std::to_string(W[0][2]) + "],[" + std::to_string(W[1][0]) + "," +
                     std::to_string(W[1][1]) + "," + std::to_string(W[1][2]) + R"(]], "b": 0.5})";
  REQUIRE(c.param_unconstrain_json(m.model, json.c_str(), back.data(), nullptr) == 0);
  for (size_t k = 0; k < 12; ++k) CHECK(back[k] == doctest::Approx(x[k]).epsilon(1e-12));
  CHECK(inv_logit(back[12]) * 3 - 1 == doctest::Approx(0.5).epsilon(1e-12));
}

TEST_CASE("print() goes to the print callback, reject() fails the call with its message") {
  static std::string printed;
  Client c(model_library("printer", kPrinterModel));
  REQUIRE(c.set_print_callback([](const char* data, size_t size) { printed.append(data, size); }, nullptr) == 0);
  Model m(c, R"({"N": 3})");
  printed.clear();
  double mu = 0.5, lp = 0, grad = 0;
  REQUIRE(c.log_density(m.model, false, false, &mu, &lp, nullptr) == 0);
  CHECK(printed == "mu = 0.5, N = 3\n");
  REQUIRE(c.log_density_gradient(m.model, true, true, &mu, &lp, &grad, nullptr) == 0);
  CHECK(printed == "mu = 0.5, N = 3\nmu = 0.5, N = 3\n");

  mu = 150;
  char* error = nullptr;
  CHECK(c.log_density(m.model, false, false, &mu, &lp, &error) == -1);
  CHECK(c.take(error) == "bs_log_density() failed with exception: mu too big: 150\n");
  CHECK(c.log_density_gradient(m.model, false, false, &mu, &lp, &grad, &error) == -1);
  CHECK(c.take(error) == "bs_log_density_gradient() failed with exception: mu too big: 150\n");
  REQUIRE(c.set_print_callback(nullptr, nullptr) == 0);
}

TEST_CASE("print() of containers: Stan's nested brackets, row by row") {
  static std::string printed;
  Client c(model_library("container_printer", kContainerPrinterModel));
  REQUIRE(c.set_print_callback([](const char* data, size_t size) { printed.append(data, size); }, nullptr) == 0);
  Model m(c, "");
  printed.clear();
  double mu = 0.5, lp = 0;
  REQUIRE(c.log_density(m.model, false, false, &mu, &lp, nullptr) == 0);
  CHECK(printed == "{m} = [[1,2,3],[4,5,0.5]] a = [[1,2],[3,4]] v = [1,2,3]\n");
  REQUIRE(c.set_print_callback(nullptr, nullptr) == 0);
}

TEST_CASE("two model libraries loaded RTLD_GLOBAL each run their own generated code") {
  Client a(normal_library(), RTLD_NOW | RTLD_GLOBAL);
  Client b(shapes_library(), RTLD_NOW | RTLD_GLOBAL);
  Model ma(a, kNormalData);
  Model mb(b, kShapesData);
  CHECK(std::string(a.name(ma.model)) == "normal");
  CHECK(std::string(b.name(mb.model)) == "shapes");
  CHECK(a.param_unc_num(ma.model) == 2);
  CHECK(b.param_unc_num(mb.model) == 13);
  double x[2] = {0.2, 0.1}, lp = 0;
  REQUIRE(a.log_density(ma.model, true, true, x, &lp, nullptr) == 0);
  CHECK(lp == doctest::Approx(NormalClosedForm().log_density(0.2, 0.1, true, true)).epsilon(1e-12));
}

TEST_CASE("metadata: names, shapes with this data's sizes, constraints, versions") {
  Client c(shapes_library());
  Model m(c, kShapesData);
  auto meta = nlohmann::json::parse(c.metadata(m.model));
  CHECK(meta["name"] == "shapes");
  CHECK(meta["bridgestan_version"] == "2.7.0");
  CHECK(meta["unconstrained_size"] == 13);
  REQUIRE(meta["parameters"].size() == 3);
  CHECK(meta["parameters"][0]["name"] == "z");
  CHECK(meta["parameters"][0]["type"] == "array[] vector");
  CHECK(meta["parameters"][0]["dims"] == nlohmann::json::array({2, 3}));
  CHECK(meta["parameters"][2]["constraint"] == "lower_upper");
  CHECK(meta["transformed_parameters"][0]["name"] == "s");
  CHECK(meta["data"][2]["name"] == "n");
  CHECK(meta["data"][2]["elem"] == "int");
  CHECK(meta["data"][2]["dims"] == nlohmann::json::array({2, 3}));
}
