#include "codegen/codegen.h"

#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Module.h>
#include <llvm/IR/Verifier.h>
#include <llvm/Support/raw_ostream.h>

#include <cmath>
#include <functional>
#include <map>
#include <set>
#include <unordered_map>
#include <unordered_set>
#include <stdexcept>

namespace halo::codegen {

using ir::OpKind;
using ir::ValueId;

namespace {

// A reason code generation cannot continue (unsupported op, malformed IR): reported, not thrown
// past lower().
struct CodegenError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// An IR value in LLVM: a scalar, or a tensor as its data pointer and dims (array dims first).
// For a `var`, a scalar is the address of its slot; a tensor is its buffer.
struct Val {
  llvm::Value* v = nullptr;
  std::vector<llvm::Value*> dims;
};

constexpr int kTensorDimsField = 1;  // halo_tensor { void* data; int64_t dims[6]; }

class FunctionLowering {
 public:
  FunctionLowering(const ir::Function& f, llvm::Module& m)
      : f_(f), m_(m), ctx_(m.getContext()), b_(ctx_), vals_(f.values.size()) {}

  void run() {
    auto* ptr = b_.getPtrTy();
    auto* type = llvm::FunctionType::get(b_.getInt32Ty(), {ptr, ptr, ptr}, false);
    fn_ = llvm::Function::Create(type, llvm::Function::ExternalLinkage, symbol_name(f_), m_);
    fn_->addFnAttr(llvm::Attribute::NoUnwind);
    // Entry points outside the sampler's inner loop (constrain, generated quantities, prior
    // draws, data) run once per draw or per load: optimised for size, which is compile time.
    if (f_.role != ir::FunctionRole::LogDensity) fn_->addFnAttr(llvm::Attribute::OptimizeForSize);
    ws_ = fn_->getArg(0);
    args_ = fn_->getArg(1);
    results_ = fn_->getArg(2);
    entry_ = llvm::BasicBlock::Create(ctx_, "entry", fn_);
    auto* body = llvm::BasicBlock::Create(ctx_, "body", fn_);
    b_.SetInsertPoint(body);
    llvm::FastMathFlags fmf;
    fmf.setAllowContract();  // fused multiply-add where the target has it
    b_.setFastMathFlags(fmf);
    note_uses(f_.body);
    region(f_.body);
    if (!b_.GetInsertBlock()->getTerminator()) b_.CreateRet(b_.getInt32(0));
    llvm::IRBuilder<> eb(entry_);
    eb.CreateBr(body);
  }

 private:
  // ---- types and helpers ----
  bool read_across_inner_loop(ValueId var) const {
    if (recurrent_.size() < 2 || recurrent_.back().count(var)) return false;
    for (size_t k = 0; k + 1 < recurrent_.size(); ++k)
      if (recurrent_[k].count(var)) return true;
    return false;
  }
  // The vars that ops in `r` (or nested in it) store into.
  static void note_writes(const ir::Region& r, std::unordered_set<ValueId>& written) {
    for (const ir::Op& o : r.ops) {
      if (ValueId v = ir::written_var(o); v != ir::kNoValue) written.insert(v);
      for (const ir::Region& sub : o.regions) note_writes(sub, written);
    }
  }

  void note_uses(const ir::Region& r) {
    for (const ir::Op& o : r.ops) {
      for (ValueId v : o.operands) ++uses_[v];
      for (const ir::Region& sub : o.regions) note_uses(sub);
    }
  }
  // Whether some op reads v: a reverse kernel's adjoint of an operand that is data is never
  // read, and its C function then gets a null pointer and skips that work.
  bool used(ValueId v) const { return uses_.count(v) != 0; }

  // A reverse kernel whose result the next op only adds into an adjoint var (`accumulate ref,
  // result`, its one use) writes into that var directly: its C function adds (+=) into its
  // output, so the zero-filled temporary and the pass that adds it are skipped (the kernels
  // that call adjoint_out for their result). In a loop (an HMM's log_sum_exp per step) those
  // were an allocation, a fill and a chain of stores and reloads per iteration.
  void plan_direct_adjoint(const ir::Region& r, size_t k) {
    const ir::Op& o = r.ops[k];
    if (o.kind != OpKind::Kernel || k + 1 >= r.ops.size()) return;
    const ir::Op& next = r.ops[k + 1];
    if (next.kind != OpKind::Accumulate || next.operands.size() != 2) return;
    for (ValueId res : o.results)
      if (res == next.operands[1] && uses_[res] == 1 && f_.type_of(res).is_tensor() &&
          f_.type_of(next.operands[0]).value_type() == f_.type_of(res)) {
        direct_adjoint_ = {res, next.operands[0], &next};
        return;
      }
  }
  // The storage for a reverse kernel's result `res`: the planned adjoint var, or a zero-filled
  // temporary.
  Val adjoint_out(ValueId res, const std::vector<llvm::Value*>& dims) {
    if (direct_adjoint_.result == res && res != ir::kNoValue) {
      skip_op_ = direct_adjoint_.accumulate;
      return vals_[direct_adjoint_.ref];
    }
    return zero_tensor(dims);
  }

  llvm::Type* scalar_type(ir::Elem e) {
    switch (e) {
      case ir::Elem::F64: return b_.getDoubleTy();
      case ir::Elem::I64: return b_.getInt64Ty();
      case ir::Elem::Bool: return b_.getInt1Ty();
    }
    return nullptr;
  }
  llvm::Type* elem_type(ValueId v) { return scalar_type(f_.type_of(v).elem); }
  // Tensors of bool are stored as i64.
  llvm::Type* storage_type(ir::Elem e) { return e == ir::Elem::F64 ? b_.getDoubleTy() : b_.getInt64Ty(); }

  llvm::AllocaInst* entry_alloca(llvm::Type* t, const char* name = "") {
    llvm::IRBuilder<> eb(entry_, entry_->begin());
    return eb.CreateAlloca(t, nullptr, name);
  }

  llvm::Value* product(const std::vector<llvm::Value*>& dims, size_t from = 0, size_t to = SIZE_MAX) {
    llvm::Value* p = b_.getInt64(1);
    for (size_t k = from; k < std::min(to, dims.size()); ++k) p = b_.CreateMul(p, dims[k]);
    return p;
  }

  // Bump allocation in the workspace, through an out-of-line helper whose result is marked
  // noalias (like malloc's): LLVM's alias analysis then knows that distinct tensors never
  // overlap, which lets it keep values in registers and hoist loads and math out of loops.
  llvm::Value* ws_alloc(llvm::Value* bytes) {
    llvm::Function* helper = alloc_helper();
    llvm::Value* p = b_.CreateCall(helper, {ws_, bytes});
    auto* ok = llvm::BasicBlock::Create(ctx_, "alloc.ok", fn_);
    // One failure block for all allocations of the function: fewer blocks to optimise.
    if (!out_of_memory_) out_of_memory_ = fail_block("out of memory in the workspace", nullptr, nullptr);
    b_.CreateCondBr(b_.CreateIsNull(p), out_of_memory_, ok);
    b_.SetInsertPoint(ok);
    return p;
  }
  llvm::Function* alloc_helper() {
    if (llvm::Function* f = m_.getFunction("halo.ws_alloc")) return f;
    auto* ptr = b_.getPtrTy();
    auto* i64 = b_.getInt64Ty();
    auto* type = llvm::FunctionType::get(ptr, {ptr, i64}, false);
    auto* f = llvm::Function::Create(type, llvm::Function::InternalLinkage, "halo.ws_alloc", m_);
    f->addFnAttr(llvm::Attribute::NoUnwind);
    f->addFnAttr(llvm::Attribute::NoInline);
    f->addFnAttr(llvm::Attribute::WillReturn);
    f->addRetAttr(llvm::Attribute::NoAlias);
    // Reads and bumps ws->cur / ws->end (its argument) or takes a new chunk (malloc).
    f->setMemoryEffects(llvm::MemoryEffects::argMemOnly() | llvm::MemoryEffects::inaccessibleMemOnly());
    llvm::IRBuilder<> b(llvm::BasicBlock::Create(ctx_, "entry", f));
    llvm::Value* ws = f->getArg(0);
    llvm::Value* bytes = f->getArg(1);
    llvm::Value* end_field = b.CreateConstGEP1_64(ptr, ws, 1);
    llvm::Value* cur = b.CreatePtrToInt(b.CreateLoad(ptr, ws), i64);
    llvm::Value* aligned = b.CreateAnd(b.CreateAdd(cur, b.getInt64(15)), b.getInt64(~int64_t{15}));
    llvm::Value* next = b.CreateAdd(aligned, bytes);
    llvm::Value* end = b.CreatePtrToInt(b.CreateLoad(ptr, end_field), i64);
    auto* fast = llvm::BasicBlock::Create(ctx_, "fast", f);
    auto* slow = llvm::BasicBlock::Create(ctx_, "slow", f);
    b.CreateCondBr(b.CreateICmpULE(next, end), fast, slow);
    b.SetInsertPoint(fast);
    b.CreateStore(b.CreateIntToPtr(next, ptr), ws);
    b.CreateRet(b.CreateIntToPtr(aligned, ptr));
    b.SetInsertPoint(slow);
    auto grow = m_.getOrInsertFunction("halo_ws_grow", llvm::FunctionType::get(ptr, {ptr, i64}, false));
    b.CreateRet(b.CreateCall(grow, {ws, bytes}));
    return f;
  }

  llvm::Value* alloc_tensor(ir::Elem e, const std::vector<llvm::Value*>& dims) {
    (void)e;  // every element is 8 bytes
    return ws_alloc(b_.CreateMul(product(dims), b_.getInt64(8)));
  }

  // A block that reports `message` (with up to two numbers) and returns 1.
  llvm::BasicBlock* fail_block(const std::string& message, llvm::Value* a, llvm::Value* b) {
    auto saved = b_.saveIP();
    auto* block = llvm::BasicBlock::Create(ctx_, "fail", fn_);
    b_.SetInsertPoint(block);
    auto* ptr = b_.getPtrTy();
    auto* f64 = b_.getDoubleTy();
    auto fail = m_.getOrInsertFunction(
        "halo_ws_fail", llvm::FunctionType::get(b_.getInt32Ty(), {ptr, ptr, f64, f64}, false));
    auto as_double = [&](llvm::Value* v) -> llvm::Value* {
      if (!v) return llvm::ConstantFP::get(f64, 0.0);
      if (v->getType()->isIntegerTy()) return b_.CreateSIToFP(v, f64);
      return v;
    };
    llvm::Value* code = b_.CreateCall(fail, {ws_, b_.CreateGlobalStringPtr(message), as_double(a), as_double(b)});
    b_.CreateRet(code);
    b_.restoreIP(saved);
    return block;
  }

  // Emits `for (i = lo; i < hi; ++i) body(i)` (half-open) and leaves the builder after it.
  // `unroll = false` marks the loop llvm.loop.unroll.disable: loops over network widths and
  // weight tensors (constant trip counts) would otherwise be fully unrolled, also around their
  // vectorised inner loops, which multiplies code size and compile time for no speed (see
  // `unroll_pays`). `fold_tail` asks the vectoriser to run the last partial vector masked instead
  // of a scalar remainder loop.
  void counted_loop(llvm::Value* lo, llvm::Value* hi, const std::function<void(llvm::Value*)>& body,
                    const char* name = "loop", bool unroll = true, bool fold_tail = false) {
    auto* pre = b_.GetInsertBlock();
    auto* head = llvm::BasicBlock::Create(ctx_, std::string(name) + ".head", fn_);
    auto* loop = llvm::BasicBlock::Create(ctx_, std::string(name) + ".body", fn_);
    auto* exit = llvm::BasicBlock::Create(ctx_, std::string(name) + ".exit", fn_);
    b_.CreateBr(head);
    b_.SetInsertPoint(head);
    auto* i = b_.CreatePHI(b_.getInt64Ty(), 2, "i");
    i->addIncoming(lo, pre);
    b_.CreateCondBr(b_.CreateICmpSLT(i, hi), loop, exit);
    b_.SetInsertPoint(loop);
    body(i);
    llvm::Value* next = b_.CreateAdd(i, b_.getInt64(1), "", /*HasNUW=*/true, /*HasNSW=*/true);
    i->addIncoming(next, b_.GetInsertBlock());
    llvm::BranchInst* back = b_.CreateBr(head);
    if (!unroll || fold_tail) {
      std::vector<llvm::Metadata*> hints = {nullptr};
      if (!unroll) hints.push_back(llvm::MDNode::get(ctx_, llvm::MDString::get(ctx_, "llvm.loop.unroll.disable")));
      if (fold_tail)
        hints.push_back(llvm::MDNode::get(ctx_, {llvm::MDString::get(ctx_, "llvm.loop.vectorize.predicate.enable"),
                                                 llvm::ConstantAsMetadata::get(b_.getTrue())}));
      llvm::MDNode* loop_id = llvm::MDNode::getDistinct(ctx_, hints);
      loop_id->replaceOperandWith(0, loop_id);
      back->setMetadata(llvm::LLVMContext::MD_loop, loop_id);
    }
    b_.SetInsertPoint(exit);
  }

  // Whether LLVM may unroll a loop of `trip` iterations: not when the count is a constant above
  // 8 (full unrolling then only grows the code); yes for a few iterations (sigma[2]: the values
  // stay in registers and what uses them can be hoisted) and for counts known at run time.
  static bool unroll_pays(llvm::Value* trip) {
    auto* c = llvm::dyn_cast<llvm::ConstantInt>(trip);
    return !c || c->getSExtValue() <= 8;
  }

  // Offset (in elements) of index `idx` (a prefix of all dims) into a tensor of type t.
  // Array dims are row-major; the element is column-major.
  llvm::Value* element_offset(const ir::Type& t, const std::vector<llvm::Value*>& dims,
                              const std::vector<llvm::Value*>& idx) {
    const size_t a = t.array_rank;
    llvm::Value* array_index = b_.getInt64(0);
    for (size_t k = 0; k < a && k < idx.size(); ++k)
      array_index = b_.CreateAdd(b_.CreateMul(array_index, dims[k]), idx[k]);
    // Remaining array dims not indexed: the prefix addresses a block of sub-arrays.
    llvm::Value* block = product(dims, std::min(idx.size(), a));
    llvm::Value* offset = b_.CreateMul(array_index, block);
    if (idx.size() > a) {
      llvm::Value* within = b_.getInt64(0);
      llvm::Value* stride = b_.getInt64(1);
      for (size_t k = a; k < idx.size(); ++k) {
        within = b_.CreateAdd(within, b_.CreateMul(idx[k], stride));
        stride = b_.CreateMul(stride, dims[k]);
      }
      offset = b_.CreateAdd(offset, within);
    }
    return offset;
  }

  llvm::Value* load_scalar_at(ir::Elem e, llvm::Value* data, llvm::Value* offset) {
    llvm::Value* p = b_.CreateGEP(storage_type(e), data, offset);
    llvm::Value* v = b_.CreateLoad(storage_type(e), p);
    if (e == ir::Elem::Bool) v = b_.CreateICmpNE(v, b_.getInt64(0));
    return v;
  }
  void store_scalar_at(ir::Elem e, llvm::Value* data, llvm::Value* offset, llvm::Value* v) {
    if (e == ir::Elem::Bool) v = b_.CreateZExt(v, b_.getInt64Ty());
    b_.CreateStore(v, b_.CreateGEP(storage_type(e), data, offset));
  }

  void copy_elements(ir::Elem e, llvm::Value* dst, llvm::Value* src, llvm::Value* count) {
    (void)e;
    b_.CreateMemCpy(dst, llvm::MaybeAlign(8), src, llvm::MaybeAlign(8), b_.CreateMul(count, b_.getInt64(8)));
  }

  void fill(ir::Elem e, llvm::Value* data, llvm::Value* count, double value) {
    if (value == 0.0 && !std::signbit(value)) {
      b_.CreateMemSet(data, b_.getInt8(0), b_.CreateMul(count, b_.getInt64(8)), llvm::MaybeAlign(8));
      return;
    }
    llvm::Value* v = e == ir::Elem::F64 ? static_cast<llvm::Value*>(llvm::ConstantFP::get(b_.getDoubleTy(), value))
                                        : b_.getInt64(static_cast<int64_t>(value));
    counted_loop(b_.getInt64(0), count, [&](llvm::Value* i) {
      b_.CreateStore(v, b_.CreateGEP(storage_type(e), data, i));
    }, "fill");
  }

  // ---- regions and ops ----
  void region(const ir::Region& r) {
    find_aliasing_loads(r);
    for (size_t k = 0; k < r.ops.size(); ++k) {
      const ir::Op& o = r.ops[k];
      if (b_.GetInsertBlock()->getTerminator()) {
        // Code after break/continue/return in the same region is unreachable.
        auto* dead = llvm::BasicBlock::Create(ctx_, "dead", fn_);
        b_.SetInsertPoint(dead);
      }
      if (&o == skip_op_) {
        skip_op_ = nullptr;
        continue;
      }
      // A run of scalar pushes (or pops) moves the stack pointer once.
      const size_t run = scalar_stack_run(r, k);
      if (run > 1) {
        if (o.kind == OpKind::Push) push_scalars(r, k, run);
        else pop_scalars(r, k, run);
        k += run - 1;
        continue;
      }
      plan_direct_adjoint(r, k);
      op(o);
      direct_adjoint_ = {};
    }
  }

  // The number of consecutive pushes (or pops) of scalars starting at r.ops[k].
  size_t scalar_stack_run(const ir::Region& r, size_t k) const {
    const OpKind kind = r.ops[k].kind;
    if (kind != OpKind::Push && kind != OpKind::Pop) return 0;
    size_t n = 0;
    while (k + n < r.ops.size() && r.ops[k + n].kind == kind) {
      const ir::Op& o = r.ops[k + n];
      if (f_.type_of(kind == OpKind::Push ? o.operands[0] : o.results[0]).rank() != 0) break;
      ++n;
    }
    return n;
  }

  // Loads of whole tensor vars that need no copy: every use of the loaded value lies in later
  // ops of the same region (or inside them), and none of the ops up to the last use writes
  // to the var (any op other than a read that takes the var as an operand counts as a write).
  static bool uses_value(const ir::Op& o, ValueId v) {
    for (ValueId x : o.operands)
      if (x == v) return true;
    for (const ir::Region& sub : o.regions)
      for (const ir::Op& inner : sub.ops)
        if (uses_value(inner, v)) return true;
    return false;
  }
  static bool may_write(const ir::Op& o, ValueId var) {
    if (o.kind != OpKind::Load && o.kind != OpKind::LoadElem && o.kind != OpKind::Dim)
      for (ValueId x : o.operands)
        if (x == var) return true;
    for (const ir::Region& sub : o.regions)
      for (const ir::Op& inner : sub.ops)
        if (may_write(inner, var)) return true;
    return false;
  }
  void find_aliasing_loads(const ir::Region& r) {
    for (size_t i = 0; i < r.ops.size(); ++i) {
      const ir::Op& load = r.ops[i];
      if (load.kind != OpKind::Load || f_.type_of(load.results[0]).rank() == 0) continue;
      const ValueId v = load.results[0], var = load.operands[0];
      size_t last = i;
      for (size_t j = i + 1; j < r.ops.size(); ++j)
        if (uses_value(r.ops[j], v)) last = j;
      bool written = false;
      for (size_t j = i + 1; j <= last && !written; ++j) written = may_write(r.ops[j], var);
      // A value returned, or stored into another var, outlives the region: keep the copy.
      bool escapes = false;
      for (size_t j = i + 1; j <= last; ++j)
        escapes = escapes || r.ops[j].kind == OpKind::Return || r.ops[j].kind == OpKind::Yield;
      if (!written && !escapes) aliasing_loads_.insert(&load);
    }
  }
  std::set<const ir::Op*> aliasing_loads_;

  llvm::Value* scalar(ValueId v) {
    if (!vals_[v].v) throw CodegenError("value %" + std::to_string(v) + " has no code");
    return vals_[v].v;
  }

  void set(ValueId v, llvm::Value* x) { vals_[v].v = x; }

  void op(const ir::Op& o) {
    auto operand = [&](size_t k) { return scalar(o.operands.at(k)); };
    const bool is_f64 = !o.operands.empty() && f_.type_of(o.operands[0]).elem == ir::Elem::F64 &&
                        f_.type_of(o.operands[0]).rank() == 0;
    switch (o.kind) {
      case OpKind::ConstF64: set(o.results[0], llvm::ConstantFP::get(b_.getDoubleTy(), o.f)); break;
      case OpKind::ConstI64: set(o.results[0], b_.getInt64(o.i)); break;
      case OpKind::ConstBool: set(o.results[0], b_.getInt1(o.i != 0)); break;
      case OpKind::Neg:
        set(o.results[0], is_f64 ? b_.CreateFNeg(operand(0)) : b_.CreateNeg(operand(0)));
        break;
      case OpKind::Add:
        set(o.results[0], is_f64 ? b_.CreateFAdd(operand(0), operand(1)) : b_.CreateAdd(operand(0), operand(1)));
        break;
      case OpKind::Sub:
        set(o.results[0], is_f64 ? b_.CreateFSub(operand(0), operand(1)) : b_.CreateSub(operand(0), operand(1)));
        break;
      case OpKind::Mul:
        set(o.results[0], is_f64 ? b_.CreateFMul(operand(0), operand(1)) : b_.CreateMul(operand(0), operand(1)));
        break;
      case OpKind::Div:
        set(o.results[0], is_f64 ? b_.CreateFDiv(operand(0), operand(1)) : b_.CreateSDiv(operand(0), operand(1)));
        break;
      case OpKind::IDiv: set(o.results[0], b_.CreateSDiv(operand(0), operand(1))); break;
      case OpKind::IMod: set(o.results[0], b_.CreateSRem(operand(0), operand(1))); break;
      case OpKind::Cmp: set(o.results[0], compare(o.pred, is_f64, operand(0), operand(1))); break;
      case OpKind::And: set(o.results[0], b_.CreateAnd(operand(0), operand(1))); break;
      case OpKind::Or: set(o.results[0], b_.CreateOr(operand(0), operand(1))); break;
      case OpKind::Not: set(o.results[0], b_.CreateNot(operand(0))); break;
      case OpKind::Select: set(o.results[0], b_.CreateSelect(operand(0), operand(1), operand(2))); break;
      case OpKind::IToF: set(o.results[0], b_.CreateSIToFP(operand(0), b_.getDoubleTy())); break;
      case OpKind::BoolToI: set(o.results[0], b_.CreateZExt(operand(0), b_.getInt64Ty())); break;
      case OpKind::Call: call(o); break;
      case OpKind::Dist: dist(o); break;
      case OpKind::Dim: {
        const Val& t = vals_[o.operands[0]];
        if (static_cast<size_t>(o.i) >= t.dims.size()) throw CodegenError("dim index out of range");
        set(o.results[0], t.dims[o.i]);
        break;
      }
      case OpKind::Alloc: {
        std::vector<llvm::Value*> dims;
        for (ValueId d : o.operands) dims.push_back(scalar(d));
        llvm::Value* data = alloc_tensor(o.type.elem, dims);
        fill(o.type.elem, data, product(dims), o.f);
        vals_[o.results[0]] = Val{data, dims};
        break;
      }
      case OpKind::Extract: extract(o); break;
      case OpKind::View: {
        const ir::Type& t = f_.type_of(o.operands[0]);
        Val view;
        view.v = b_.CreateGEP(storage_type(t.elem), vals_[o.operands[0]].v, scalar(o.operands[1]));
        for (size_t k = 2; k < o.operands.size(); ++k) view.dims.push_back(scalar(o.operands[k]));
        vals_[o.results[0]] = view;
        break;
      }
      case OpKind::AccumulateView: {
        const Val& r = vals_[o.operands[0]];
        const Val& x = vals_[o.operands[2]];
        llvm::Value* base = b_.CreateGEP(b_.getDoubleTy(), r.v, scalar(o.operands[1]));
        counted_loop(b_.getInt64(0), product(x.dims), [&](llvm::Value* i) {
          llvm::Value* p = b_.CreateGEP(b_.getDoubleTy(), base, i);
          llvm::Value* q = b_.CreateGEP(b_.getDoubleTy(), x.v, i);
          b_.CreateStore(accumulate_add(b_.CreateLoad(b_.getDoubleTy(), p), b_.CreateLoad(b_.getDoubleTy(), q)), p);
        }, "acc.view", unroll_pays(product(x.dims)));
        break;
      }
      case OpKind::Slice: slice(o); break;
      case OpKind::AccumulateSlice: accumulate_slice(o); break;
      case OpKind::StoreSlice: store_slice(o); break;
      case OpKind::Map:
      case OpKind::MapSum: map(o); break;
      case OpKind::Var: var(o); break;
      case OpKind::Load: load(o); break;
      case OpKind::Store: store(o); break;
      case OpKind::LoadElem: load_elem(o); break;
      case OpKind::StoreElem: store_elem(o); break;
      case OpKind::Accumulate: accumulate(o); break;
      case OpKind::AccumulateElem: accumulate_elem(o); break;
      case OpKind::CallGrad: call_grad(o); break;
      case OpKind::CallRng: {
        std::vector<llvm::Type*> types;
        std::vector<llvm::Value*> args;
        for (size_t k = 0; k + 1 < o.operands.size(); ++k) {
          types.push_back(elem_type(o.operands[k]));
          args.push_back(scalar(o.operands[k]));
        }
        types.push_back(b_.getPtrTy());
        args.push_back(b_.CreateIntToPtr(scalar(o.operands.back()), b_.getPtrTy()));
        auto callee = m_.getOrInsertFunction("halo_" + o.name, llvm::FunctionType::get(elem_type(o.results[0]), types, false));
        set(o.results[0], b_.CreateCall(callee, args));
        break;
      }
      case OpKind::Push: push(o); break;
      case OpKind::Pop: pop(o); break;
      case OpKind::For: for_loop(o); break;
      case OpKind::While: while_loop(o); break;
      case OpKind::If: if_op(o); break;
      case OpKind::Break:
        if (loops_.empty()) throw CodegenError("break outside a loop");
        b_.CreateBr(loops_.back().second);
        break;
      case OpKind::Continue:
        if (loops_.empty()) throw CodegenError("continue outside a loop");
        b_.CreateBr(loops_.back().first);
        break;
      case OpKind::Check: check(o); break;
      case OpKind::Print: print_or_reject(o, false); break;
      case OpKind::Reject: print_or_reject(o, true); break;
      case OpKind::Param: param(o); break;
      case OpKind::Return: ret(o); break;
      case OpKind::Yield: throw CodegenError("yield outside a region that expects it");
      case OpKind::MatMul: matmul(o); break;
      case OpKind::Kernel: kernel(o); break;
    }
  }

  llvm::Value* compare(ir::CmpPred p, bool is_f64, llvm::Value* a, llvm::Value* b) {
    using P = llvm::CmpInst::Predicate;
    P pred;
    switch (p) {
      case ir::CmpPred::Lt: pred = is_f64 ? P::FCMP_OLT : P::ICMP_SLT; break;
      case ir::CmpPred::Le: pred = is_f64 ? P::FCMP_OLE : P::ICMP_SLE; break;
      case ir::CmpPred::Gt: pred = is_f64 ? P::FCMP_OGT : P::ICMP_SGT; break;
      case ir::CmpPred::Ge: pred = is_f64 ? P::FCMP_OGE : P::ICMP_SGE; break;
      case ir::CmpPred::Eq: pred = is_f64 ? P::FCMP_OEQ : P::ICMP_EQ; break;
      case ir::CmpPred::Ne: default: pred = is_f64 ? P::FCMP_UNE : P::ICMP_NE; break;
    }
    return is_f64 ? b_.CreateFCmp(pred, a, b) : b_.CreateICmp(pred, a, b);
  }

  void call(const ir::Op& o) {
    std::vector<llvm::Type*> types;
    std::vector<llvm::Value*> args;
    for (ValueId v : o.operands) {
      types.push_back(elem_type(v));
      args.push_back(scalar(v));
    }
    auto* type = llvm::FunctionType::get(elem_type(o.results[0]), types, false);
    auto callee = m_.getOrInsertFunction("halo_" + o.name, type);
    if (auto* fn = llvm::dyn_cast<llvm::Function>(callee.getCallee())) {
      fn->setDoesNotAccessMemory();
      fn->setDoesNotThrow();
      fn->setWillReturn();
    }
    set(o.results[0], b_.CreateCall(callee, args));
  }

  // halo_<name>(args..., int32 flags, double* partials) -> log density; results beyond the
  // first receive the partials of the f64 arguments, in order.
  void dist(const ir::Op& o) {
    std::vector<llvm::Type*> types;
    std::vector<llvm::Value*> args;
    size_t real_args = 0;
    for (ValueId v : o.operands) {
      types.push_back(elem_type(v));
      args.push_back(scalar(v));
      if (f_.type_of(v).elem == ir::Elem::F64) ++real_args;
    }
    auto* slots_type = llvm::ArrayType::get(b_.getDoubleTy(), std::max<size_t>(real_args, 1));
    llvm::Value* slots = entry_alloca(slots_type, "partials");
    types.push_back(b_.getInt32Ty());
    types.push_back(b_.getPtrTy());
    args.push_back(b_.getInt32(static_cast<uint32_t>(o.i)));
    args.push_back(slots);
    auto* type = llvm::FunctionType::get(b_.getDoubleTy(), types, false);
    auto callee = m_.getOrInsertFunction("halo_" + o.name, type);
    if (auto* fn = llvm::dyn_cast<llvm::Function>(callee.getCallee())) {
      fn->setDoesNotThrow();
      fn->setWillReturn();
      fn->addParamAttr(static_cast<unsigned>(types.size() - 1), llvm::Attribute::NoAlias);
    }
    set(o.results[0], b_.CreateCall(callee, args));
    for (size_t k = 1; k < o.results.size(); ++k) {
      llvm::Value* p = b_.CreateConstGEP2_64(slots_type, slots, 0, k - 1);
      set(o.results[k], b_.CreateLoad(b_.getDoubleTy(), p));
    }
  }

  void extract(const ir::Op& o) {
    const Val& t = vals_[o.operands[0]];
    const ir::Type& type = f_.type_of(o.operands[0]);
    std::vector<llvm::Value*> idx;
    for (size_t k = 1; k < o.operands.size(); ++k) idx.push_back(scalar(o.operands[k]));
    llvm::Value* offset = element_offset(type, t.dims, idx);
    if (idx.size() == static_cast<size_t>(type.rank())) {
      set(o.results[0], load_scalar_at(type.elem, t.v, offset));
      return;
    }
    if (idx.size() > type.array_rank) throw CodegenError("extract: partial element index (use slice)");
    Val view;
    view.v = b_.CreateGEP(storage_type(type.elem), t.v, offset);
    view.dims.assign(t.dims.begin() + static_cast<long>(idx.size()), t.dims.end());
    vals_[o.results[0]] = view;
  }

  // Walks the elements of a slice of `t` (half-open ranges per dim; dims not in `mask` take the
  // single index lo) in nested loops over the kept dims, calling fn(source offset, offset in
  // the slice); with a null fn it only computes them. Returns the slice's dims.
  std::vector<llvm::Value*> walk_slice(const ir::Op& o, const Val& t, const ir::Type& type,
                                       const std::function<void(llvm::Value*, llvm::Value*)>& fn) {
    const size_t rank = type.rank();
    std::vector<llvm::Value*> lo(rank), hi(rank);
    for (size_t k = 0; k < rank; ++k) {
      lo[k] = scalar(o.operands[1 + 2 * k]);
      hi[k] = scalar(o.operands[2 + 2 * k]);
    }
    std::vector<size_t> kept;
    std::vector<llvm::Value*> out_dims;
    for (size_t k = 0; k < rank; ++k)
      if (o.i & (int64_t{1} << k)) {
        kept.push_back(k);
        out_dims.push_back(b_.CreateSub(hi[k], lo[k]));
      }
    // The slice is addressed column-major over its kept dims (an element-only layout).
    std::vector<llvm::Value*> src_idx(lo.begin(), lo.end());
    std::vector<llvm::Value*> dst_idx(kept.size());
    std::function<void(size_t)> nest = [&](size_t level) {
      if (level == kept.size()) {
        llvm::Value* dst = b_.getInt64(0);
        llvm::Value* stride = b_.getInt64(1);
        // Kept dims keep the source's kind: array dims row-major, element dims column-major.
        size_t kept_array = 0;
        for (size_t k : kept) kept_array += k < type.array_rank ? 1 : 0;
        llvm::Value* array_index = b_.getInt64(0);
        for (size_t j = 0; j < kept_array; ++j) array_index = b_.CreateAdd(b_.CreateMul(array_index, out_dims[j]), dst_idx[j]);
        llvm::Value* block = b_.getInt64(1);
        for (size_t j = kept_array; j < kept.size(); ++j) block = b_.CreateMul(block, out_dims[j]);
        dst = b_.CreateMul(array_index, block);
        for (size_t j = kept_array; j < kept.size(); ++j) {
          dst = b_.CreateAdd(dst, b_.CreateMul(dst_idx[j], stride));
          stride = b_.CreateMul(stride, out_dims[j]);
        }
        fn(element_offset(type, t.dims, src_idx), dst);
        return;
      }
      size_t k = kept[level];
      counted_loop(b_.getInt64(0), out_dims[level], [&](llvm::Value* i) {
        src_idx[k] = b_.CreateAdd(lo[k], i);
        dst_idx[level] = i;
        nest(level + 1);
      }, "slice");
    };
    if (fn) nest(0);
    return out_dims;
  }

  // slice(t, lo0, hi0, lo1, hi1, ...): copies the slice into a new tensor.
  void slice(const ir::Op& o) {
    const Val& t = vals_[o.operands[0]];
    const ir::Type& type = f_.type_of(o.operands[0]);
    std::vector<llvm::Value*> dims = walk_slice(o, t, type, nullptr);  // dims only
    Val out{alloc_tensor(type.elem, dims), dims};
    walk_slice(o, t, type, [&](llvm::Value* src, llvm::Value* dst) {
      store_scalar_at(type.elem, out.v, dst, load_scalar_at(type.elem, t.v, src));
    });
    vals_[o.results[0]] = out;
  }

  // store_slice(ref, lo0, hi0, ..., value): the slice of ref = value (sizes checked).
  void store_slice(const ir::Op& o) {
    const Val& r = vals_[o.operands[0]];
    const ir::Type type = f_.type_of(o.operands[0]).value_type();
    const Val& x = vals_[o.operands.back()];
    std::vector<llvm::Value*> dims = walk_slice(o, r, type, nullptr);
    llvm::Value* want = product(dims);
    llvm::Value* have = product(x.dims);
    auto* ok = llvm::BasicBlock::Create(ctx_, "slice.ok", fn_);
    std::string msg = "assignment to a slice: the slice has {} elements but the value has {}";
    if (o.source_line > 0) msg += " (line " + std::to_string(o.source_line) + ")";
    b_.CreateCondBr(b_.CreateICmpEQ(want, have), ok, fail_block(msg, want, have));
    b_.SetInsertPoint(ok);
    walk_slice(o, r, type, [&](llvm::Value* dst, llvm::Value* src) {
      store_scalar_at(type.elem, r.v, dst, load_scalar_at(type.elem, x.v, src));
    });
  }

  // The sum of an accumulation (adjoints, target, +=): the sign of a zero sum does not matter
  // there, and saying so (nsz) lets LLVM drop the `0 + x` of a first accumulation into a
  // zeroed adjoint, an add on the reverse sweep's critical path.
  llvm::Value* accumulate_add(llvm::Value* a, llvm::Value* b) {
    auto* sum = b_.CreateFAdd(a, b);
    if (auto* inst = llvm::dyn_cast<llvm::Instruction>(sum)) inst->setHasNoSignedZeros(true);
    return sum;
  }

  // accumulate_slice(ref, lo0, hi0, ..., value): the slice of ref += value.
  void accumulate_slice(const ir::Op& o) {
    const Val& r = vals_[o.operands[0]];
    const ir::Type type = f_.type_of(o.operands[0]).value_type();
    const Val& x = vals_[o.operands.back()];
    auto* f64 = b_.getDoubleTy();
    walk_slice(o, r, type, [&](llvm::Value* dst, llvm::Value* src) {
      llvm::Value* p = b_.CreateGEP(f64, r.v, dst);
      b_.CreateStore(accumulate_add(b_.CreateLoad(f64, p), b_.CreateLoad(f64, b_.CreateGEP(f64, x.v, src))), p);
    });
  }

  // map / map_sum over 1 dim (flat: elementwise and scalar inputs) or 2 dims (rows x cols,
  // with row and column broadcasts); inner loop over rows, matching column-major storage.
  // Each result collects the yielded scalars as its MapResult mode says.
  void map(const ir::Op& o) {
    const size_t ndims = static_cast<size_t>(o.i);
    std::vector<llvm::Value*> dims;
    for (size_t k = 0; k < ndims; ++k) dims.push_back(scalar(o.operands[k]));
    const ir::Region& body = o.regions.at(0);
    const size_t ninputs = o.broadcasts.size();
    std::vector<ir::MapResult> modes = o.map_results;
    if (modes.empty()) modes = {o.kind == OpKind::MapSum ? ir::MapResult::Sum : ir::MapResult::Elementwise};
    if (modes.size() != o.results.size()) throw CodegenError("map: one mode per result");
    auto* f64 = b_.getDoubleTy();
    // Result storage.
    std::vector<Val> outs(modes.size());
    std::vector<llvm::Value*> sums(modes.size(), nullptr);
    for (size_t r = 0; r < modes.size(); ++r) {
      const ir::Type& rt = f_.type_of(o.results[r]);
      switch (modes[r]) {
        case ir::MapResult::Elementwise: {
          outs[r].dims = dims;
          if (ndims == 1 && rt.rank() > 1) {
            // A flat map over a tensor of higher rank takes the shape of its first
            // elementwise input.
            for (size_t k = 0; k < ninputs; ++k)
              if (o.broadcasts[k] == ir::Broadcast::Elementwise) {
                outs[r].dims = vals_[o.operands[ndims + k]].dims;
                break;
              }
          }
          outs[r].v = alloc_tensor(rt.elem, outs[r].dims);
          break;
        }
        case ir::MapResult::Sum:
          sums[r] = entry_alloca(f64, "map.sum");
          b_.CreateStore(llvm::ConstantFP::get(f64, 0.0), sums[r]);
          break;
        case ir::MapResult::SumOverRows:
        case ir::MapResult::SumOverCols: {
          if (ndims != 2) throw CodegenError("map: row/column sums need a 2-d map");
          llvm::Value* n = modes[r] == ir::MapResult::SumOverRows ? dims[1] : dims[0];
          outs[r].dims = {n};
          outs[r].v = alloc_tensor(ir::Elem::F64, outs[r].dims);
          // A row sum (one per column) runs along the inner loop: it accumulates in a register
          // (a store to the same address per element would serialise the loop) and is stored
          // once per column.
          if (modes[r] == ir::MapResult::SumOverRows) sums[r] = entry_alloca(f64, "map.colsum");
          else fill(ir::Elem::F64, outs[r].v, n, 0.0);
          break;
        }
      }
    }
    auto element = [&](llvm::Value* flat, llvm::Value* row, llvm::Value* col) {
      for (size_t k = 0; k < ninputs; ++k) {
        ValueId in = o.operands[ndims + k];
        ValueId arg = body.args.at(k);
        const ir::Type& it = f_.type_of(in);
        if (it.rank() == 0) {
          set(arg, scalar(in));
          continue;
        }
        llvm::Value* offset = flat;
        switch (o.broadcasts[k]) {
          case ir::Broadcast::Elementwise: offset = flat; break;
          case ir::Broadcast::Rows: offset = col; break;
          case ir::Broadcast::Cols: offset = row; break;
          case ir::Broadcast::Scalar: offset = b_.getInt64(0); break;
        }
        set(arg, load_scalar_at(it.elem, vals_[in].v, offset));
      }
      const ir::Op* yield = nullptr;
      for (const ir::Op& inner : body.ops) {
        if (inner.kind == OpKind::Yield) {
          yield = &inner;
          break;
        }
        op(inner);
      }
      if (!yield || yield->operands.size() != modes.size()) throw CodegenError("map body must yield one value per result");
      llvm::FastMathFlags saved = b_.getFastMathFlags();
      llvm::FastMathFlags reassoc = saved;
      reassoc.setAllowReassoc();  // lets the vectoriser split sums into lanes
      for (size_t r = 0; r < modes.size(); ++r) {
        llvm::Value* y = scalar(yield->operands[r]);
        switch (modes[r]) {
          case ir::MapResult::Elementwise:
            store_scalar_at(f_.type_of(o.results[r]).elem, outs[r].v, flat, y);
            break;
          case ir::MapResult::Sum:
            b_.setFastMathFlags(reassoc);
            b_.CreateStore(b_.CreateFAdd(b_.CreateLoad(f64, sums[r]), y), sums[r]);
            b_.setFastMathFlags(saved);
            break;
          case ir::MapResult::SumOverRows:
            b_.setFastMathFlags(reassoc);
            b_.CreateStore(b_.CreateFAdd(b_.CreateLoad(f64, sums[r]), y), sums[r]);
            b_.setFastMathFlags(saved);
            break;
          case ir::MapResult::SumOverCols: {
            llvm::Value* p = b_.CreateGEP(f64, outs[r].v, row);
            b_.setFastMathFlags(reassoc);
            b_.CreateStore(b_.CreateFAdd(b_.CreateLoad(f64, p), y), p);
            b_.setFastMathFlags(saved);
            break;
          }
        }
      }
    };
    // A body that calls a function (an activation: tens of vector instructions per element)
    // runs its last partial vector masked; cheaper bodies keep the scalar remainder, which costs
    // less than a masked iteration.
    bool fold_tail = false;
    for (const ir::Op& inner : body.ops) fold_tail = fold_tail || inner.kind == OpKind::Call;
    if (ndims == 1) {
      counted_loop(b_.getInt64(0), dims[0], [&](llvm::Value* i) { element(i, i, i); }, "map", unroll_pays(dims[0]),
                   fold_tail);
    } else if (ndims == 2) {
      // Column sums only (a matrix-vector product): eight columns per pass over the rows, so
      // that each row's sum is loaded and stored once per eight columns instead of once per
      // column (the stores and reloads chain the columns; same order of additions). Eight
      // measured 5-12% faster than four on the regressions' densities.
      bool column_sums = true;
      for (ir::MapResult m : modes) column_sums = column_sums && m == ir::MapResult::SumOverCols;
      llvm::Value* first_col = b_.getInt64(0);
      if (column_sums) {
        llvm::Value* blocks = b_.CreateAShr(dims[1], 3);
        counted_loop(b_.getInt64(0), blocks, [&](llvm::Value* jb) {
          llvm::Value* j0 = b_.CreateShl(jb, 3);
          counted_loop(b_.getInt64(0), dims[0], [&](llvm::Value* i) {
            for (int u = 0; u < 8; ++u) {
              llvm::Value* j = b_.CreateAdd(j0, b_.getInt64(u));
              element(b_.CreateAdd(b_.CreateMul(j, dims[0]), i), i, j);
            }
          }, "map.rows8", unroll_pays(dims[0]), fold_tail);
        }, "map.cols8", /*unroll=*/false);
        first_col = b_.CreateShl(blocks, 3);
      }
      counted_loop(first_col, dims[1], [&](llvm::Value* j) {
        llvm::Value* base = b_.CreateMul(j, dims[0]);
        for (size_t r = 0; r < modes.size(); ++r)
          if (modes[r] == ir::MapResult::SumOverRows) b_.CreateStore(llvm::ConstantFP::get(f64, 0.0), sums[r]);
        counted_loop(b_.getInt64(0), dims[0], [&](llvm::Value* i) {
          element(b_.CreateAdd(base, i), i, j);
        }, "map.rows", unroll_pays(dims[0]), fold_tail);
        for (size_t r = 0; r < modes.size(); ++r)
          if (modes[r] == ir::MapResult::SumOverRows)
            b_.CreateStore(b_.CreateLoad(f64, sums[r]), b_.CreateGEP(f64, outs[r].v, j));
      }, "map.cols", /*unroll=*/false);
    } else {
      throw CodegenError("map over more than 2 dims");
    }
    for (size_t r = 0; r < modes.size(); ++r) {
      if (modes[r] == ir::MapResult::Sum) set(o.results[r], b_.CreateLoad(f64, sums[r]));
      else vals_[o.results[r]] = outs[r];
    }
  }

  // C = op(A) op(B), column-major: a call of the stdlib's halo_gemm, which picks unpacked
  // register tiles for the thin products of network layers (a few columns, short k, matrix-vector
  // shapes) and packed panels for large ones (linalg.cpp). Loops emitted here were 2x slower at
  // network sizes and, fully unrolled over constant widths, most of a model's compile time.
  void matmul(const ir::Op& o) {
    const Val& A = vals_[o.operands[0]];
    const Val& B = vals_[o.operands[1]];
    const bool ta = o.i & 1, tb = o.i & 2;
    auto* f64 = b_.getDoubleTy();
    auto* i64 = b_.getInt64Ty();
    auto* i32 = b_.getInt32Ty();
    auto* ptr = b_.getPtrTy();
    llvm::Value* m = ta ? A.dims[1] : A.dims[0];
    llvm::Value* inner = ta ? A.dims[0] : A.dims[1];
    llvm::Value* inner_b = tb ? B.dims[1] : B.dims[0];
    llvm::Value* n = tb ? B.dims[0] : B.dims[1];
    auto* ok = llvm::BasicBlock::Create(ctx_, "matmul.ok", fn_);
    std::string msg = "matrix product: the left operand has {} columns but the right has {} rows";
    if (o.source_line > 0) msg += " (line " + std::to_string(o.source_line) + ")";
    b_.CreateCondBr(b_.CreateICmpEQ(inner, inner_b), ok, fail_block(msg, inner, inner_b));
    b_.SetInsertPoint(ok);
    Val C{alloc_tensor(ir::Elem::F64, {m, n}), {m, n}};
    auto gemm = m_.getOrInsertFunction(
        "halo_gemm", llvm::FunctionType::get(b_.getVoidTy(), {i32, i32, i64, i64, i64, f64, ptr, ptr, f64, ptr}, false));
    if (auto* fn = llvm::dyn_cast<llvm::Function>(gemm.getCallee())) {
      fn->setDoesNotThrow();
      fn->setWillReturn();
    }
    llvm::CallInst* call = b_.CreateCall(gemm, {b_.getInt32(ta ? 1 : 0), b_.getInt32(tb ? 1 : 0), m, n, inner,
                                                llvm::ConstantFP::get(f64, 1.0), A.v, B.v,
                                                llvm::ConstantFP::get(f64, 0.0), C.v});
    call->setIsNoInline();  // one out-of-line copy per module: gemm is large
    vals_[o.results[0]] = C;
  }

  // ---- container kernels (ir.h: Kernel): the C call of each stdlib kernel and its reverse ----

  llvm::Value* c_call(const std::string& name, llvm::Type* ret, const std::vector<llvm::Value*>& args) {
    std::vector<llvm::Type*> types;
    for (llvm::Value* a : args) types.push_back(a->getType());
    auto callee = m_.getOrInsertFunction(name, llvm::FunctionType::get(ret, types, false));
    if (auto* fn = llvm::dyn_cast<llvm::Function>(callee.getCallee())) {
      fn->setDoesNotThrow();
      fn->setWillReturn();
    }
    return b_.CreateCall(callee, args);
  }
  Val zero_tensor(const std::vector<llvm::Value*>& dims) {
    Val t{alloc_tensor(ir::Elem::F64, dims), dims};
    fill(ir::Elem::F64, t.v, product(dims), 0.0);
    return t;
  }
  llvm::Value* scratch(llvm::Value* count) {
    return alloc_tensor(ir::Elem::F64, {b_.CreateAdd(count, b_.getInt64(1))});
  }
  // Continues when `ok`, otherwise fails the call with the message.
  void require(llvm::Value* ok, const std::string& message, llvm::Value* a = nullptr, llvm::Value* b = nullptr,
               int line = 0) {
    std::string msg = message;
    if (line > 0) msg += " (line " + std::to_string(line) + ")";
    auto* cont = llvm::BasicBlock::Create(ctx_, "kernel.ok", fn_);
    b_.CreateCondBr(ok, cont, fail_block(msg, a, b));
    b_.SetInsertPoint(cont);
  }
  void require_eq(llvm::Value* a, llvm::Value* b, const std::string& message, int line) {
    require(b_.CreateICmpEQ(a, b), message, a, b, line);
  }

  void kernel(const ir::Op& o) {
    const std::string& n = o.name;
    const bool rev = n.size() > 4 && n.compare(n.size() - 4, 4, "_rev") == 0;
    const std::string base = rev ? n.substr(0, n.size() - 4) : n;
    if (base == "transpose") return transpose_kernel(o, rev);
    if (base == "cholesky_decompose") return cholesky_kernel(o, rev);
    if (base.rfind("qr_", 0) == 0) return qr_kernel(o, base, rev);
    if (base == "gp_exp_quad_cov") return gp_exp_quad_cov_kernel(o, rev);
    if (base == "normal_mixture_lpdf") return normal_mixture_kernel(o, rev);
    if (base.rfind("constrain_", 0) == 0) return constrain_kernel(o, base.substr(10), rev);
    if (base.rfind("unconstrain_", 0) == 0) return unconstrain_kernel(o, base.substr(12));
    if (base.rfind("check_", 0) == 0) return unconstrain_kernel(o, base.substr(6));  // no result
    if (library_kernel(o, base, rev)) return;
    return multivariate_density(o, base, rev);
  }

  // A' (column-major copy); the reverse transposes the result's adjoint back.
  void transpose_kernel(const ir::Op& o, bool rev) {
    auto* f64 = b_.getDoubleTy();
    const Val& in = vals_[rev ? o.operands[2] : o.operands[0]];
    llvm::Value* rows = in.dims[0];
    llvm::Value* cols = in.dims[1];
    Val out{alloc_tensor(ir::Elem::F64, {cols, rows}), {cols, rows}};
    counted_loop(b_.getInt64(0), rows, [&](llvm::Value* i) {
      counted_loop(b_.getInt64(0), cols, [&](llvm::Value* j) {
        llvm::Value* v = b_.CreateLoad(f64, b_.CreateGEP(f64, in.v, b_.CreateAdd(i, b_.CreateMul(j, rows))));
        b_.CreateStore(v, b_.CreateGEP(f64, out.v, b_.CreateAdd(j, b_.CreateMul(i, cols))));
      }, "transpose.j");
    }, "transpose.i");
    vals_[o.results[0]] = out;
  }

  // qr_thin_Q / qr_thin_R / qr_Q / qr_R: one Householder QR (stdlib halo_qr). Not
  // differentiable: meant for data (Stan's QR reparameterisation in transformed data).
  void qr_kernel(const ir::Op& o, const std::string& name, bool rev) {
    if (rev) throw CodegenError(name + " of parameters is not differentiable in Halo (use it on data)");
    const Val& A = vals_[o.operands[0]];
    llvm::Value* m = A.dims[0];
    llvm::Value* n = A.dims[1];
    llvm::Value* k = b_.CreateSelect(b_.CreateICmpSLT(m, n), m, n);
    const bool thin = name.find("thin") != std::string::npos;
    const bool want_q = name.back() == 'Q';
    std::vector<llvm::Value*> dims = want_q ? std::vector<llvm::Value*>{m, thin ? k : m}
                                            : std::vector<llvm::Value*>{thin ? k : m, n};
    Val out{alloc_tensor(ir::Elem::F64, dims), dims};
    llvm::Value* work = scratch(b_.CreateAdd(b_.CreateMul(m, n), b_.CreateAdd(m, n)));
    llvm::Value* null = llvm::ConstantPointerNull::get(b_.getPtrTy());
    c_call("halo_qr", b_.getVoidTy(),
           {m, n, A.v, b_.getInt32(thin ? 1 : 0), want_q ? out.v : null, want_q ? null : out.v, work});
    vals_[o.results[0]] = out;
  }

  void cholesky_kernel(const ir::Op& o, bool rev) {
    auto* ptr = b_.getPtrTy();
    (void)ptr;
    const Val A = vals_[o.operands[0]];
    llvm::Value* K = A.dims[0];
    if (!rev) {
      require_eq(A.dims[1], K, "cholesky_decompose: the matrix has {} columns and {} rows", o.source_line);
      Val L{alloc_tensor(ir::Elem::F64, {K, K}), {K, K}};
      llvm::Value* status = c_call("halo_cholesky_decompose", b_.getInt32Ty(), {K, A.v, L.v});
      require(b_.CreateICmpEQ(status, b_.getInt32(0)), "cholesky_decompose: the matrix is not positive definite",
              nullptr, nullptr, o.source_line);
      vals_[o.results[0]] = L;
      return;
    }
    const Val& L = vals_[o.operands[1]];
    const Val& L_adj = vals_[o.operands[2]];
    Val A_adj = adjoint_out(o.results[0], {K, K});
    c_call("halo_cholesky_decompose_rev", b_.getVoidTy(), {K, L.v, L_adj.v, A_adj.v, scratch(b_.CreateMul(K, K))});
    vals_[o.results[0]] = A_adj;
  }

  // gp_exp_quad_cov(x, alpha, rho): x an array of reals (D = 1) or of vectors.
  void gp_exp_quad_cov_kernel(const ir::Op& o, bool rev) {
    const Val x = vals_[o.operands[0]];
    llvm::Value* N = x.dims[0];
    llvm::Value* D = f_.type_of(o.operands[0]).elem_rank == 1 ? x.dims[1] : b_.getInt64(1);
    llvm::Value* alpha = scalar(o.operands[1]);
    llvm::Value* rho = scalar(o.operands[2]);
    if (!rev) {
      Val out{alloc_tensor(ir::Elem::F64, {N, N}), {N, N}};
      c_call("halo_gp_exp_quad_cov", b_.getVoidTy(), {N, D, x.v, alpha, rho, out.v});
      vals_[o.results[0]] = out;
      return;
    }
    const Val& out = vals_[o.operands[3]];
    const Val& out_adj = vals_[o.operands[4]];
    // The points are usually data (their adjoint unused), which has a faster reverse.
    Val x_adj = used(o.results[0]) ? zero_tensor(x.dims) : Val{llvm::ConstantPointerNull::get(b_.getPtrTy()), x.dims};
    llvm::Value* alpha_adj = zeroed_slot();
    llvm::Value* rho_adj = zeroed_slot();
    c_call("halo_gp_exp_quad_cov_rev", b_.getVoidTy(),
           {N, D, x.v, alpha, rho, out.v, out_adj.v, x_adj.v, alpha_adj, rho_adj});
    vals_[o.results[0]] = x_adj;
    set(o.results[1], b_.CreateLoad(b_.getDoubleTy(), alpha_adj));
    set(o.results[2], b_.CreateLoad(b_.getDoubleTy(), rho_adj));
  }
  llvm::Value* zeroed_slot() {
    llvm::Value* slot = entry_alloca(b_.getDoubleTy(), "adj");
    b_.CreateStore(llvm::ConstantFP::get(b_.getDoubleTy(), 0.0), slot);
    return slot;
  }

  // normal_mixture(y | logits, mu, sigma): a real y with vectors of K components, or a vector
  // y of N with N x K matrices (one mixture per row, read with stride N from column-major).
  void normal_mixture_kernel(const ir::Op& o, bool rev) {
    auto* f64 = b_.getDoubleTy();
    auto* i32 = b_.getInt32Ty();
    const bool rows = f_.type_of(o.operands[0]).rank() == 1;
    const Val& logits = vals_[o.operands[1]];
    const Val& mu = vals_[o.operands[2]];
    const Val& sigma = vals_[o.operands[3]];
    llvm::Value* N = rows ? vals_[o.operands[0]].dims[0] : b_.getInt64(1);
    llvm::Value* K = rows ? logits.dims[1] : logits.dims[0];
    if (!rev) {
      const std::string what = "normal_mixture: ";
      if (rows) require_eq(logits.dims[0], N, what + "the logits have {} rows but y has {} elements", o.source_line);
      for (const Val* m : {&mu, &sigma})
        for (size_t d = 0; d < logits.dims.size(); ++d)
          require_eq(m->dims[d], logits.dims[d], what + "the locations and scales must have the logits' shape ({} vs {})",
                     o.source_line);
    }
    llvm::Value* flags = b_.getInt32(static_cast<uint32_t>(o.i));
    auto y_at = [&](llvm::Value* i) {
      return rows ? static_cast<llvm::Value*>(b_.CreateLoad(f64, b_.CreateGEP(f64, vals_[o.operands[0]].v, i)))
                  : scalar(o.operands[0]);
    };
    auto at = [&](const Val& t, llvm::Value* i) { return b_.CreateGEP(f64, t.v, i); };
    (void)i32;
    if (!rev) {
      llvm::Value* sum = zeroed_slot();
      counted_loop(b_.getInt64(0), N, [&](llvm::Value* i) {
        llvm::Value* lp = c_call("halo_normal_mixture_lpdf", f64,
                                 {y_at(i), K, at(logits, i), at(mu, i), at(sigma, i), N, flags});
        b_.CreateStore(b_.CreateFAdd(b_.CreateLoad(f64, sum), lp), sum);
      }, "mixture");
      set(o.results[0], b_.CreateLoad(f64, sum));
      return;
    }
    llvm::Value* g = scalar(o.operands[5]);
    Val y_adj;
    llvm::Value* y_slot = nullptr;
    if (rows) y_adj = zero_tensor({N});
    else y_slot = zeroed_slot();
    Val logits_adj = zero_tensor(logits.dims), mu_adj = zero_tensor(mu.dims), sigma_adj = zero_tensor(sigma.dims);
    counted_loop(b_.getInt64(0), N, [&](llvm::Value* i) {
      c_call("halo_normal_mixture_lpdf_rev", b_.getVoidTy(),
             {y_at(i), K, at(logits, i), at(mu, i), at(sigma, i), N, flags, g, rows ? at(y_adj, i) : y_slot,
              at(logits_adj, i), at(mu_adj, i), at(sigma_adj, i)});
    }, "mixture.rev");
    if (rows) vals_[o.results[0]] = y_adj;
    else set(o.results[0], b_.CreateLoad(f64, y_slot));
    vals_[o.results[1]] = logits_adj;
    vals_[o.results[2]] = mu_adj;
    vals_[o.results[3]] = sigma_adj;
  }

  // ---- structured parameter transforms: halo_<kind>_constrain / _rev / _unconstrain ----

  // One element (vector or matrix) of a structured parameter: its stdlib size arguments, free
  // and constrained sizes, and scratch sizes (doubles).
  struct TransformElement {
    std::vector<llvm::Value*> size_args;  // (K) or (M, N)
    llvm::Value* free = nullptr;
    llvm::Value* constrained = nullptr;
    llvm::Value* work = nullptr;  // corr_matrix / cov_matrix: K*K; else none
  };
  TransformElement transform_element(const std::string& kind, const std::vector<llvm::Value*>& elem_dims) {
    TransformElement e;
    llvm::Value* K = elem_dims[0];
    llvm::Value* one = b_.getInt64(1);
    auto half = [&](llvm::Value* v) { return b_.CreateSDiv(v, b_.getInt64(2)); };
    e.size_args = {K};
    e.constrained = product(elem_dims);
    if (kind == "simplex" || kind == "sum_to_zero") e.free = b_.CreateSub(K, one);
    else if (kind == "cholesky_factor_corr" || kind == "corr_matrix") e.free = half(b_.CreateMul(K, b_.CreateSub(K, one)));
    else if (kind == "cov_matrix") e.free = half(b_.CreateMul(K, b_.CreateAdd(K, one)));
    else if (kind == "cholesky_factor_cov") {
      llvm::Value* N = elem_dims[1];
      e.size_args = {K, N};
      e.free = b_.CreateAdd(half(b_.CreateMul(N, b_.CreateAdd(N, one))), b_.CreateMul(b_.CreateSub(K, N), N));
    } else {
      e.free = K;
    }
    if (kind == "corr_matrix" || kind == "cov_matrix") e.work = scratch(b_.CreateMul(K, K));
    return e;
  }
  static size_t transform_elem_rank(const std::string& kind) {
    return kind.find("matrix") != std::string::npos || kind.rfind("cholesky", 0) == 0 ? 2 : 1;
  }

  // constrain_<kind>(u, dims...) -> (x, log_jacobian); reverse: (u, dims..., x, lj, x_adj,
  // lj_adj) -> u_adj. Arrays: one call per element.
  void constrain_kernel(const ir::Op& o, const std::string& kind, bool rev) {
    auto* f64 = b_.getDoubleTy();
    const size_t rank = f_.type_of(rev ? o.operands[o.operands.size() - 4] : o.results[0]).rank();
    std::vector<llvm::Value*> dims;
    for (size_t k = 0; k < rank; ++k) dims.push_back(scalar(o.operands[1 + k]));
    const size_t er = transform_elem_rank(kind);
    std::vector<llvm::Value*> elem_dims(dims.end() - static_cast<long>(er), dims.end());
    llvm::Value* count = product(dims, 0, dims.size() - er);
    TransformElement e = transform_element(kind, elem_dims);
    const Val& u = vals_[o.operands[0]];
    const bool uses_work = e.work != nullptr;
    const std::string fn = "halo_" + kind + "_constrain";
    if (!rev) {
      Val x{alloc_tensor(ir::Elem::F64, dims), dims};
      llvm::Value* lj = zeroed_slot();
      counted_loop(b_.getInt64(0), count, [&](llvm::Value* i) {
        std::vector<llvm::Value*> a = e.size_args;
        a.push_back(b_.CreateGEP(f64, u.v, b_.CreateMul(i, e.free)));
        a.push_back(b_.CreateGEP(f64, x.v, b_.CreateMul(i, e.constrained)));
        if (uses_work) a.push_back(e.work);
        b_.CreateStore(b_.CreateFAdd(b_.CreateLoad(f64, lj), c_call(fn, f64, a)), lj);
      }, "constrain");
      vals_[o.results[0]] = x;
      set(o.results[1], b_.CreateLoad(f64, lj));
      return;
    }
    const size_t n = o.operands.size();
    const Val& x = vals_[o.operands[n - 4]];
    const Val& x_adj = vals_[o.operands[n - 2]];
    llvm::Value* lj_adj = scalar(o.operands[n - 1]);
    Val u_adj = zero_tensor(u.dims);
    counted_loop(b_.getInt64(0), count, [&](llvm::Value* i) {
      llvm::Value* ui = b_.CreateGEP(f64, u.v, b_.CreateMul(i, e.free));
      llvm::Value* xi = b_.CreateGEP(f64, x.v, b_.CreateMul(i, e.constrained));
      llvm::Value* xai = b_.CreateGEP(f64, x_adj.v, b_.CreateMul(i, e.constrained));
      llvm::Value* uai = b_.CreateGEP(f64, u_adj.v, b_.CreateMul(i, e.free));
      std::vector<llvm::Value*> a = e.size_args;
      a.push_back(ui);
      if (uses_work) {  // (K, u, x_adj, lj_adj, u_adj, work): the factor is recomputed
        a.insert(a.end(), {xai, lj_adj, uai, e.work});
      } else {
        a.insert(a.end(), {xi, xai, lj_adj, uai});
      }
      c_call(fn + "_rev", b_.getVoidTy(), a);
    }, "constrain.rev");
    vals_[o.results[0]] = u_adj;
  }

  // unconstrain_<kind>(x) -> the free values, failing when an element is not valid with the
  // message "<attr text> is not a valid <kind>"; check_<kind>(x) only validates (no result,
  // so the AD never sees it).
  void unconstrain_kernel(const ir::Op& o, const std::string& kind) {
    auto* f64 = b_.getDoubleTy();
    const Val& x = vals_[o.operands[0]];
    const size_t er = transform_elem_rank(kind);
    std::vector<llvm::Value*> elem_dims(x.dims.end() - static_cast<long>(er), x.dims.end());
    llvm::Value* count = product(x.dims, 0, x.dims.size() - er);
    TransformElement e = transform_element(kind, elem_dims);
    llvm::Value* total = b_.CreateMul(count, e.free);
    Val u{alloc_tensor(ir::Elem::F64, {total}), {total}};
    std::string what = kind == "sum_to_zero" ? "sum_to_zero_vector" : kind;
    counted_loop(b_.getInt64(0), count, [&](llvm::Value* i) {
      std::vector<llvm::Value*> a = e.size_args;
      a.push_back(b_.CreateGEP(f64, x.v, b_.CreateMul(i, e.constrained)));
      a.push_back(b_.CreateGEP(f64, u.v, b_.CreateMul(i, e.free)));
      if (e.work) a.push_back(e.work);
      llvm::Value* status = c_call("halo_" + kind + "_unconstrain", b_.getInt32Ty(), a);
      if (x.dims.size() > er)
        require(b_.CreateICmpEQ(status, b_.getInt32(0)),
                o.text + " is not a valid " + what + " (array element {}, counting from 1)",
                b_.CreateAdd(i, b_.getInt64(1)));
      else
        require(b_.CreateICmpEQ(status, b_.getInt32(0)), o.text + " is not a valid " + what);
    }, "unconstrain");
    if (!o.results.empty()) vals_[o.results[0]] = u;
  }

  // The multivariate densities: one stdlib call per instance, summed. An argument given as an
  // array (of ints, vectors) supplies one instance per element; the others are shared (Stan's
  // vectorised multivariate signatures). `shape` gives each argument's instance rank: 'i' an
  // int, 'r' a real, 'v' a vector, 'm' a matrix.
  void multivariate_density(const ir::Op& o, const std::string& name, bool rev) {
    struct Spec {
      const char* shape;
      int work_forward, work_reverse;  // scratch doubles: 0 none, 1 K, 2 2K, 3 K*K+K, 4 2K*K+2K
    };
    static const std::map<std::string, Spec> specs = {
        {"categorical_lpmf", {"iv", 0, 0}},
        {"categorical_logit_lpmf", {"iv", 0, 0}},
        {"dirichlet_lpdf", {"vv", 0, 0}},
        {"multi_normal_cholesky_lpdf", {"vvm", 1, 2}},
        {"multi_normal_lpdf", {"vvm", 3, 4}},
        {"lkj_corr_cholesky_lpdf", {"mr", 0, 0}},
    };
    auto found = specs.find(name);
    if (found == specs.end()) throw CodegenError("no code for the kernel " + o.name);
    const Spec& spec = found->second;
    const size_t nargs = std::string(spec.shape).size();
    // The lowering converts real scalars ('r') and checks shapes; a mismatch here is a compiler
    // bug, reported as one rather than read as the wrong type.
    if (o.operands.size() < nargs) throw CodegenError(name + ": too few operands");
    for (size_t k = 0; k < nargs; ++k) {
      const ir::Elem want = spec.shape[k] == 'i' ? ir::Elem::I64 : ir::Elem::F64;
      if (f_.type_of(o.operands[k]).elem != want)
        throw CodegenError(name + ": operand " + std::to_string(k) + " has the wrong element type");
    }
    auto* f64 = b_.getDoubleTy();
    auto* i64 = b_.getInt64Ty();
    // Instances: the arrayed arguments' common length (1 when none is an array).
    llvm::Value* count = nullptr;
    std::vector<bool> arrayed(nargs, false);
    std::vector<int> inst_rank(nargs, 0);
    for (size_t k = 0; k < nargs; ++k) {
      char c = spec.shape[k];
      inst_rank[k] = c == 'v' ? 1 : c == 'm' ? 2 : 0;
      arrayed[k] = f_.type_of(o.operands[k]).rank() > inst_rank[k];
      if (!arrayed[k]) continue;
      llvm::Value* len = vals_[o.operands[k]].dims[0];
      if (!count) count = len;
      else if (!rev) require_eq(len, count, name + ": the arrays of arguments have {} and {} elements", o.source_line);
    }
    // K: the length of the first vector (or the order of the first matrix) argument.
    llvm::Value* K = nullptr;
    auto inst_dims = [&](size_t k) {
      const Val& v = vals_[o.operands[k]];
      return std::vector<llvm::Value*>(v.dims.begin() + (arrayed[k] ? 1 : 0), v.dims.end());
    };
    for (size_t k = 0; k < nargs && !K; ++k)
      if (inst_rank[k] > 0) K = inst_dims(k)[0];
    if (!rev) {
      for (size_t k = 0; k < nargs; ++k)
        for (llvm::Value* d : inst_rank[k] > 0 ? inst_dims(k) : std::vector<llvm::Value*>{})
          require_eq(d, K, name + ": an argument has size {} where {} is expected", o.source_line);
    }
    llvm::Value* flags = b_.getInt32(static_cast<uint32_t>(o.i));
    auto work = [&](int kind) -> llvm::Value* {
      switch (kind) {
        case 1: return scratch(K);
        case 2: return scratch(b_.CreateMul(K, b_.getInt64(2)));
        case 3: return scratch(b_.CreateMul(b_.CreateAdd(K, b_.getInt64(1)), K));
        case 4: return scratch(b_.CreateMul(b_.CreateMul(b_.CreateAdd(K, b_.getInt64(1)), K), b_.getInt64(2)));
        default: return nullptr;
      }
    };
    // The address (or the value, for ints and reals) of argument k in instance i.
    auto arg_at = [&](const Val& v, size_t k, llvm::Value* i, bool is_int) -> llvm::Value* {
      if (inst_rank[k] == 0) {
        if (!arrayed[k]) return v.v;
        return b_.CreateLoad(is_int ? static_cast<llvm::Type*>(i64) : f64,
                             b_.CreateGEP(is_int ? static_cast<llvm::Type*>(i64) : f64, v.v, i));
      }
      if (!arrayed[k]) return v.v;
      llvm::Value* stride = product(v.dims, 1);
      return b_.CreateGEP(f64, v.v, b_.CreateMul(i, stride));
    };
    auto instance_args = [&](llvm::Value* i) {
      std::vector<llvm::Value*> a;
      for (size_t k = 0; k < nargs; ++k) {
        const bool is_int = spec.shape[k] == 'i';
        llvm::Value* v = arg_at(vals_[o.operands[k]], k, i, is_int);
        if (inst_rank[k] == 0 && !arrayed[k]) v = scalar(o.operands[k]);
        a.push_back(v);
      }
      return a;
    };
    // The stdlib's argument order: categorical* take (y, K, theta, ...), the others (K, ...).
    const bool k_second = name.rfind("categorical", 0) == 0;
    auto with_k = [&](std::vector<llvm::Value*> a) {
      a.insert(a.begin() + (k_second ? 1 : 0), K);
      return a;
    };
    llvm::Value* scratch_fwd = spec.work_forward && !rev ? work(spec.work_forward) : nullptr;
    llvm::Value* scratch_rev = spec.work_reverse && rev ? work(spec.work_reverse) : nullptr;
    auto over_instances = [&](const std::function<void(llvm::Value*)>& body) {
      if (count) counted_loop(b_.getInt64(0), count, body, "instances");
      else body(b_.getInt64(0));
    };
    if (!rev) {
      llvm::Value* sum = zeroed_slot();
      over_instances([&](llvm::Value* i) {
        std::vector<llvm::Value*> a = with_k(instance_args(i));
        a.push_back(flags);
        if (scratch_fwd) a.push_back(scratch_fwd);
        llvm::Value* lp = c_call("halo_" + name, f64, a);
        b_.CreateStore(b_.CreateFAdd(b_.CreateLoad(f64, sum), lp), sum);
      });
      set(o.results[0], b_.CreateLoad(f64, sum));
      return;
    }
    // Reverse: operands (args..., result, adjoint of the result); one adjoint per real argument.
    llvm::Value* g = scalar(o.operands[nargs + 1]);
    std::vector<Val> adjs(nargs);
    std::vector<llvm::Value*> slots(nargs, nullptr);
    for (size_t k = 0; k < nargs; ++k) {
      if (spec.shape[k] == 'i') continue;
      if (f_.type_of(o.operands[k]).rank() == 0) slots[k] = zeroed_slot();
      else adjs[k] = zero_tensor(vals_[o.operands[k]].dims);
    }
    over_instances([&](llvm::Value* i) {
      std::vector<llvm::Value*> a = with_k(instance_args(i));
      a.push_back(flags);
      a.push_back(g);
      for (size_t k = 0; k < nargs; ++k) {
        if (spec.shape[k] == 'i') continue;
        if (slots[k]) a.push_back(slots[k]);
        else if (inst_rank[k] == 0) a.push_back(b_.CreateGEP(f64, adjs[k].v, i));  // an array of reals
        else a.push_back(arg_at(adjs[k], k, i, false));
      }
      if (scratch_rev) a.push_back(scratch_rev);
      c_call("halo_" + name + "_rev", b_.getVoidTy(), a);
    });
    size_t r = 0;
    for (size_t k = 0; k < nargs; ++k) {
      if (spec.shape[k] == 'i') continue;
      if (slots[k]) set(o.results[r++], b_.CreateLoad(f64, slots[k]));
      else vals_[o.results[r++]] = adjs[k];
    }
  }

  // ---- container kernels of the library functions (compiler/ir/lower_functions.cpp) ----
  // Each: the forward C call, and for the differentiable ones the reverse (operands: the
  // forward operands, the results, the results' adjoints; one result per real operand).
  // Returns false when `name` is none of them.

  bool library_kernel(const ir::Op& o, const std::string& name, bool rev) {
    if (name == "log_sum_exp") return log_sum_exp_kernel(o, rev), true;
    if (name == "softmax" || name == "log_softmax" || name == "cumulative_sum") return normaliser_kernel(o, name, rev), true;
    if (name == "sort_asc" || name == "sort_desc") return sort_kernel(o, name, rev), true;
    if (name == "sort_indices_asc" || name == "sort_indices_desc") {
      const Val& x = vals_[o.operands[0]];
      llvm::Value* n = product(x.dims);
      Val idx{alloc_tensor(ir::Elem::I64, {n}), {n}};
      c_call("halo_" + name, b_.getVoidTy(), {n, x.v, idx.v});
      vals_[o.results[0]] = idx;
      return true;
    }
    if (name == "mdivide_left_tri_low" || name == "mdivide_right_tri_low") return triangular_solve_kernel(o, name, rev), true;
    if (name == "log_determinant" || name == "determinant") return determinant_kernel(o, name, rev), true;
    if (name == "inverse") return inverse_kernel(o, rev), true;
    if (name == "mdivide_left") return general_solve_kernel(o, rev), true;
    if (name == "multiply_lower_tri_self_transpose") return lower_tri_self_transpose_kernel(o, rev), true;
    if (name == "eigenvalues_sym" || name == "eigenvectors_sym") return eigen_kernel(o, name, rev), true;
    if (name == "multi_normal_rng" || name == "multi_normal_cholesky_rng" || name == "dirichlet_rng" ||
        name == "categorical_rng" || name == "categorical_logit_rng" || name == "lkj_corr_cholesky_rng")
      return rng_kernel(o, name), true;
    return false;
  }

  llvm::Value* f64_at(const Val& v, llvm::Value* offset) { return b_.CreateGEP(b_.getDoubleTy(), v.v, offset); }

  // log_sum_exp(x) over all elements of x.
  void log_sum_exp_kernel(const ir::Op& o, bool rev) {
    auto* f64 = b_.getDoubleTy();
    const Val& x = vals_[o.operands[0]];
    llvm::Value* n = product(x.dims);
    if (!rev) {
      set(o.results[0], c_call("halo_log_sum_exp_vec", f64, {n, x.v}));
      return;
    }
    Val x_adj = adjoint_out(o.results[0], x.dims);
    c_call("halo_log_sum_exp_vec_rev", b_.getVoidTy(), {n, x.v, scalar(o.operands[1]), scalar(o.operands[2]), x_adj.v});
    vals_[o.results[0]] = x_adj;
  }

  // softmax, log_softmax, cumulative_sum: n elements in, n out.
  void normaliser_kernel(const ir::Op& o, const std::string& name, bool rev) {
    const Val& x = vals_[o.operands[0]];
    llvm::Value* n = product(x.dims);
    if (!rev) {
      Val out{alloc_tensor(ir::Elem::F64, x.dims), x.dims};
      c_call("halo_" + name, b_.getVoidTy(), {n, x.v, out.v});
      vals_[o.results[0]] = out;
      return;
    }
    const Val& out = vals_[o.operands[1]];
    const Val& out_adj = vals_[o.operands[2]];
    Val x_adj = adjoint_out(o.results[0], x.dims);
    if (name == "cumulative_sum") c_call("halo_cumulative_sum_rev", b_.getVoidTy(), {n, out_adj.v, x_adj.v});
    else c_call("halo_" + name + "_rev", b_.getVoidTy(), {n, out.v, out_adj.v, x_adj.v});
    vals_[o.results[0]] = x_adj;
  }

  // sort_asc / sort_desc; the reverse routes each adjoint back through the sorting permutation.
  void sort_kernel(const ir::Op& o, const std::string& name, bool rev) {
    const Val& x = vals_[o.operands[0]];
    llvm::Value* n = product(x.dims);
    if (!rev) {
      Val out{alloc_tensor(ir::Elem::F64, x.dims), x.dims};
      c_call("halo_" + name, b_.getVoidTy(), {n, x.v, out.v});
      vals_[o.results[0]] = out;
      return;
    }
    const Val& out_adj = vals_[o.operands[2]];
    llvm::Value* idx = alloc_tensor(ir::Elem::I64, {n});
    const std::string order = name == "sort_asc" ? "asc" : "desc";
    c_call("halo_sort_indices_" + order, b_.getVoidTy(), {n, x.v, idx});
    Val x_adj = adjoint_out(o.results[0], x.dims);
    c_call("halo_sort_rev", b_.getVoidTy(), {n, idx, out_adj.v, x_adj.v});
    vals_[o.results[0]] = x_adj;
  }

  // mdivide_left_tri_low(L, B) = L^-1 B and mdivide_right_tri_low(B, L) = B L^-1; B a matrix
  // or a (row) vector (one column / row).
  void triangular_solve_kernel(const ir::Op& o, const std::string& name, bool rev) {
    const bool left = name == "mdivide_left_tri_low";
    const Val& L = vals_[o.operands[left ? 0 : 1]];
    const Val& B = vals_[o.operands[left ? 1 : 0]];
    const bool matrix_b = f_.type_of(o.operands[left ? 1 : 0]).elem_rank == 2;
    llvm::Value* K = L.dims[0];
    // B is K x n (left) or n x K (right).
    llvm::Value* n = matrix_b ? B.dims[left ? 1 : 0] : b_.getInt64(1);
    if (!rev) {
      Val X{alloc_tensor(ir::Elem::F64, B.dims), B.dims};
      if (left) c_call("halo_mdivide_left_tri_low", b_.getVoidTy(), {K, n, L.v, B.v, X.v});
      else c_call("halo_mdivide_right_tri_low", b_.getVoidTy(), {n, K, B.v, L.v, X.v});
      vals_[o.results[0]] = X;
      return;
    }
    const Val& X = vals_[o.operands[2]];
    const Val& X_adj = vals_[o.operands[3]];
    Val L_adj = zero_tensor(L.dims), B_adj = zero_tensor(B.dims);
    llvm::Value* work = scratch(b_.CreateMul(K, n));
    if (left) c_call("halo_mdivide_left_tri_low_rev", b_.getVoidTy(), {K, n, L.v, X.v, X_adj.v, L_adj.v, B_adj.v, work});
    else c_call("halo_mdivide_right_tri_low_rev", b_.getVoidTy(), {n, K, L.v, X.v, X_adj.v, L_adj.v, B_adj.v, work});
    vals_[o.results[left ? 0 : 1]] = L_adj;
    vals_[o.results[left ? 1 : 0]] = B_adj;
  }

  void determinant_kernel(const ir::Op& o, const std::string& name, bool rev) {
    auto* f64 = b_.getDoubleTy();
    const Val& A = vals_[o.operands[0]];
    llvm::Value* K = A.dims[0];
    llvm::Value* KK = b_.CreateMul(K, K);
    if (!rev) {
      set(o.results[0], c_call("halo_" + name, f64, {K, A.v, scratch(b_.CreateAdd(KK, K))}));
      return;
    }
    Val A_adj = adjoint_out(o.results[0], A.dims);
    llvm::Value* work = scratch(b_.CreateAdd(b_.CreateMul(KK, b_.getInt64(2)), K));
    llvm::Value* result = scalar(o.operands[1]);
    llvm::Value* adj = scalar(o.operands[2]);
    if (name == "log_determinant") c_call("halo_log_determinant_rev", b_.getVoidTy(), {K, A.v, adj, A_adj.v, work});
    else c_call("halo_determinant_rev", b_.getVoidTy(), {K, A.v, result, adj, A_adj.v, work});
    vals_[o.results[0]] = A_adj;
  }

  // mdivide_left(A, B) = A^-1 B by LU (B a matrix or a vector); reverse operands (A, B, X,
  // X_adj), results (A_adj, B_adj).
  void general_solve_kernel(const ir::Op& o, bool rev) {
    const Val& A = vals_[o.operands[0]];
    const Val& B = vals_[o.operands[1]];
    llvm::Value* K = A.dims[0];
    llvm::Value* n = f_.type_of(o.operands[1]).elem_rank == 2 ? B.dims[1] : b_.getInt64(1);
    llvm::Value* KK = b_.CreateMul(K, K);
    if (!rev) {
      Val X{alloc_tensor(ir::Elem::F64, B.dims), B.dims};
      c_call("halo_mdivide_left", b_.getInt32Ty(), {K, n, A.v, B.v, X.v, scratch(b_.CreateAdd(KK, K))});
      vals_[o.results[0]] = X;
      return;
    }
    Val A_adj = zero_tensor(A.dims), B_adj = zero_tensor(B.dims);
    llvm::Value* work = scratch(b_.CreateAdd(b_.CreateAdd(KK, K), b_.CreateMul(K, n)));
    c_call("halo_mdivide_left_rev", b_.getVoidTy(),
           {K, n, A.v, vals_[o.operands[2]].v, vals_[o.operands[3]].v, A_adj.v, B_adj.v, work});
    vals_[o.results[0]] = A_adj;
    vals_[o.results[1]] = B_adj;
  }

  // A^-1 (NaN for a singular A, as the stdlib returns it).
  void inverse_kernel(const ir::Op& o, bool rev) {
    const Val& A = vals_[o.operands[0]];
    llvm::Value* K = A.dims[0];
    llvm::Value* KK = b_.CreateMul(K, K);
    if (!rev) {
      Val out{alloc_tensor(ir::Elem::F64, A.dims), A.dims};
      c_call("halo_inverse", b_.getInt32Ty(), {K, A.v, out.v, scratch(b_.CreateAdd(KK, K))});
      vals_[o.results[0]] = out;
      return;
    }
    Val A_adj = adjoint_out(o.results[0], A.dims);
    c_call("halo_inverse_rev", b_.getVoidTy(), {K, vals_[o.operands[1]].v, vals_[o.operands[2]].v, A_adj.v, scratch(KK)});
    vals_[o.results[0]] = A_adj;
  }

  // L L' of the lower trapezoid of an m x n L.
  void lower_tri_self_transpose_kernel(const ir::Op& o, bool rev) {
    const Val& L = vals_[o.operands[0]];
    llvm::Value* m = L.dims[0];
    llvm::Value* n = L.dims[1];
    if (!rev) {
      Val out{alloc_tensor(ir::Elem::F64, {m, m}), {m, m}};
      c_call("halo_multiply_lower_tri_self_transpose", b_.getVoidTy(), {m, n, L.v, out.v});
      vals_[o.results[0]] = out;
      return;
    }
    Val L_adj = adjoint_out(o.results[0], L.dims);
    c_call("halo_multiply_lower_tri_self_transpose_rev", b_.getVoidTy(), {m, n, L.v, vals_[o.operands[2]].v, L_adj.v});
    vals_[o.results[0]] = L_adj;
  }

  // eigenvalues_sym / eigenvectors_sym: one decomposition gives both; the reverse recomputes
  // the part the forward did not keep.
  void eigen_kernel(const ir::Op& o, const std::string& name, bool rev) {
    const Val& A = vals_[o.operands[0]];
    llvm::Value* K = A.dims[0];
    llvm::Value* KK = b_.CreateMul(K, K);
    const bool values = name == "eigenvalues_sym";
    Val vals{alloc_tensor(ir::Elem::F64, {K}), {K}}, vecs{alloc_tensor(ir::Elem::F64, {K, K}), {K, K}};
    c_call("halo_eigen_sym", b_.getVoidTy(), {K, A.v, vals.v, vecs.v, scratch(KK)});
    if (!rev) {
      vals_[o.results[0]] = values ? vals : vecs;
      return;
    }
    llvm::Value* null = llvm::ConstantPointerNull::get(b_.getPtrTy());
    llvm::Value* adj = vals_[o.operands[2]].v;
    Val A_adj = zero_tensor(A.dims);
    c_call("halo_eigen_sym_rev", b_.getVoidTy(),
           {K, vals.v, vecs.v, values ? adj : null, values ? null : adj, A_adj.v, scratch(b_.CreateMul(KK, b_.getInt64(2)))});
    vals_[o.results[0]] = A_adj;
  }

  // Multivariate draws; the rng handle (an i64 address) is the last operand. multi_normal*
  // take one mean or an array of means (one draw each).
  void rng_kernel(const ir::Op& o, const std::string& name) {
    auto* i64 = b_.getInt64Ty();
    llvm::Value* rng = b_.CreateIntToPtr(scalar(o.operands.back()), b_.getPtrTy());
    if (name == "lkj_corr_cholesky_rng") {
      llvm::Value* K = scalar(o.operands[0]);
      Val L{alloc_tensor(ir::Elem::F64, {K, K}), {K, K}};
      c_call("halo_lkj_corr_cholesky_rng", b_.getVoidTy(), {K, scalar(o.operands[1]), L.v, scratch(b_.CreateMul(K, K)), rng});
      vals_[o.results[0]] = L;
      return;
    }
    const Val& first = vals_[o.operands[0]];
    if (name == "categorical_rng" || name == "categorical_logit_rng") {
      set(o.results[0], c_call("halo_" + name, i64, {first.dims[0], first.v, rng}));
      return;
    }
    if (name == "dirichlet_rng") {
      Val out{alloc_tensor(ir::Elem::F64, first.dims), first.dims};
      c_call("halo_dirichlet_rng", b_.getVoidTy(), {first.dims[0], first.v, out.v, rng});
      vals_[o.results[0]] = out;
      return;
    }
    // multi_normal(_cholesky)_rng(mu, Sigma or L)
    const Val& S = vals_[o.operands[1]];
    const bool arrayed = f_.type_of(o.operands[0]).array_rank > 0;
    llvm::Value* K = S.dims[0];
    require_eq(S.dims[1], K, name + ": the matrix has {} columns and {} rows", o.source_line);
    require_eq(first.dims[arrayed ? 1 : 0], K, name + ": mu has {} elements but the matrix {} rows", o.source_line);
    Val out{alloc_tensor(ir::Elem::F64, first.dims), first.dims};
    llvm::Value* work = name == "multi_normal_rng" ? scratch(b_.CreateAdd(b_.CreateMul(K, K), K)) : nullptr;
    counted_loop(b_.getInt64(0), arrayed ? first.dims[0] : b_.getInt64(1), [&](llvm::Value* i) {
      llvm::Value* offset = b_.CreateMul(i, K);
      std::vector<llvm::Value*> args = {K, f64_at(first, offset), S.v, f64_at(out, offset)};
      if (work) args.push_back(work);
      args.push_back(rng);
      c_call("halo_" + name, b_.getVoidTy(), args);
    }, "draws");
    vals_[o.results[0]] = out;
  }

  void var(const ir::Op& o) {
    const ir::Type t = o.type.value_type();
    if (t.rank() == 0) {
      llvm::Value* slot = entry_alloca(scalar_type(t.elem), "var");
      llvm::Value* init = t.elem == ir::Elem::F64
                              ? static_cast<llvm::Value*>(llvm::ConstantFP::get(b_.getDoubleTy(), o.f))
                              : t.elem == ir::Elem::I64 ? b_.getInt64(static_cast<int64_t>(o.f))
                                                        : b_.getInt1(o.f != 0);
      b_.CreateStore(init, slot);
      set(o.results[0], slot);
      return;
    }
    std::vector<llvm::Value*> dims;
    for (ValueId d : o.operands) dims.push_back(scalar(d));
    llvm::Value* data = alloc_tensor(t.elem, dims);
    fill(t.elem, data, product(dims), o.f);
    vals_[o.results[0]] = Val{data, dims};
  }

  void load(const ir::Op& o) {
    const ir::Type t = f_.type_of(o.operands[0]).value_type();
    const Val& r = vals_[o.operands[0]];
    if (t.rank() == 0) {
      set(o.results[0], b_.CreateLoad(scalar_type(t.elem), r.v));
      return;
    }
    // Copy semantics: later stores to the var must not change this value; when none can
    // happen while the value is in use, it simply is the var's buffer.
    if (aliasing_loads_.count(&o)) {
      vals_[o.results[0]] = r;
      return;
    }
    Val copy{alloc_tensor(t.elem, r.dims), r.dims};
    copy_elements(t.elem, copy.v, r.v, product(r.dims));
    vals_[o.results[0]] = copy;
  }

  void store(const ir::Op& o) {
    const ir::Type t = f_.type_of(o.operands[0]).value_type();
    const Val& r = vals_[o.operands[0]];
    if (t.rank() == 0) {
      b_.CreateStore(scalar(o.operands[1]), r.v);
      return;
    }
    size_check(r.dims, vals_[o.operands[1]].dims, o.source_line);
    copy_elements(t.elem, r.v, vals_[o.operands[1]].v, product(r.dims));
  }

  void size_check(const std::vector<llvm::Value*>& a, const std::vector<llvm::Value*>& b, int line) {
    for (size_t k = 0; k < a.size() && k < b.size(); ++k) {
      if (a[k] == b[k]) continue;
      auto* ok = llvm::BasicBlock::Create(ctx_, "size.ok", fn_);
      std::string msg = "size mismatch in assignment: dimension " + std::to_string(k + 1) + " is {} but the value has {}";
      if (line > 0) msg += " (line " + std::to_string(line) + ")";
      b_.CreateCondBr(b_.CreateICmpEQ(a[k], b[k]), ok, fail_block(msg, a[k], b[k]));
      b_.SetInsertPoint(ok);
    }
  }

  void load_elem(const ir::Op& o) {
    const ir::Type t = f_.type_of(o.operands[0]).value_type();
    const Val& r = vals_[o.operands[0]];
    std::vector<llvm::Value*> idx;
    for (size_t k = 1; k < o.operands.size(); ++k) idx.push_back(scalar(o.operands[k]));
    llvm::Value* offset = element_offset(t, r.dims, idx);
    if (idx.size() == static_cast<size_t>(t.rank())) {
      if (t.elem == ir::Elem::F64 && read_across_inner_loop(o.operands[0])) {
        // An element of a var that an outer loop writes, read in an inner loop that does not: a
        // recurrence through memory whose row the inner loop reads (an HMM's
        // log_forward[t - 1, j], written by the previous step's scalar stores). Marked volatile
        // so that it stays a scalar load: LLVM's SLP vectoriser would otherwise merge the
        // unrolled inner loop's loads into one vector load, which cannot be forwarded from
        // two scalar stores and waits for them to reach the cache, on the recursion's critical
        // path (hmm_example's density -11%). A read in the writing loop itself (arma's
        // err[t - 1]) is left alone: LLVM forwards it from the previous iteration in a register.
        llvm::LoadInst* load = b_.CreateLoad(b_.getDoubleTy(), b_.CreateGEP(b_.getDoubleTy(), r.v, offset));
        load->setVolatile(true);
        set(o.results[0], load);
        return;
      }
      set(o.results[0], load_scalar_at(t.elem, r.v, offset));
      return;
    }
    if (idx.size() > t.array_rank) throw CodegenError("load_elem: partial element index");
    std::vector<llvm::Value*> dims(r.dims.begin() + static_cast<long>(idx.size()), r.dims.end());
    Val copy{alloc_tensor(t.elem, dims), dims};
    copy_elements(t.elem, copy.v, b_.CreateGEP(storage_type(t.elem), r.v, offset), product(dims));
    vals_[o.results[0]] = copy;
  }

  void store_elem(const ir::Op& o) {
    const ir::Type t = f_.type_of(o.operands[0]).value_type();
    const Val& r = vals_[o.operands[0]];
    std::vector<llvm::Value*> idx;
    for (size_t k = 1; k + 1 < o.operands.size(); ++k) idx.push_back(scalar(o.operands[k]));
    ValueId value = o.operands.back();
    llvm::Value* offset = element_offset(t, r.dims, idx);
    if (idx.size() == static_cast<size_t>(t.rank())) {
      store_scalar_at(t.elem, r.v, offset, scalar(value));
      return;
    }
    std::vector<llvm::Value*> dims(r.dims.begin() + static_cast<long>(idx.size()), r.dims.end());
    size_check(dims, vals_[value].dims, o.source_line);
    copy_elements(t.elem, b_.CreateGEP(storage_type(t.elem), r.v, offset), vals_[value].v, product(dims));
  }

  void accumulate(const ir::Op& o) {
    const ir::Type t = f_.type_of(o.operands[0]).value_type();
    const Val& r = vals_[o.operands[0]];
    if (t.rank() == 0) {
      llvm::Value* v = b_.CreateLoad(b_.getDoubleTy(), r.v);
      b_.CreateStore(accumulate_add(v, scalar(o.operands[1])), r.v);
      return;
    }
    const Val& x = vals_[o.operands[1]];
    counted_loop(b_.getInt64(0), product(r.dims), [&](llvm::Value* i) {
      llvm::Value* p = b_.CreateGEP(b_.getDoubleTy(), r.v, i);
      llvm::Value* q = b_.CreateGEP(b_.getDoubleTy(), x.v, i);
      b_.CreateStore(accumulate_add(b_.CreateLoad(b_.getDoubleTy(), p), b_.CreateLoad(b_.getDoubleTy(), q)), p);
    }, "acc", unroll_pays(product(r.dims)));
  }

  void accumulate_elem(const ir::Op& o) {
    const ir::Type t = f_.type_of(o.operands[0]).value_type();
    const Val& r = vals_[o.operands[0]];
    std::vector<llvm::Value*> idx;
    for (size_t k = 1; k + 1 < o.operands.size(); ++k) idx.push_back(scalar(o.operands[k]));
    ValueId value = o.operands.back();
    llvm::Value* offset = element_offset(t, r.dims, idx);
    auto* f64 = b_.getDoubleTy();
    if (idx.size() == static_cast<size_t>(t.rank())) {
      llvm::Value* p = b_.CreateGEP(f64, r.v, offset);
      b_.CreateStore(accumulate_add(b_.CreateLoad(f64, p), scalar(value)), p);
      return;
    }
    llvm::Value* base = b_.CreateGEP(f64, r.v, offset);
    const Val& x = vals_[value];
    counted_loop(b_.getInt64(0), product(x.dims), [&](llvm::Value* i) {
      llvm::Value* p = b_.CreateGEP(f64, base, i);
      b_.CreateStore(accumulate_add(b_.CreateLoad(f64, p), b_.CreateLoad(f64, b_.CreateGEP(f64, x.v, i))), p);
    }, "acc.elem");
  }

  // halo_<name>_grad(args..., result, double* d_0, ...): one partial per f64 argument.
  void call_grad(const ir::Op& o) {
    std::vector<llvm::Type*> types;
    std::vector<llvm::Value*> args;
    for (ValueId v : o.operands) {
      types.push_back(elem_type(v));
      args.push_back(scalar(v));
    }
    std::vector<llvm::Value*> slots;
    for (size_t k = 0; k < o.results.size(); ++k) {
      slots.push_back(entry_alloca(b_.getDoubleTy(), "grad"));
      types.push_back(b_.getPtrTy());
      args.push_back(slots.back());
    }
    auto* type = llvm::FunctionType::get(b_.getVoidTy(), types, false);
    auto callee = m_.getOrInsertFunction("halo_" + o.name + "_grad", type);
    if (auto* fn = llvm::dyn_cast<llvm::Function>(callee.getCallee())) {
      fn->setDoesNotThrow();
      fn->setWillReturn();
    }
    b_.CreateCall(callee, args);
    for (size_t k = 0; k < o.results.size(); ++k) set(o.results[k], b_.CreateLoad(b_.getDoubleTy(), slots[k]));
  }

  // The value stack: fields 2 and 3 of halo_ws. (Keeping them in function-local slots, so that
  // they live in registers, made low_dim_gauss_mix's gradient 1.5x slower: measured, not
  // understood.)
  llvm::Value* stack_field() { return b_.CreateConstGEP1_64(b_.getPtrTy(), ws_, 2); }
  llvm::Value* stack_end_field() { return b_.CreateConstGEP1_64(b_.getPtrTy(), ws_, 3); }

  // Returns the address where `bytes` may be written, and bumps the stack pointer.
  llvm::Value* stack_reserve(llvm::Value* bytes) {
    auto* ptr = b_.getPtrTy();
    llvm::Value* cur = b_.CreateLoad(ptr, stack_field());
    llvm::Value* next = b_.CreateGEP(b_.getInt8Ty(), cur, bytes);
    llvm::Value* end = b_.CreateLoad(ptr, stack_end_field());
    auto* fast = b_.GetInsertBlock();
    auto* slow = llvm::BasicBlock::Create(ctx_, "push.grow", fn_);
    auto* done = llvm::BasicBlock::Create(ctx_, "push.done", fn_);
    b_.CreateCondBr(b_.CreateICmpULE(next, end), done, slow);
    b_.SetInsertPoint(slow);
    auto grow = m_.getOrInsertFunction("halo_ws_stack_grow",
                                       llvm::FunctionType::get(ptr, {ptr, b_.getInt64Ty()}, false));
    llvm::Value* grown = b_.CreateCall(grow, {ws_, bytes});
    auto* ok = llvm::BasicBlock::Create(ctx_, "push.ok", fn_);
    b_.CreateCondBr(b_.CreateIsNull(grown), fail_block("out of memory for the AD value stack", nullptr, nullptr), ok);
    b_.SetInsertPoint(ok);
    b_.CreateBr(done);
    b_.SetInsertPoint(done);
    auto* at = b_.CreatePHI(ptr, 2);
    at->addIncoming(cur, fast);
    at->addIncoming(grown, ok);
    b_.CreateStore(b_.CreateGEP(b_.getInt8Ty(), at, bytes), stack_field());
    return at;
  }

  void push(const ir::Op& o) {
    ValueId v = o.operands[0];
    const ir::Type& t = f_.type_of(v);
    if (t.rank() == 0) {
      llvm::Value* x = scalar(v);
      if (t.elem == ir::Elem::Bool) x = b_.CreateZExt(x, b_.getInt64Ty());
      b_.CreateStore(x, stack_reserve(b_.getInt64(8)));
      return;
    }
    const Val& x = vals_[v];
    llvm::Value* n = product(x.dims);
    llvm::Value* at = stack_reserve(b_.CreateMul(b_.CreateAdd(n, b_.getInt64(t.rank())), b_.getInt64(8)));
    copy_elements(t.elem, at, x.v, n);
    llvm::Value* dims_at = b_.CreateGEP(b_.getInt64Ty(), at, n);
    for (int k = 0; k < t.rank(); ++k) b_.CreateStore(x.dims[k], b_.CreateConstGEP1_64(b_.getInt64Ty(), dims_at, k));
  }

  void push_scalars(const ir::Region& r, size_t first, size_t n) {
    llvm::Value* at = stack_reserve(b_.getInt64(static_cast<int64_t>(8 * n)));
    for (size_t k = 0; k < n; ++k) {
      ValueId v = r.ops[first + k].operands[0];
      llvm::Value* x = scalar(v);
      if (f_.type_of(v).elem == ir::Elem::Bool) x = b_.CreateZExt(x, b_.getInt64Ty());
      b_.CreateStore(x, b_.CreateConstGEP1_64(b_.getInt64Ty(), at, static_cast<int64_t>(k)));
    }
  }
  // Pops come in the reverse order of the pushes: the first pop takes the top slot.
  void pop_scalars(const ir::Region& r, size_t first, size_t n) {
    llvm::Value* cur = b_.CreateLoad(b_.getPtrTy(), stack_field());
    llvm::Value* base = b_.CreateConstGEP1_64(b_.getInt64Ty(), cur, -static_cast<int64_t>(n));
    b_.CreateStore(base, stack_field());
    for (size_t k = 0; k < n; ++k) {
      ValueId v = r.ops[first + k].results[0];
      const ir::Type& t = f_.type_of(v);
      llvm::Value* at = b_.CreateConstGEP1_64(b_.getInt64Ty(), base, static_cast<int64_t>(n - 1 - k));
      llvm::Value* x = b_.CreateLoad(storage_type(t.elem), at);
      if (t.elem == ir::Elem::Bool) x = b_.CreateICmpNE(x, b_.getInt64(0));
      set(v, x);
    }
  }
  void pop(const ir::Op& o) {
    auto* ptr = b_.getPtrTy();
    ValueId v = o.results[0];
    const ir::Type& t = f_.type_of(v);
    llvm::Value* cur = b_.CreateLoad(ptr, stack_field());
    if (t.rank() == 0) {
      llvm::Value* at = b_.CreateConstGEP1_64(b_.getInt64Ty(), cur, -1);
      b_.CreateStore(at, stack_field());
      llvm::Value* x = b_.CreateLoad(storage_type(t.elem), at);
      if (t.elem == ir::Elem::Bool) x = b_.CreateICmpNE(x, b_.getInt64(0));
      set(v, x);
      return;
    }
    llvm::Value* dims_at = b_.CreateConstGEP1_64(b_.getInt64Ty(), cur, -t.rank());
    Val x;
    if (!o.operands.empty()) {
      x.dims = vals_[o.operands[0]].dims;  // the var it was loaded from (ir.h)
    } else {
      for (int k = 0; k < t.rank(); ++k)
        x.dims.push_back(b_.CreateLoad(b_.getInt64Ty(), b_.CreateConstGEP1_64(b_.getInt64Ty(), dims_at, k)));
    }
    // A view into the stack: valid for the rest of the call, since nothing is pushed after the
    // first pop.
    x.v = b_.CreateGEP(b_.getInt64Ty(), dims_at, b_.CreateNeg(product(x.dims)));
    b_.CreateStore(x.v, stack_field());
    vals_[v] = x;
  }

  void for_loop(const ir::Op& o) {
    llvm::Value* lo = scalar(o.operands[0]);
    llvm::Value* hi = scalar(o.operands[1]);  // inclusive
    const ir::Region& body = o.regions.at(0);
    auto* pre = b_.GetInsertBlock();
    auto* head = llvm::BasicBlock::Create(ctx_, "for.head", fn_);
    auto* loop = llvm::BasicBlock::Create(ctx_, "for.body", fn_);
    auto* latch = llvm::BasicBlock::Create(ctx_, "for.latch", fn_);
    auto* exit = llvm::BasicBlock::Create(ctx_, "for.exit", fn_);
    b_.CreateBr(head);
    b_.SetInsertPoint(head);
    const bool down = o.i != 0;
    auto* i = b_.CreatePHI(b_.getInt64Ty(), 2, "i");
    i->addIncoming(down ? hi : lo, pre);
    b_.CreateCondBr(down ? b_.CreateICmpSGE(i, lo) : b_.CreateICmpSLE(i, hi), loop, exit);
    b_.SetInsertPoint(loop);
    if (!body.args.empty()) set(body.args[0], i);
    loops_.push_back({latch, exit});
    std::unordered_set<ValueId> written;
    note_writes(body, written);
    recurrent_.push_back(std::move(written));
    region(body);
    recurrent_.pop_back();
    loops_.pop_back();
    if (!b_.GetInsertBlock()->getTerminator()) b_.CreateBr(latch);
    b_.SetInsertPoint(latch);
    i->addIncoming(b_.CreateAdd(i, b_.getInt64(down ? -1 : 1)), latch);
    b_.CreateBr(head);
    b_.SetInsertPoint(exit);
  }

  void while_loop(const ir::Op& o) {
    const ir::Region& cond = o.regions.at(0);
    const ir::Region& body = o.regions.at(1);
    auto* head = llvm::BasicBlock::Create(ctx_, "while.head", fn_);
    auto* loop = llvm::BasicBlock::Create(ctx_, "while.body", fn_);
    auto* exit = llvm::BasicBlock::Create(ctx_, "while.exit", fn_);
    b_.CreateBr(head);
    b_.SetInsertPoint(head);
    llvm::Value* c = nullptr;
    for (const ir::Op& inner : cond.ops) {
      if (inner.kind == OpKind::Yield) {
        c = scalar(inner.operands.at(0));
        break;
      }
      op(inner);
    }
    if (!c) throw CodegenError("while condition must yield");
    b_.CreateCondBr(c, loop, exit);
    b_.SetInsertPoint(loop);
    loops_.push_back({head, exit});
    region(body);
    loops_.pop_back();
    if (!b_.GetInsertBlock()->getTerminator()) b_.CreateBr(head);
    b_.SetInsertPoint(exit);
  }

  void if_op(const ir::Op& o) {
    auto* then_block = llvm::BasicBlock::Create(ctx_, "if.then", fn_);
    auto* else_block = llvm::BasicBlock::Create(ctx_, "if.else", fn_);
    auto* done = llvm::BasicBlock::Create(ctx_, "if.done", fn_);
    b_.CreateCondBr(scalar(o.operands[0]), then_block, else_block);
    b_.SetInsertPoint(then_block);
    region(o.regions.at(0));
    if (!b_.GetInsertBlock()->getTerminator()) b_.CreateBr(done);
    b_.SetInsertPoint(else_block);
    if (o.regions.size() > 1) region(o.regions[1]);
    if (!b_.GetInsertBlock()->getTerminator()) b_.CreateBr(done);
    b_.SetInsertPoint(done);
  }

  void check(const ir::Op& o) {
    llvm::Value* ok = nullptr;
    llvm::Value* a = o.operands.size() > 0 ? scalar(o.operands[0]) : nullptr;
    llvm::Value* bv = o.operands.size() > 1 ? scalar(o.operands[1]) : nullptr;
    switch (o.check) {
      case ir::CheckKind::IndexBounds:
        // Unsigned compare covers i < 0 too.
        ok = b_.CreateICmpULT(a, bv);
        break;
      case ir::CheckKind::SizeMatch: ok = b_.CreateICmpEQ(a, bv); break;
      case ir::CheckKind::Finite: {
        llvm::Value* absx = b_.CreateUnaryIntrinsic(llvm::Intrinsic::fabs, a);
        ok = b_.CreateFCmpOLT(absx, llvm::ConstantFP::getInfinity(b_.getDoubleTy()));
        break;
      }
      case ir::CheckKind::Lower: ok = b_.CreateFCmpOGE(a, bv); break;
      case ir::CheckKind::Upper: ok = b_.CreateFCmpOLE(a, bv); break;
      case ir::CheckKind::Positive: ok = b_.CreateFCmpOGT(a, llvm::ConstantFP::get(b_.getDoubleTy(), 0.0)); break;
      case ir::CheckKind::Domain: ok = a; break;
    }
    auto* cont = llvm::BasicBlock::Create(ctx_, "check.ok", fn_);
    // For index checks report the 1-based index the user wrote.
    llvm::Value* shown = a;
    if (o.check == ir::CheckKind::IndexBounds) shown = b_.CreateAdd(a, b_.getInt64(1));
    if (o.check == ir::CheckKind::Domain) shown = nullptr;
    b_.CreateCondBr(ok, cont, fail_block(o.text, shown, bv));
    b_.SetInsertPoint(cont);
  }

  // The values as one array of doubles: scalars, and f64 vectors (printed containers,
  // flattened by lowering) copied element by element.
  void print_or_reject(const ir::Op& o, bool reject) {
    auto* f64 = b_.getDoubleTy();
    auto* i64 = b_.getInt64Ty();
    llvm::Value* count = b_.getInt64(0);
    for (ValueId v : o.operands)
      count = b_.CreateAdd(count, f_.type_of(v).rank() == 0 ? b_.getInt64(1) : vals_[v].dims[0]);
    llvm::Value* arr = alloc_tensor(ir::Elem::F64, {b_.CreateAdd(count, b_.getInt64(1))});
    llvm::Value* at = b_.getInt64(0);
    for (ValueId operand : o.operands) {
      if (f_.type_of(operand).rank() > 0) {
        const Val& t = vals_[operand];
        copy_elements(ir::Elem::F64, b_.CreateGEP(f64, arr, at), t.v, t.dims[0]);
        at = b_.CreateAdd(at, t.dims[0]);
        continue;
      }
      llvm::Value* v = scalar(operand);
      if (v->getType()->isIntegerTy(1)) v = b_.CreateZExt(v, i64);
      if (v->getType()->isIntegerTy()) v = b_.CreateSIToFP(v, f64);
      b_.CreateStore(v, b_.CreateGEP(f64, arr, at));
      at = b_.CreateAdd(at, b_.getInt64(1));
    }
    auto* ptr = b_.getPtrTy();
    llvm::Value* text = b_.CreateGlobalStringPtr(o.text);
    if (!reject) {
      auto fn = m_.getOrInsertFunction("halo_ws_print",
                                       llvm::FunctionType::get(b_.getVoidTy(), {ptr, ptr, i64, ptr}, false));
      b_.CreateCall(fn, {ws_, text, count, arr});
      return;
    }
    auto fn = m_.getOrInsertFunction("halo_ws_reject",
                                     llvm::FunctionType::get(b_.getInt32Ty(), {ptr, ptr, i64, ptr}, false));
    b_.CreateRet(b_.CreateCall(fn, {ws_, text, count, arr}));
  }

  void param(const ir::Op& o) {
    auto* ptr = b_.getPtrTy();
    llvm::Value* p = b_.CreateLoad(ptr, b_.CreateConstGEP1_64(ptr, args_, o.i));
    const ir::Type& t = f_.type_of(o.results[0]);
    if (t.rank() == 0) {
      set(o.results[0], b_.CreateLoad(scalar_type(t.elem), p));
      return;
    }
    Val v;
    v.v = b_.CreateLoad(ptr, p);
    for (int k = 0; k < t.rank(); ++k)
      v.dims.push_back(b_.CreateLoad(b_.getInt64Ty(), b_.CreateConstGEP1_64(b_.getInt64Ty(), p, kTensorDimsField + k)));
    vals_[o.results[0]] = v;
  }

  // Scalars are stored through results[k]; a tensor result's halo_tensor receives the data
  // pointer (workspace memory, valid until the caller resets the workspace) and the dims.
  void ret(const ir::Op& o) {
    auto* ptr = b_.getPtrTy();
    for (size_t k = 0; k < o.operands.size(); ++k) {
      llvm::Value* p = b_.CreateLoad(ptr, b_.CreateConstGEP1_64(ptr, results_, static_cast<int64_t>(k)));
      ValueId v = o.operands[k];
      const ir::Type& t = f_.type_of(v);
      if (t.rank() == 0) {
        llvm::Value* x = scalar(v);
        if (t.elem == ir::Elem::Bool) x = b_.CreateZExt(x, b_.getInt64Ty());
        b_.CreateStore(x, p);
        continue;
      }
      b_.CreateStore(vals_[v].v, p);
      for (int d = 0; d < t.rank(); ++d)
        b_.CreateStore(vals_[v].dims[d], b_.CreateConstGEP1_64(b_.getInt64Ty(), p, kTensorDimsField + d));
    }
    b_.CreateRet(b_.getInt32(0));
  }

  const ir::Function& f_;
  llvm::Module& m_;
  llvm::LLVMContext& ctx_;
  llvm::IRBuilder<> b_;
  std::vector<Val> vals_;
  llvm::Function* fn_ = nullptr;
  std::unordered_map<ValueId, int> uses_;  // how many ops read each value (note_uses)
  std::vector<std::unordered_set<ValueId>> recurrent_;  // per enclosing for loop: the vars it writes
  struct DirectAdjoint {
    ValueId result = ir::kNoValue, ref = ir::kNoValue;
    const ir::Op* accumulate = nullptr;
  } direct_adjoint_;                  // plan_direct_adjoint
  const ir::Op* skip_op_ = nullptr;   // the accumulate a kernel has done itself
  llvm::Value* ws_ = nullptr;
  llvm::Value* args_ = nullptr;
  llvm::Value* results_ = nullptr;
  llvm::BasicBlock* entry_ = nullptr;
  llvm::BasicBlock* out_of_memory_ = nullptr;  // shared by the workspace allocations
  std::vector<std::pair<llvm::BasicBlock*, llvm::BasicBlock*>> loops_;  // (continue, break)
};

}  // namespace

std::string symbol_name(const ir::Function& function) { return "halo_gen_" + function.name; }

std::unique_ptr<llvm::Module> lower(const ir::Module& module, llvm::LLVMContext& context,
                                    std::string& error) {
  auto m = std::make_unique<llvm::Module>(module.model_name, context);
  try {
    for (const ir::Function& f : module.functions) FunctionLowering(f, *m).run();
  } catch (const CodegenError& e) {
    error = e.what();
    return nullptr;
  }
  std::string problems;
  llvm::raw_string_ostream os(problems);
  if (llvm::verifyModule(*m, &os)) {
    error = "internal error: the generated LLVM IR is invalid:\n" + os.str();
    return nullptr;
  }
  return m;
}

}  // namespace halo::codegen
