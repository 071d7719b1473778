// The workspace behind generated code (runtime/model/workspace.h), tested directly through the
// ABI functions that generated code calls.
#include <doctest/doctest.h>

#include <cstdint>
#include <cstring>
#include <thread>
#include <vector>

#include "model/generated_abi.h"
#include "model/workspace.h"

using halo::model::Workspace;
using halo::model::WorkspaceLease;

namespace {

// What generated code does to allocate: bump `cur` (16-byte aligned), else halo_ws_grow.
void* bump(halo_ws* ws, int64_t bytes) {
  auto cur = reinterpret_cast<uintptr_t>(ws->cur);
  uintptr_t aligned = (cur + 15) & ~uintptr_t{15};
  if (ws->cur != nullptr && aligned + static_cast<uintptr_t>(bytes) <= reinterpret_cast<uintptr_t>(ws->end)) {
    ws->cur = reinterpret_cast<char*>(aligned + static_cast<uintptr_t>(bytes));
    return reinterpret_cast<void*>(aligned);
  }
  return halo_ws_grow(ws, bytes);
}

// What generated code does to push a value on the AD stack.
void push(halo_ws* ws, double value) {
  char* at = ws->stack_cur;
  if (at == nullptr || at + sizeof(double) > ws->stack_end) {
    at = halo_ws_stack_grow(ws, sizeof(double));
    REQUIRE(at != nullptr);
  }
  std::memcpy(at, &value, sizeof value);
  ws->stack_cur = at + sizeof(double);
}

double pop(halo_ws* ws) {
  double value;
  ws->stack_cur -= sizeof(double);
  std::memcpy(&value, ws->stack_cur, sizeof value);
  return value;
}

}  // namespace

TEST_CASE("workspace: growing never moves earlier allocations") {
  Workspace ws;
  ws.reset();
  std::vector<std::pair<unsigned char*, size_t>> blocks;
  for (size_t k = 0; k < 200; ++k) {
    size_t bytes = 64 + 997 * k;  // 20 MB in all: many chunks
    auto* p = static_cast<unsigned char*>(bump(ws.abi(), static_cast<int64_t>(bytes)));
    REQUIRE(p != nullptr);
    CHECK(reinterpret_cast<uintptr_t>(p) % 16 == 0);
    std::memset(p, static_cast<int>(k & 0xff), bytes);
    blocks.emplace_back(p, bytes);
  }
  CHECK(ws.chunk_count() > 1);
  for (size_t k = 0; k < blocks.size(); ++k) {
    auto [p, bytes] = blocks[k];
    bool intact = true;
    for (size_t i = 0; i < bytes; ++i) intact = intact && p[i] == static_cast<unsigned char>(k & 0xff);
    CHECK(intact);
  }
}

TEST_CASE("workspace: halo_ws_grow returns the allocation and leaves cur after it") {
  Workspace ws;
  ws.reset();
  halo_ws* abi = ws.abi();
  char* p = static_cast<char*>(halo_ws_grow(abi, 1000));
  REQUIRE(p != nullptr);
  CHECK(abi->cur >= p + 1000);
  CHECK(abi->end >= abi->cur);
  CHECK(halo_ws_grow(abi, -1) == nullptr);
  CHECK(halo_ws_grow(abi, int64_t{1} << 62) == nullptr);  // a size computed from garbage
}

TEST_CASE("workspace: reset consolidates the chunks, so steady-state calls allocate nothing") {
  Workspace ws;
  auto one_call = [&] {
    ws.reset();
    for (int k = 0; k < 50; ++k) REQUIRE(bump(ws.abi(), 40000) != nullptr);  // 2 MB
    for (int k = 0; k < 1000; ++k) push(ws.abi(), k);
  };
  one_call();
  CHECK(ws.chunk_count() > 1);
  one_call();
  CHECK(ws.chunk_count() == 1);
  size_t allocations = ws.chunk_allocations();
  size_t stack = ws.stack_capacity();
  for (int call = 0; call < 20; ++call) one_call();
  CHECK(ws.chunk_allocations() == allocations);
  CHECK(ws.chunk_count() == 1);
  CHECK(ws.stack_capacity() == stack);
}

TEST_CASE("workspace: the value stack grows, moving, and keeps its contents") {
  Workspace ws;
  ws.reset();
  const int n = 100000;
  for (int k = 0; k < n; ++k) push(ws.abi(), 0.5 * k);
  CHECK(ws.stack_capacity() >= n * sizeof(double));
  bool same = true;
  for (int k = n - 1; k >= 0; --k) same = same && pop(ws.abi()) == 0.5 * k;
  CHECK(same);
  ws.reset();
  CHECK(ws.abi()->stack_cur + n * sizeof(double) <= ws.abi()->stack_end);  // capacity kept
}

TEST_CASE("workspace: failures keep the first message, formatted from doubles") {
  Workspace ws;
  ws.reset();
  CHECK(halo_ws_fail(ws.abi(), "'y' has {} elements but is declared with N = {}", 2, 3) == 1);
  CHECK(ws.failed());
  CHECK(ws.error() == "'y' has 2 elements but is declared with N = 3");
  CHECK(halo_ws_fail(ws.abi(), "a later failure", 0, 0) == 1);
  CHECK(ws.error() == "'y' has 2 elements but is declared with N = 3");
  ws.reset();
  CHECK(!ws.failed());
  CHECK(ws.error().empty());
  halo_ws_fail(ws.abi(), "x = {}, bound {}; no hole left {}", 2.5, -1e300);
  CHECK(ws.error() == "x = 2.5, bound -1e+300; no hole left {}");
  ws.reset();
  double values[3] = {-3, 1.0 / 0.0, 0.25};
  CHECK(halo_ws_reject(ws.abi(), "rejected: {} {} {}", 3, values) == 1);
  CHECK(ws.error() == "rejected: -3 inf 0.25");
  CHECK(halo::model::format_holes("{}{}", values, 1) == "-3{}");
}

TEST_CASE("workspace leases: one per thread, reused, nested leases get their own") {
  Workspace* first = nullptr;
  {
    WorkspaceLease a;
    first = &*a;
    CHECK(a->busy);
    {
      WorkspaceLease nested;
      CHECK(&*nested != first);
    }
    CHECK(a->busy);
  }
  {
    WorkspaceLease again;
    CHECK(&*again == first);
  }
  Workspace* other = nullptr;
  std::thread([&] {
    WorkspaceLease t;
    other = &*t;
  }).join();
  CHECK(other != first);
}
