// Halo's neural components: `mlp(...)` / `dense(...)` declarations, their members, their
// application `net(x)`, and priors on whole networks, layers and weight tensors.
#include <algorithm>
#include <set>

#include "semantic/checker.h"

namespace halo::semantic {

namespace {

const std::vector<std::string>& activation_names() {
  static const std::vector<std::string> names = {"relu", "tanh", "softplus", "sigmoid", "elu", "gelu", "leaky_relu",
                                                 "identity"};
  return names;
}

int layer_count(const ast::NetworkDecl& n) { return static_cast<int>(n.widths.size()) - 1; }

std::string list_words(const std::vector<std::string>& items) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) out += i + 1 == items.size() ? " or " : ", ";
    out += items[i];
  }
  return out;
}

}  // namespace

void Checker::network_decl(ast::NetworkDecl& n) {
  const bool in_parameters = !ctx_.function && ctx_.block == ast::BlockKind::Parameters;
  if (!in_parameters) {
    Diagnostic& d = diags_.error(Span::cover(n.span, n.name_span), "networks can only be declared in the parameters block");
    d.hint = "their weights and biases are parameters";
  }
  n.origin = in_parameters ? Origin::Parameter : Origin::Local;

  // Widths: positive ints of data.
  for (ast::ExprPtr& w : n.widths) {
    Type t = expr(*w);
    if (t.is_error()) continue;
    if (!t.is_int()) {
      Diagnostic& d = diags_.error(w->span, "a network width must be an int");
      d.found = t.str();
      d.expected = "int";
      continue;
    }
    if (const ast::Variable* v = first_non_data(*w); v && v->origin != Origin::Unresolved) {
      Diagnostic& d = diags_.error(v->span, "a network width must depend on data only");
      d.found = "'" + v->name + "'";
      d.hint = "widths may use only literals, data and transformed data";
      continue;
    }
    Dim width = size_of(*w);
    if (width.kind == Dim::Kind::Const && width.value <= 0) {
      Diagnostic& d = diags_.error(w->span, "a network width must be positive");
      d.found = std::to_string(width.value);
    }
  }
  const int layers = layer_count(n);
  bool ok = true;
  if (n.network == ast::NetworkKind::Dense && n.widths.size() != 2) {
    Diagnostic& d = diags_.error(Span::cover(n.widths.front()->span, n.widths.back()->span),
                                 "dense(a -> b) has exactly one layer, so it takes two widths");
    d.found = std::to_string(n.widths.size()) + " widths";
    d.hint = "use mlp(...) for a network of several layers";
    ok = false;
  }

  // Activations: names, then how many were written for how many layers.
  std::vector<std::string> written;
  for (const auto& a : n.activations) {
    const auto& names = activation_names();
    if (std::find(names.begin(), names.end(), a.name) == names.end()) {
      Diagnostic& d = diags_.error(a.span, "unknown activation '" + a.name + "'");
      std::string close = closest_match(a.name, names);
      d.hint = close.empty() ? "the activations are " + list_words(names) : "did you mean '" + close + "'?";
      ok = false;
    }
    written.push_back(a.name);
  }
  const int k = static_cast<int>(written.size());
  if (n.network == ast::NetworkKind::Dense && k > 1) {
    Diagnostic& d = diags_.error(Span::cover(n.activations[1].span, n.activations.back().span),
                                 "dense(...) takes at most one activation");
    d.found = std::to_string(k) + " activations";
    ok = false;
  } else if (ok && layers >= 1) {
    std::vector<std::string> per_layer(static_cast<size_t>(layers), "identity");
    if (k == layers) {
      per_layer = written;
    } else if (k == 1) {
      for (int i = 0; i + 1 < layers; ++i) per_layer[static_cast<size_t>(i)] = written[0];
    } else if (k == layers - 1) {
      for (int i = 0; i + 1 < layers; ++i) per_layer[static_cast<size_t>(i)] = written[static_cast<size_t>(i)];
    } else if (k != 0) {
      std::set<int> allowed = {0, 1, layers - 1, layers};
      std::vector<std::string> counts;
      for (int a : allowed) counts.push_back(std::to_string(a));
      Diagnostic& d = diags_.error(Span::cover(n.activations.front().span, n.activations.back().span),
                                   std::to_string(k) + " activations for " + std::to_string(layers) + " layers");
      d.found = std::to_string(k) + " activations";
      d.expected = list_words(counts) + " activations";
      d.hint = "write one per layer (" + std::to_string(layers) + "), one per hidden layer (" +
               std::to_string(layers - 1) + ", the output layer is identity), one for every hidden layer (1), "
               "or none (identity everywhere)";
      ok = false;
    }
    if (ok) n.layer_activations = per_layer;
  }

  Symbol s;
  s.name = n.name;
  s.type = Type::scalar(BaseKind::Network);
  s.type.network = &n;
  s.origin = n.origin;
  s.span = n.name_span;
  s.block = ctx_.block;
  s.in_function = ctx_.function != nullptr;
  s.read_only = true;
  s.data_only = false;
  s.network = &n;
  declare(std::move(s));
}

namespace {

// The width w_k of a network (k = 0: its input) as a size.
Dim width(const Checker& c, const ast::NetworkDecl& n, int k) {
  if (k < 0 || k >= static_cast<int>(n.widths.size())) return Dim::unknown();
  return c.size_of(*n.widths[static_cast<size_t>(k)]);
}

// "layer3" -> 3, else 0.
int layer_number(const std::string& member) {
  if (member.size() <= 5 || member.compare(0, 5, "layer") != 0) return 0;
  int k = 0;
  for (size_t i = 5; i < member.size(); ++i) {
    if (member[i] < '0' || member[i] > '9' || k > 100000) return 0;
    k = k * 10 + (member[i] - '0');
  }
  return k;
}

}  // namespace

bool Checker::is_network_rooted(const ast::Expr& e) {
  const ast::Expr* root = &e;
  while (root->kind == ast::ExprKind::Member) root = static_cast<const ast::Member*>(root)->base.get();
  return root->type.base == BaseKind::Network;
}

Type Checker::member(ast::Member& m) {
  Type base = expr_any(*m.base);
  if (base.is_error()) return Type::error();
  const std::string subject = text(*m.base);
  const ast::NetworkDecl* net = base.network;
  auto tensor = [&](int layer, bool weights) {
    if (weights) return normalized(Type::matrix(width(*this, *net, layer), width(*this, *net, layer - 1)));
    return normalized(Type::vector(width(*this, *net, layer)));
  };
  if (base.base == BaseKind::Network) {
    const int layers = layer_count(*net);
    const bool dense = net->network == ast::NetworkKind::Dense;
    if (dense && (m.member == "W" || m.member == "b")) return tensor(1, m.member == "W");
    if (int k = layer_number(m.member); k > 0) {
      if (k <= layers) {
        Type t = Type::scalar(BaseKind::Layer);
        t.network = net;
        t.layer = k;
        return t;
      }
      Diagnostic& d = diags_.error(m.member_span, "'" + subject + "' has " + std::to_string(layers) +
                                                      (layers == 1 ? " layer" : " layers") + "; '" + m.member +
                                                      "' does not exist");
      d.hint = layers == 1   ? "its only layer is layer1"
               : layers == 2 ? "its layers are layer1 and layer2"
                             : "its layers are layer1 to layer" + std::to_string(layers);
      return Type::error();
    }
    std::vector<std::string> members;
    for (int k = 1; k <= layers; ++k) members.push_back("layer" + std::to_string(k));
    if (dense) members.insert(members.begin(), {"W", "b"});
    Diagnostic& d = diags_.error(m.member_span, "'" + subject + "' has no member '" + m.member + "'");
    std::string close = closest_match(m.member, members);
    std::string all;
    for (const auto& x : members) all += (all.empty() ? "" : ", ") + x;
    d.hint = (close.empty() ? "" : "did you mean '" + close + "'? ") + "its members are " + all;
    return Type::error();
  }
  if (base.base == BaseKind::Layer) {
    if (m.member == "W" || m.member == "b") return tensor(base.layer, m.member == "W");
    Diagnostic& d = diags_.error(m.member_span, "a layer has the members W and b; '" + m.member + "' is not one");
    std::string close = closest_match(m.member, {"W", "b"});
    d.hint = close.empty() ? "W is the weight matrix (output rows, input columns), b the bias vector"
                           : "did you mean '" + close + "'?";
    return Type::error();
  }
  Diagnostic& d = diags_.error(m.member_span, "'" + subject + "' has no members");
  d.found = base.str();
  d.hint = "only networks (net.layer1) and layers (net.layer1.W, net.layer1.b) have members";
  return Type::error();
}

Type Checker::apply_network(ast::Call& c, const Symbol& sym) {
  const ast::NetworkDecl& net = *sym.network;
  c.resolved = "network " + net.name;
  if (c.has_bar) diags_.error(c.span, "'|' is only for density calls; a network takes one argument");
  if (c.args.size() != 1) {
    for (auto& a : c.args) expr(*a);
    Diagnostic& d = diags_.error(c.span, "a network takes one argument");
    d.found = std::to_string(c.args.size()) + " arguments";
    d.expected = "a vector, a matrix (one input per row) or an array of vectors";
    return Type::error();
  }
  ast::Expr& arg = *c.args[0];
  Type x = expr(arg);
  if (x.is_error()) return Type::error();
  const int layers = layer_count(net);
  const Dim w0 = width(*this, net, 0), wl = width(*this, net, layers);
  const bool one_in = w0.kind == Dim::Kind::Const && w0.value == 1;
  const bool one_out = wl.kind == Dim::Kind::Const && wl.value == 1;
  auto mismatch = [&](const Dim& got, const std::string& expected) {
    Diagnostic& d = diags_.error(arg.span, "'" + net.name + "' takes inputs of width " + w0.str() +
                                               ", but the argument has width " + got.str());
    d.found = x.str();
    d.expected = expected;
    return Type::error();
  };
  if (x.array_dims == 0 && x.base == BaseKind::Vector) {
    const Dim n = dim_of_type(x, 0);
    if (one_in) {  // N rows of one feature
      return normalized(one_out ? Type::vector(n) : Type::matrix(n, wl));
    }
    if (n.conflicts_with(w0)) return mismatch(n, "vector[" + w0.str() + "]");
    return normalized(Type::vector(wl));
  }
  if (x.array_dims == 0 && x.base == BaseKind::Matrix) {
    const Dim rows = dim_of_type(x, 0), cols = dim_of_type(x, 1);
    if (cols.conflicts_with(w0)) return mismatch(cols, "matrix[" + rows.str() + ", " + w0.str() + "]");
    return normalized(one_out ? Type::vector(rows) : Type::matrix(rows, wl));
  }
  if (x.array_dims == 1 && x.base == BaseKind::Vector) {
    const Dim n = dim_of_type(x, 0), w = dim_of_type(x, 1);
    if (w.conflicts_with(w0)) return mismatch(w, "array[" + n.str() + "] vector[" + w0.str() + "]");
    Type out = Type::vector(wl);
    out.array_dims = 1;
    out.dims = {n, wl};
    return normalized(out);
  }
  Diagnostic& d = diags_.error(arg.span, "a network is applied to a vector, a matrix or an array of vectors");
  d.found = x.str();
  d.expected = "vector[" + w0.str() + "], matrix[N, " + w0.str() + "] (one input per row) or array[N] vector[" +
               w0.str() + "]";
  if (x.base == BaseKind::RowVector && x.array_dims == 0) d.hint = "transpose it with ' to make a column vector";
  return Type::error();
}

void Checker::network_prior(ast::Tilde& t) {
  // The arguments of a prior on weights are scalars: each weight gets the same distribution.
  std::vector<ast::Expr*> arg_exprs = {t.lhs.get()};
  std::vector<ArgInfo> args = {{Type::real(), Dim::unknown()}};
  bool bad = false;
  for (auto& a : t.args) {
    Type at = expr(*a);
    if (!at.is_error() && !at.is_scalar()) {
      Diagnostic& d = diags_.error(a->span, "a prior on network weights takes scalar arguments");
      d.found = at.str();
      d.expected = "int or real";
      d.hint = "the same distribution is applied to every weight and bias of '" + text(*t.lhs) + "'";
      at = Type::error();
    }
    bad = bad || at.is_error();
    arg_exprs.push_back(a.get());
    args.push_back({at, Dim::unknown()});
  }
  if (t.truncated) {
    diags_.error(t.distribution_span, "a prior on network weights cannot be truncated");
    if (t.truncation_lo) expr(*t.truncation_lo);
    if (t.truncation_hi) expr(*t.truncation_hi);
  }
  const std::string& dist = t.distribution;
  if (!is_builtin_function(dist + "_lpdf") && !functions_.count(dist + "_lpdf")) {
    if (is_builtin_function(dist + "_lpmf") || functions_.count(dist + "_lpmf")) {
      Diagnostic& d = diags_.error(t.distribution_span, "a prior on network weights needs a continuous distribution");
      d.found = "'" + dist + "', a distribution over integers";
      return;
    }
    Diagnostic& d = diags_.error(t.distribution_span, "unknown distribution '" + dist + "'");
    std::string close = closest_match(dist, distribution_families());
    if (!close.empty()) d.hint = "did you mean '" + close + "'?";
    return;
  }
  if (bad) return;
  Resolution r = resolve({dist + "_lpdf"}, dist + "_lpdf", t.distribution_span,
                         Span::cover(t.lhs->span, t.distribution_span), arg_exprs, args, true, dist);
  t.signature = r.signature;
  t.user_function = r.user;
  t.resolved = r.text;
}

}  // namespace halo::semantic
