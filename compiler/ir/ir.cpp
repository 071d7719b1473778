#include "ir/ir.h"

#include <cstdio>
#include <functional>
#include <sstream>

namespace halo::ir {

std::string Type::str() const {
  std::string base;
  switch (elem) {
    case Elem::F64: base = "f64"; break;
    case Elem::I64: base = "i64"; break;
    case Elem::Bool: base = "bool"; break;
  }
  if (elem_rank == 1) base = std::string(row ? "rowvec" : "vec") + (elem == Elem::F64 ? "" : "<" + base + ">");
  if (elem_rank == 2) base = std::string("mat") + (elem == Elem::F64 ? "" : "<" + base + ">");
  if (array_rank > 0) base = "arr" + std::to_string(array_rank) + "<" + base + ">";
  if (ref) base = "ref<" + base + ">";
  return base;
}

namespace {

const char* op_name(OpKind k) {
  switch (k) {
    case OpKind::ConstF64: return "const";
    case OpKind::ConstI64: return "const";
    case OpKind::ConstBool: return "const";
    case OpKind::Neg: return "neg";
    case OpKind::Add: return "add";
    case OpKind::Sub: return "sub";
    case OpKind::Mul: return "mul";
    case OpKind::Div: return "div";
    case OpKind::IDiv: return "idiv";
    case OpKind::IMod: return "imod";
    case OpKind::Cmp: return "cmp";
    case OpKind::And: return "and";
    case OpKind::Or: return "or";
    case OpKind::Not: return "not";
    case OpKind::Select: return "select";
    case OpKind::IToF: return "itof";
    case OpKind::BoolToI: return "booltoi";
    case OpKind::Call: return "call";
    case OpKind::Dist: return "dist";
    case OpKind::CallGrad: return "call_grad";
    case OpKind::CallRng: return "call_rng";
    case OpKind::Dim: return "dim";
    case OpKind::Alloc: return "alloc";
    case OpKind::Extract: return "extract";
    case OpKind::View: return "view";
    case OpKind::AccumulateView: return "accumulate_view";
    case OpKind::AccumulateSlice: return "accumulate_slice";
    case OpKind::StoreSlice: return "store_slice";
    case OpKind::Slice: return "slice";
    case OpKind::Map: return "map";
    case OpKind::MapSum: return "map_sum";
    case OpKind::MatMul: return "matmul";
    case OpKind::Kernel: return "kernel";
    case OpKind::Var: return "var";
    case OpKind::Load: return "load";
    case OpKind::Store: return "store";
    case OpKind::LoadElem: return "load_elem";
    case OpKind::StoreElem: return "store_elem";
    case OpKind::Accumulate: return "accumulate";
    case OpKind::AccumulateElem: return "accumulate_elem";
    case OpKind::Push: return "push";
    case OpKind::Pop: return "pop";
    case OpKind::For: return "for";
    case OpKind::While: return "while";
    case OpKind::If: return "if";
    case OpKind::Break: return "break";
    case OpKind::Continue: return "continue";
    case OpKind::Check: return "check";
    case OpKind::Print: return "print";
    case OpKind::Reject: return "reject";
    case OpKind::Param: return "param";
    case OpKind::Yield: return "yield";
    case OpKind::Return: return "return";
  }
  return "?";
}

const char* pred_name(CmpPred p) {
  switch (p) {
    case CmpPred::Lt: return "lt";
    case CmpPred::Le: return "le";
    case CmpPred::Gt: return "gt";
    case CmpPred::Ge: return "ge";
    case CmpPred::Eq: return "eq";
    case CmpPred::Ne: return "ne";
  }
  return "?";
}

const char* broadcast_name(Broadcast b) {
  switch (b) {
    case Broadcast::Elementwise: return "elt";
    case Broadcast::Scalar: return "scalar";
    case Broadcast::Rows: return "rows";
    case Broadcast::Cols: return "cols";
  }
  return "?";
}

const char* map_result_name(MapResult r) {
  switch (r) {
    case MapResult::Elementwise: return "elt";
    case MapResult::Sum: return "sum";
    case MapResult::SumOverRows: return "sum_rows";
    case MapResult::SumOverCols: return "sum_cols";
  }
  return "?";
}

const char* check_name(CheckKind c) {
  switch (c) {
    case CheckKind::IndexBounds: return "index_bounds";
    case CheckKind::SizeMatch: return "size_match";
    case CheckKind::Finite: return "finite";
    case CheckKind::Lower: return "lower";
    case CheckKind::Upper: return "upper";
    case CheckKind::Positive: return "positive";
    case CheckKind::Domain: return "domain";
  }
  return "?";
}

std::string quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out + "\"";
}

std::string fmt_double(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

class Printer {
 public:
  explicit Printer(const Function& f) : f_(f) {}

  std::string run() {
    out_ << "func @" << f_.name << "(";
    for (size_t i = 0; i < f_.param_types.size(); ++i) out_ << (i ? ", " : "") << f_.param_types[i].str();
    out_ << ")";
    if (!f_.result_types.empty()) {
      out_ << " -> (";
      for (size_t i = 0; i < f_.result_types.size(); ++i) out_ << (i ? ", " : "") << f_.result_types[i].str();
      out_ << ")";
    }
    out_ << " {\n";
    region(f_.body, 1);
    out_ << "}\n";
    return out_.str();
  }

 private:
  std::string val(ValueId v) const {
    if (v == kNoValue) return "%<none>";
    std::string s = "%" + std::to_string(v);
    if (v < f_.values.size() && !f_.values[v].name.empty()) s += "." + f_.values[v].name;
    return s;
  }

  void region(const Region& r, int depth) {
    for (const Op& op : r.ops) this->op(op, depth);
  }

  void op(const Op& o, int depth) {
    std::string indent(2 * depth, ' ');
    out_ << indent;
    for (size_t i = 0; i < o.results.size(); ++i) out_ << (i ? ", " : "") << val(o.results[i]);
    if (!o.results.empty()) out_ << " = ";
    out_ << op_name(o.kind);
    switch (o.kind) {
      case OpKind::ConstF64: out_ << " " << fmt_double(o.f); break;
      case OpKind::ConstI64: out_ << " " << o.i; break;
      case OpKind::ConstBool: out_ << " " << (o.i ? "true" : "false"); break;
      case OpKind::Cmp: out_ << "." << pred_name(o.pred); break;
      case OpKind::Call:
      case OpKind::CallGrad:
      case OpKind::CallRng:
      case OpKind::Kernel: out_ << " @" << o.name; break;
      case OpKind::For:
        if (o.i) out_ << ".down";
        break;
      case OpKind::Dist: out_ << " @" << o.name << " flags=" << o.i; break;
      case OpKind::Dim:
      case OpKind::Param: out_ << " #" << o.i; break;
      case OpKind::Alloc:
      case OpKind::Var: out_ << " " << o.type.str() << " fill=" << fmt_double(o.f); break;
      case OpKind::Slice:
      case OpKind::StoreSlice:
      case OpKind::AccumulateSlice: out_ << " keep=" << o.i; break;
      case OpKind::MatMul: out_ << (o.i & 1 ? ".tA" : "") << (o.i & 2 ? ".tB" : ""); break;
      case OpKind::Map:
      case OpKind::MapSum:
        out_ << " dims=" << o.i << " [";
        for (size_t b = 0; b < o.broadcasts.size(); ++b) out_ << (b ? "," : "") << broadcast_name(o.broadcasts[b]);
        out_ << "]";
        if (!o.map_results.empty()) {
          out_ << " -> [";
          for (size_t r = 0; r < o.map_results.size(); ++r) out_ << (r ? "," : "") << map_result_name(o.map_results[r]);
          out_ << "]";
        }
        break;
      case OpKind::Check: out_ << "." << check_name(o.check); break;
      default: break;
    }
    for (size_t i = 0; i < o.operands.size(); ++i) out_ << (i ? ", " : " ") << val(o.operands[i]);
    if (!o.text.empty()) out_ << " " << quote(o.text);
    if (!o.results.empty() && o.kind != OpKind::Var && o.kind != OpKind::Alloc) {
      out_ << " : ";
      for (size_t i = 0; i < o.results.size(); ++i) out_ << (i ? ", " : "") << f_.type_of(o.results[i]).str();
    }
    if (o.regions.empty()) {
      out_ << "\n";
      return;
    }
    for (size_t r = 0; r < o.regions.size(); ++r) {
      const Region& reg = o.regions[r];
      out_ << (r ? " " : " ") << "{";
      if (!reg.args.empty()) {
        out_ << " (";
        for (size_t a = 0; a < reg.args.size(); ++a)
          out_ << (a ? ", " : "") << val(reg.args[a]) << ": " << f_.type_of(reg.args[a]).str();
        out_ << ") ->";
      }
      out_ << "\n";
      region(reg, depth + 1);
      out_ << indent << "}";
    }
    out_ << "\n";
  }

  const Function& f_;
  std::ostringstream out_;
};

}  // namespace

std::string print(const Function& f) { return Printer(f).run(); }

ValueId written_var(const Op& o) {
  switch (o.kind) {
    case OpKind::Store: case OpKind::StoreElem: case OpKind::StoreSlice: case OpKind::Accumulate:
    case OpKind::AccumulateElem: case OpKind::AccumulateSlice: case OpKind::AccumulateView:
      return o.operands.empty() ? kNoValue : o.operands[0];
    default:
      return kNoValue;
  }
}

std::string print(const Module& m) {
  std::string out = "module " + m.model_name + "\n";
  for (const Function& f : m.functions) out += "\n" + print(f);
  return out;
}

std::vector<std::string> verify(const Module& m) {
  std::vector<std::string> problems;
  for (const Function& f : m.functions) {
    std::vector<bool> defined(f.values.size(), false);
    auto complain = [&](const std::string& what) { problems.push_back("@" + f.name + ": " + what); };
    // Scoped walk: a value is usable after its definition, in the same region or a nested one.
    std::function<void(const Region&)> walk = [&](const Region& r) {
      std::vector<ValueId> local;
      for (ValueId a : r.args) {
        if (a >= f.values.size()) { complain("region argument out of range"); continue; }
        if (defined[a]) complain("value %" + std::to_string(a) + " defined twice");
        defined[a] = true;
        local.push_back(a);
      }
      for (const Op& o : r.ops) {
        for (ValueId v : o.operands) {
          if (v >= f.values.size() || !defined[v])
            complain(std::string(op_name(o.kind)) + " uses %" + std::to_string(v) + " before its definition");
        }
        for (const Region& sub : o.regions) walk(sub);
        for (ValueId v : o.results) {
          if (v >= f.values.size()) { complain("result out of range"); continue; }
          if (defined[v]) complain("value %" + std::to_string(v) + " defined twice");
          defined[v] = true;
          local.push_back(v);
        }
        // Operand type rules that code generation relies on.
        switch (o.kind) {
          case OpKind::Add: case OpKind::Sub: case OpKind::Mul: case OpKind::Div:
            if (o.operands.size() != 2 || o.results.size() != 1) { complain("binary op arity"); break; }
            if (f.type_of(o.operands[0]) != f.type_of(o.operands[1]) ||
                f.type_of(o.operands[0]) != f.type_of(o.results[0]) ||
                !f.type_of(o.results[0]).is_scalar())
              complain(std::string(op_name(o.kind)) + " needs scalar operands of one type");
            break;
          case OpKind::Store:
            if (o.operands.size() != 2 || !f.type_of(o.operands[0]).ref ||
                f.type_of(o.operands[0]).value_type() != f.type_of(o.operands[1]))
              complain("store needs (ref<T>, T)");
            break;
          case OpKind::Load:
            if (o.operands.size() != 1 || o.results.size() != 1 || !f.type_of(o.operands[0]).ref ||
                f.type_of(o.operands[0]).value_type() != f.type_of(o.results[0]))
              complain("load needs ref<T> -> T");
            break;
          case OpKind::Map: case OpKind::MapSum:
            if (o.regions.size() != 1) complain("map needs one region");
            else if (o.regions[0].ops.empty() || o.regions[0].ops.back().kind != OpKind::Yield)
              complain("map region must end in yield");
            if (o.broadcasts.size() + static_cast<size_t>(o.i) != o.operands.size())
              complain("map needs one broadcast per input after its dims");
            break;
          default: break;
        }
      }
      // Values of a region go out of scope at its end.
      for (ValueId v : local) defined[v] = false;
    };
    walk(f.body);
  }
  return problems;
}

}  // namespace halo::ir
