// The signature language's parser, the table's indexes, and argument matching.
#include "semantic/signatures.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <stdexcept>
#include <unordered_map>

#include "semantic/signature_table.h"

namespace halo::semantic {

using ast::BaseKind;
using ast::Dim;
using ast::Type;

const char* to_string(SigKind k) {
  switch (k) {
    case SigKind::Function: return "function";
    case SigKind::Lpdf: return "lpdf";
    case SigKind::Lupdf: return "lupdf";
    case SigKind::Lpmf: return "lpmf";
    case SigKind::Lupmf: return "lupmf";
    case SigKind::Cdf: return "cdf";
    case SigKind::Lcdf: return "lcdf";
    case SigKind::Lccdf: return "lccdf";
    case SigKind::Rng: return "rng";
  }
  return "?";
}

bool needs_bar(SigKind k) {
  return k != SigKind::Function && k != SigKind::Rng;
}

namespace {

const char* base_word(BaseKind b) {
  switch (b) {
    case BaseKind::Int: return "int";
    case BaseKind::Real: return "real";
    case BaseKind::Vector: return "vector";
    case BaseKind::RowVector: return "row_vector";
    case BaseKind::Matrix: return "matrix";
    default: return "?";
  }
}

int element_rank(BaseKind b) {
  return b == BaseKind::Vector || b == BaseKind::RowVector ? 1 : b == BaseKind::Matrix ? 2 : 0;
}

bool is_numeric(BaseKind b) {
  return b == BaseKind::Int || b == BaseKind::Real || b == BaseKind::Vector ||
         b == BaseKind::RowVector || b == BaseKind::Matrix;
}

// The suffix of a function name that gives it its role, and the family it belongs to.
SigKind kind_from_name(const std::string& name, std::string* family) {
  static const std::pair<const char*, SigKind> suffixes[] = {
      {"_lpdf", SigKind::Lpdf}, {"_lupdf", SigKind::Lupdf}, {"_lpmf", SigKind::Lpmf},
      {"_lupmf", SigKind::Lupmf}, {"_lcdf", SigKind::Lcdf}, {"_lccdf", SigKind::Lccdf},
      {"_cdf", SigKind::Cdf}, {"_rng", SigKind::Rng}};
  for (const auto& [suffix, kind] : suffixes) {
    std::string s = suffix;
    if (name.size() > s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0) {
      *family = name.substr(0, name.size() - s.size());
      return kind;
    }
  }
  family->clear();
  return SigKind::Function;
}

// ---- the signature language's parser ----

class EntryParser {
 public:
  explicit EntryParser(const std::string& text) : s_(text) {}

  // Parses one table line into one or more entries (a family line expands).
  std::vector<Signature> parse() {
    skip_ws();
    std::string first = peek_word();
    if (first == "pdf" || first == "pmf") return family(first == "pmf");
    Signature sig;
    size_t result_begin = pos_;
    sig.result = result();
    sig.result_text = trimmed(s_.substr(result_begin, pos_ - result_begin));
    sig.name = identifier();
    sig.kind = kind_from_name(sig.name, &sig.family);
    sig.params = params();
    if (word_if("where")) sig.checks = checks();
    end();
    finish(sig);
    return {sig};
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw std::logic_error("signature table: " + what + " at column " + std::to_string(pos_ + 1) +
                           " of `" + s_ + "`");
  }
  void skip_ws() {
    while (pos_ < s_.size() && s_[pos_] == ' ') ++pos_;
  }
  bool at(char c) {
    skip_ws();
    return pos_ < s_.size() && s_[pos_] == c;
  }
  bool eat(char c) {
    if (!at(c)) return false;
    ++pos_;
    return true;
  }
  void expect(char c) {
    if (!eat(c)) fail(std::string("expected '") + c + "'");
  }
  std::string peek_word() {
    skip_ws();
    size_t p = pos_;
    while (p < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[p])) || s_[p] == '_')) ++p;
    return s_.substr(pos_, p - pos_);
  }
  bool word_if(const std::string& w) {
    if (peek_word() != w) return false;
    pos_ += w.size();
    return true;
  }
  std::string identifier() {
    std::string w = peek_word();
    if (w.empty()) fail("expected a name");
    pos_ += w.size();
    return w;
  }
  long long number() {
    skip_ws();
    size_t p = pos_;
    while (p < s_.size() && std::isdigit(static_cast<unsigned char>(s_[p]))) ++p;
    if (p == pos_) fail("expected a number");
    long long v = std::stoll(s_.substr(pos_, p - pos_));
    pos_ = p;
    return v;
  }
  void end() {
    skip_ws();
    if (pos_ != s_.size()) fail("unexpected text");
  }
  static std::string trimmed(std::string t) {
    while (!t.empty() && t.back() == ' ') t.pop_back();
    return t;
  }

  static bool base_from_word(const std::string& w, BaseKind* b) {
    if (w == "int") *b = BaseKind::Int;
    else if (w == "real") *b = BaseKind::Real;
    else if (w == "vector") *b = BaseKind::Vector;
    else if (w == "row_vector") *b = BaseKind::RowVector;
    else if (w == "matrix") *b = BaseKind::Matrix;
    else return false;
    return true;
  }

  DimExpr dim_atom() {
    DimExpr d;
    if (eat('?')) return d;
    if (eat('$')) {
      d.kind = DimExpr::Kind::ArgValue;
      d.arg = static_cast<int>(number()) - 1;
      return d;
    }
    if (eat('#')) {
      d.kind = DimExpr::Kind::ArgDim;
      d.arg = static_cast<int>(number()) - 1;
      expect('.');
      if (word_if("n")) d.dim = -1;
      else d.dim = static_cast<int>(number()) - 1;
      return d;
    }
    d.kind = DimExpr::Kind::Literal;
    d.literal = number();
    return d;
  }
  DimExpr dim_term() {
    DimExpr d = dim_atom();
    while (eat('*')) {
      DimExpr m;
      m.kind = DimExpr::Kind::Mul;
      m.operands = {d, dim_atom()};
      d = m;
    }
    return d;
  }
  DimExpr dim_expr() {
    DimExpr d = dim_term();
    while (eat('+')) {
      DimExpr a;
      a.kind = DimExpr::Kind::Add;
      a.operands = {d, dim_term()};
      d = a;
    }
    return d;
  }
  // `[d, d, ...]` where each d may be empty (unsized: `array[,]`); returns the count and
  // whether any size was given.
  int dim_list(std::vector<DimExpr>* out) {
    expect('[');
    int count = 1;
    bool sized = false;
    std::vector<DimExpr> dims;
    for (;;) {
      if (at(',') || at(']')) {
        dims.emplace_back();
      } else {
        dims.push_back(dim_expr());
        sized = true;
      }
      if (eat(']')) break;
      expect(',');
      ++count;
    }
    if (sized) *out = dims;
    return count;
  }

  ParamSpec param() {
    ParamSpec p;
    std::string w = peek_word();
    if (at('@')) {
      ++pos_;
      p.cls = ParamClass::SameAs;
      p.same_as = static_cast<int>(number()) - 1;
    } else if (w == "reals" || w == "ints" || w == "vectors" || w == "T" || w == "any" ||
               w == "anyarray") {
      pos_ += w.size();
      p.cls = w == "reals" ? ParamClass::Reals
              : w == "ints" ? ParamClass::Ints
              : w == "vectors" ? ParamClass::Vectors
              : w == "T" ? ParamClass::Elementwise
              : w == "any" ? ParamClass::Any
                           : ParamClass::AnyArray;
    } else if (w == "array") {
      pos_ += w.size();
      std::vector<DimExpr> ignored;
      p.array_dims = dim_list(&ignored);
      if (!base_from_word(identifier(), &p.base)) fail("expected an element type");
    } else {
      if (!base_from_word(identifier(), &p.base)) fail("unknown parameter type '" + w + "'");
    }
    std::string name = peek_word();
    if (!name.empty()) {
      pos_ += name.size();
      p.name = name;
    }
    return p;
  }

  std::vector<ParamSpec> params() {
    expect('(');
    std::vector<ParamSpec> ps;
    if (eat(')')) return ps;
    for (;;) {
      ps.push_back(param());
      if (eat(')')) break;
      if (eat('|')) {
        if (ps.size() != 1) fail("'|' must follow the first parameter");
        bar_ = true;
        if (eat(')')) break;
        continue;
      }
      expect(',');
    }
    return ps;
  }

  ResultSpec result() {
    ResultSpec r;
    std::string w = peek_word();
    if (at('@')) {
      ++pos_;
      r.kind = ResultSpec::Kind::ArgType;
      r.arg = static_cast<int>(number()) - 1;
      if (at('[')) {
        std::vector<DimExpr> d;
        dim_list(&d);
        if (d.size() != 1) fail("@k[d] takes one size");
        r.replace_first = true;
        r.first_dim = d[0];
      }
      return r;
    }
    if (w == "R" || w == "T" || w == "reals" || w == "ints") {
      pos_ += w.size();
      r.kind = w == "R" ? ResultSpec::Kind::Elementwise
               : w == "T" ? ResultSpec::Kind::SameType
               : w == "reals" ? ResultSpec::Kind::VectorisedReal
                              : ResultSpec::Kind::VectorisedInt;
      return r;
    }
    std::vector<DimExpr> array_sizes;
    if (w == "array") {
      pos_ += w.size();
      r.array_dims = dim_list(&array_sizes);
      if (at('@')) {  // array[d...] @k
        ++pos_;
        r.kind = ResultSpec::Kind::ArgType;
        r.arg = static_cast<int>(number()) - 1;
        if (array_sizes.empty()) array_sizes.resize(static_cast<size_t>(r.array_dims));
        r.dims = array_sizes;
        return r;
      }
    }
    std::string base = identifier();
    if (!base_from_word(base, &r.base)) fail("unknown result type '" + base + "'");
    std::vector<DimExpr> element_sizes;
    int rank = element_rank(r.base);
    if (rank > 0 && at('[')) {
      if (dim_list(&element_sizes) != rank) fail("wrong number of sizes");
    }
    if (!array_sizes.empty() || !element_sizes.empty()) {
      if (array_sizes.empty()) array_sizes.resize(static_cast<size_t>(r.array_dims));
      if (element_sizes.empty()) element_sizes.resize(static_cast<size_t>(rank));
      r.dims = array_sizes;
      r.dims.insert(r.dims.end(), element_sizes.begin(), element_sizes.end());
    }
    return r;
  }

  std::vector<SizeCheck> checks() {
    std::vector<SizeCheck> cs;
    do {
      SizeCheck c;
      c.a = dim_expr();
      expect('=');
      c.b = dim_expr();
      cs.push_back(c);
    } while (eat(','));
    return cs;
  }

  // `pdf name(variate | params) [cdf] [rng=result] [where ...]`
  std::vector<Signature> family(bool discrete) {
    identifier();  // pdf / pmf
    std::string name = identifier();
    std::vector<ParamSpec> ps = params();
    bool cdf = false;
    std::string rng_text;
    ResultSpec rng;
    for (;;) {
      if (word_if("cdf")) {
        cdf = true;
      } else if (word_if("rng")) {
        expect('=');
        size_t b = pos_;
        rng = result();
        rng_text = trimmed(s_.substr(b, pos_ - b));
      } else {
        break;
      }
    }
    std::vector<SizeCheck> cs;
    if (word_if("where")) cs = checks();
    end();
    if (ps.empty()) fail("a family needs a variate");
    std::vector<Signature> out;
    auto add = [&](const std::string& suffix, SigKind kind) {
      Signature sig;
      sig.name = name + suffix;
      sig.family = name;
      sig.kind = kind;
      sig.params = ps;
      sig.result.kind = ResultSpec::Kind::Type;
      sig.result.base = BaseKind::Real;
      sig.result_text = "real";
      sig.checks = cs;
      finish(sig);
      out.push_back(sig);
    };
    add(discrete ? "_lpmf" : "_lpdf", discrete ? SigKind::Lpmf : SigKind::Lpdf);
    add(discrete ? "_lupmf" : "_lupdf", discrete ? SigKind::Lupmf : SigKind::Lupdf);
    if (cdf) {
      add("_cdf", SigKind::Cdf);
      add("_lcdf", SigKind::Lcdf);
      add("_lccdf", SigKind::Lccdf);
    }
    if (!rng_text.empty()) {
      Signature sig;
      sig.name = name + "_rng";
      sig.family = name;
      sig.kind = SigKind::Rng;
      sig.params.assign(ps.begin() + 1, ps.end());
      sig.result = rng;
      sig.result_text = rng_text;
      // The rng has no variate: shift the checks' argument numbers, drop those on the variate.
      for (const SizeCheck& c : cs) {
        SizeCheck shifted = c;
        if (shift_args(&shifted.a) && shift_args(&shifted.b)) sig.checks.push_back(shifted);
      }
      finish(sig);
      out.push_back(sig);
    }
    return out;
  }

  static bool shift_args(DimExpr* d) {
    if (d->kind == DimExpr::Kind::ArgDim || d->kind == DimExpr::Kind::ArgValue) {
      if (d->arg == 0) return false;
      --d->arg;
    }
    for (DimExpr& o : d->operands)
      if (!shift_args(&o)) return false;
    return true;
  }

  void finish(Signature& sig) {
    const bool bar = needs_bar(sig.kind);
    if (bar != bar_ && sig.kind != SigKind::Rng)
      fail(bar ? "a density-like entry writes '|' after its variate" : "'|' in a plain function");
    std::string key = sig.result_text + " " + sig.name + "(";
    std::string display = sig.name + "(";
    for (size_t i = 0; i < sig.params.size(); ++i) {
      const char* sep = i == 0 ? "" : (i == 1 && bar) ? " | " : ", ";
      key += sep + sig.params[i].text();
      display += sep + sig.params[i].text() + (sig.params[i].name.empty() ? "" : " " + sig.params[i].name);
    }
    if (bar && sig.params.size() == 1) {
      key += " |";
      display += " |";
    }
    sig.key = key + ")";
    sig.call_form = sig.key.substr(sig.result_text.size() + 1);
    sig.display = display + ")";
  }

  const std::string& s_;
  size_t pos_ = 0;
  bool bar_ = false;
};

struct Table {
  std::vector<Signature> entries;
  std::unordered_map<std::string, std::vector<int>> by_name;
  std::unordered_map<std::string, int> by_key;
  std::vector<std::string> names;
  std::vector<std::string> families;
  std::map<std::string, bool> family_cdf;
};

Table build_table() {
  Table t;
  for (const char* line : signature_table_text()) {
    for (Signature& sig : EntryParser(line).parse()) {
      sig.id = static_cast<int>(t.entries.size());
      if (!t.by_key.emplace(sig.key, sig.id).second)
        throw std::logic_error("signature table: duplicate entry " + sig.key);
      if (t.by_name.find(sig.name) == t.by_name.end()) t.names.push_back(sig.name);
      t.by_name[sig.name].push_back(sig.id);
      if (!sig.family.empty() && (sig.kind == SigKind::Lpdf || sig.kind == SigKind::Lpmf)) {
        if (t.family_cdf.emplace(sig.family, false).second) t.families.push_back(sig.family);
      }
      if (sig.kind == SigKind::Lcdf) t.family_cdf[sig.family] = true;
      t.entries.push_back(std::move(sig));
    }
  }
  return t;
}

const Table& table() {
  static const Table t = build_table();
  return t;
}

}  // namespace

std::string ParamSpec::text() const {
  switch (cls) {
    case ParamClass::Type: {
      std::string out;
      if (array_dims > 0) out = "array[" + std::string(static_cast<size_t>(array_dims - 1), ',') + "] ";
      return out + base_word(base);
    }
    case ParamClass::Reals: return "reals";
    case ParamClass::Ints: return "ints";
    case ParamClass::Vectors: return "vectors";
    case ParamClass::Elementwise: return "T";
    case ParamClass::Any: return "any";
    case ParamClass::AnyArray: return "anyarray";
    case ParamClass::SameAs: return "@" + std::to_string(same_as + 1);
  }
  return "?";
}

const std::vector<Signature>& signature_table() { return table().entries; }

const Signature& signature(int id) { return table().entries.at(static_cast<size_t>(id)); }

const std::vector<int>& signatures_named(const std::string& name) {
  static const std::vector<int> none;
  auto it = table().by_name.find(name);
  return it == table().by_name.end() ? none : it->second;
}

int find_signature(const std::string& key) {
  auto it = table().by_key.find(key);
  return it == table().by_key.end() ? -1 : it->second;
}

bool is_builtin_function(const std::string& name) { return !signatures_named(name).empty(); }

const std::vector<std::string>& builtin_function_names() { return table().names; }

const std::vector<std::string>& distribution_families() { return table().families; }

bool family_has_cdf(const std::string& family) {
  auto it = table().family_cdf.find(family);
  return it != table().family_cdf.end() && it->second;
}

// ---- matching ----

bool param_accepts(const ParamSpec& p, const Type& t) {
  if (!is_numeric(t.base)) return false;
  const int ad = t.array_dims;
  switch (p.cls) {
    case ParamClass::Type:
      return ad == p.array_dims && (t.base == p.base || (p.base == BaseKind::Real && t.base == BaseKind::Int));
    case ParamClass::Reals:
      return (ad == 0 && t.base != BaseKind::Matrix) ||
             (ad == 1 && (t.base == BaseKind::Int || t.base == BaseKind::Real));
    case ParamClass::Ints: return t.base == BaseKind::Int && ad <= 1;
    case ParamClass::Vectors: return (t.base == BaseKind::Vector || t.base == BaseKind::RowVector) && ad <= 1;
    case ParamClass::Elementwise:
    case ParamClass::Any: return true;
    case ParamClass::AnyArray: return ad >= 1;
    case ParamClass::SameAs: return true;  // judged against the other argument in match_cost
  }
  return false;
}

namespace {
bool scalar_element(BaseKind b) { return b == BaseKind::Int || b == BaseKind::Real; }
bool is_container(const Type& t) { return t.array_dims > 0 || element_rank(t.base) > 0; }
}  // namespace

int match_cost(const Signature& sig, const std::vector<Type>& args) {
  if (args.size() != sig.params.size()) return -1;
  int cost = 0;
  const Type* elementwise_container = nullptr;
  for (size_t i = 0; i < args.size(); ++i) {
    const ParamSpec& p = sig.params[i];
    const Type& a = args[i];
    if (!param_accepts(p, a)) return -1;
    if (p.cls == ParamClass::Type && p.base == BaseKind::Real && a.base == BaseKind::Int) ++cost;
    if (p.cls == ParamClass::SameAs) {
      if (p.same_as < 0 || static_cast<size_t>(p.same_as) >= args.size()) return -1;
      const Type& other = args[static_cast<size_t>(p.same_as)];
      if (a.array_dims != other.array_dims) return -1;
      if (a.base != other.base && !(scalar_element(a.base) && scalar_element(other.base))) return -1;
    }
    if (p.cls == ParamClass::Elementwise && is_container(a)) {
      // Two containers combined elementwise must be of one kind (int and real mix).
      if (elementwise_container) {
        const Type& o = *elementwise_container;
        if (o.array_dims != a.array_dims) return -1;
        if (o.base != a.base && !(scalar_element(o.base) && scalar_element(a.base))) return -1;
      } else {
        elementwise_container = &a;
      }
    }
  }
  return cost;
}

// ---- sizes ----

Dim dim_of_type(const Type& t, int i) {
  const int n = t.array_dims + element_rank(t.base);
  if (i < 0 || i >= n || static_cast<int>(t.dims.size()) != n) return Dim::unknown();
  return t.dims[static_cast<size_t>(i)];
}

namespace {
bool known(const Dim& d) { return d.kind != Dim::Kind::Unknown; }
// A symbol's text as an operand of `op` ('+' or '*'): parenthesised when it is a sum or
// difference under a product.
std::string operand_text(const Dim& d, char op) {
  std::string s = d.str();
  if (op == '*' && (s.find(" + ") != std::string::npos || s.find(" - ") != std::string::npos))
    return "(" + s + ")";
  return s;
}
}  // namespace

Dim add_dims(const Dim& a, const Dim& b) {
  if (a.kind == Dim::Kind::Const && b.kind == Dim::Kind::Const) return Dim::constant(a.value + b.value);
  if (!known(a) || !known(b)) return Dim::unknown();
  if (b.kind == Dim::Kind::Const && b.value == 0) return a;
  if (a.kind == Dim::Kind::Const && a.value == 0) return b;
  std::string rhs = b.str();
  if (rhs.find(" + ") != std::string::npos || rhs.find(" - ") != std::string::npos) rhs = "(" + rhs + ")";
  return Dim::sym(a.str() + " + " + rhs);
}

Dim mul_dims(const Dim& a, const Dim& b) {
  if (a.kind == Dim::Kind::Const && b.kind == Dim::Kind::Const) return Dim::constant(a.value * b.value);
  if (!known(a) || !known(b)) return Dim::unknown();
  if (b.kind == Dim::Kind::Const && b.value == 1) return a;
  if (a.kind == Dim::Kind::Const && a.value == 1) return b;
  return Dim::sym(operand_text(a, '*') + " * " + operand_text(b, '*'));
}

Dim merge_dims(const Dim& a, const Dim& b) {
  if (a.kind == Dim::Kind::Const) return a;
  if (b.kind == Dim::Kind::Const) return b;
  if (a.kind == Dim::Kind::Symbol) return a;
  return b;
}

Type normalized(Type t) {
  bool any_known = false;
  for (const Dim& d : t.dims) any_known = any_known || known(d);
  if (!any_known) t.dims.clear();
  return t;
}

Dim eval_dim(const DimExpr& d, const std::vector<ArgInfo>& args) {
  switch (d.kind) {
    case DimExpr::Kind::Unknown: return Dim::unknown();
    case DimExpr::Kind::Literal: return Dim::constant(d.literal);
    case DimExpr::Kind::ArgValue:
      if (d.arg < 0 || static_cast<size_t>(d.arg) >= args.size()) return Dim::unknown();
      return args[static_cast<size_t>(d.arg)].value;
    case DimExpr::Kind::ArgDim: {
      if (d.arg < 0 || static_cast<size_t>(d.arg) >= args.size()) return Dim::unknown();
      const Type& t = args[static_cast<size_t>(d.arg)].type;
      int i = d.dim >= 0 ? d.dim : t.array_dims + element_rank(t.base) - 1;
      return dim_of_type(t, i);
    }
    case DimExpr::Kind::Add: return add_dims(eval_dim(d.operands[0], args), eval_dim(d.operands[1], args));
    case DimExpr::Kind::Mul: return mul_dims(eval_dim(d.operands[0], args), eval_dim(d.operands[1], args));
  }
  return Dim::unknown();
}

namespace {

// Where a size came from, for conflict reports: (argument, dimension) or (-1, -1).
std::pair<int, int> origin_of(const DimExpr& d, const std::vector<ArgInfo>& args) {
  if (d.kind == DimExpr::Kind::ArgDim) {
    const Type& t = args[static_cast<size_t>(d.arg)].type;
    return {d.arg, d.dim >= 0 ? d.dim : t.array_dims + element_rank(t.base) - 1};
  }
  if (d.kind == DimExpr::Kind::ArgValue) return {d.arg, -1};
  return {-1, -1};
}

// The elementwise combination of the T arguments: their common container shape.
Type elementwise_shape(const Signature& sig, const std::vector<ArgInfo>& args, bool keep_int,
                       std::vector<SizeConflict>* conflicts) {
  int first = -1;
  bool all_int = true;
  Type shape = Type::real();
  for (size_t i = 0; i < args.size(); ++i) {
    if (sig.params[i].cls != ParamClass::Elementwise) continue;
    const Type& a = args[i].type;
    all_int = all_int && a.base == BaseKind::Int;
    if (!is_container(a)) continue;
    if (first < 0) {
      first = static_cast<int>(i);
      shape = a;
      continue;
    }
    const int n = a.array_dims + element_rank(a.base);
    for (int k = 0; k < n; ++k) {
      Dim x = dim_of_type(shape, k), y = dim_of_type(a, k);
      if (x.conflicts_with(y)) {
        if (conflicts) conflicts->push_back({first, k, static_cast<int>(i), k, x, y});
      } else if (static_cast<int>(shape.dims.size()) == n) {
        shape.dims[static_cast<size_t>(k)] = merge_dims(x, y);
      }
    }
  }
  if (shape.base == BaseKind::Int && !(keep_int && all_int)) shape.base = BaseKind::Real;
  if (first < 0) shape = (keep_int && all_int) ? Type::int_() : Type::real();
  return shape;
}

}  // namespace

Type result_type(const Signature& sig, const std::vector<ArgInfo>& args, std::vector<SizeConflict>* conflicts) {
  // Vectorised arguments: every container among reals/ints arguments has the same size, and
  // so has every array among vectors arguments.
  int first_vec = -1, first_vectors_array = -1;
  for (size_t i = 0; i < args.size() && i < sig.params.size(); ++i) {
    const ParamClass c = sig.params[i].cls;
    const Type& a = args[i].type;
    int* first = nullptr;
    if ((c == ParamClass::Reals || c == ParamClass::Ints) && is_container(a)) first = &first_vec;
    if (c == ParamClass::Vectors && a.array_dims == 1) first = &first_vectors_array;
    if (!first) continue;
    if (*first < 0) {
      *first = static_cast<int>(i);
      continue;
    }
    Dim x = dim_of_type(args[static_cast<size_t>(*first)].type, 0), y = dim_of_type(a, 0);
    if (x.conflicts_with(y) && conflicts) conflicts->push_back({*first, 0, static_cast<int>(i), 0, x, y});
  }
  for (const SizeCheck& c : sig.checks) {
    Dim x = eval_dim(c.a, args), y = eval_dim(c.b, args);
    if (x.conflicts_with(y) && conflicts) {
      auto [aa, da] = origin_of(c.a, args);
      auto [ab, db] = origin_of(c.b, args);
      conflicts->push_back({aa, da, ab, db, x, y});
    }
  }

  const ResultSpec& r = sig.result;
  Type out;
  switch (r.kind) {
    case ResultSpec::Kind::Type: {
      out.base = r.base;
      out.array_dims = r.array_dims;
      for (const DimExpr& d : r.dims) out.dims.push_back(eval_dim(d, args));
      break;
    }
    case ResultSpec::Kind::Elementwise: out = elementwise_shape(sig, args, false, conflicts); break;
    case ResultSpec::Kind::SameType: out = elementwise_shape(sig, args, true, conflicts); break;
    case ResultSpec::Kind::VectorisedReal:
    case ResultSpec::Kind::VectorisedInt: {
      out = Type::scalar(r.kind == ResultSpec::Kind::VectorisedReal ? BaseKind::Real : BaseKind::Int);
      if (first_vec >= 0) {
        out.array_dims = 1;
        out.dims = {dim_of_type(args[static_cast<size_t>(first_vec)].type, 0)};
      }
      break;
    }
    case ResultSpec::Kind::ArgType: {
      const Type& a = args.at(static_cast<size_t>(r.arg)).type;
      out = a;
      out.network = nullptr;
      const int n = a.array_dims + element_rank(a.base);
      const bool sized = static_cast<int>(a.dims.size()) == n;
      if (r.replace_first) {
        if (!sized) out.dims.assign(static_cast<size_t>(n), Dim::unknown());
        if (n > 0) out.dims[0] = eval_dim(r.first_dim, args);
      } else if (!r.dims.empty()) {
        std::vector<Dim> dims;
        for (const DimExpr& d : r.dims) dims.push_back(eval_dim(d, args));
        for (int k = 0; k < n; ++k) dims.push_back(dim_of_type(a, k));
        out.array_dims += static_cast<int>(r.dims.size());
        out.dims = dims;
      }
      break;
    }
  }
  return normalized(out);
}

}  // namespace halo::semantic
