// The runtime half of the generated-code workspace (runtime/model/generated_abi.h): a bump
// arena for temporaries and results, the AD value stack, and the error message of a failed
// call. One workspace per thread, taken for the length of one API call (WorkspaceLease).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "model/generated_abi.h"

namespace halo::model {

class Workspace {
 public:
  Workspace();
  ~Workspace();
  Workspace(const Workspace&) = delete;
  Workspace& operator=(const Workspace&) = delete;

  halo_ws* abi() { return &handle_.ws; }
  static Workspace& from(halo_ws* ws) { return *reinterpret_cast<Handle*>(ws)->owner; }

  // Forgets every allocation and the value stack, and clears the error. When the last calls
  // needed more than one chunk, they are replaced by one chunk of their total size, so that
  // the next call of the same size bumps through memory it already has.
  void reset();

  // Arena allocation (16-byte aligned) for the runtime's own use between reset()s; nullptr
  // when memory is exhausted. Never moves earlier allocations.
  void* allocate(size_t bytes);
  // halo_ws_grow: a new chunk holding at least `bytes`; returns the allocation.
  void* grow(size_t bytes);
  // halo_ws_stack_grow: room for `bytes` more on the value stack; returns the new stack_cur.
  char* grow_stack(size_t bytes);

  // The first failure of the current call (halo_ws_fail, halo_ws_reject).
  void fail(std::string message);
  bool failed() const { return failed_; }
  const std::string& error() const { return error_; }

  // Statistics for tests: chunks held now, and chunk allocations since construction.
  size_t chunk_count() const { return chunk_count_; }
  size_t chunk_allocations() const { return chunk_allocations_; }
  size_t stack_capacity() const { return static_cast<size_t>(stack_end_ - stack_base_); }

  bool busy = false;  // taken by a WorkspaceLease

 private:
  // The ABI struct first, so that halo_ws* converts back to its Handle (standard layout).
  struct Handle {
    halo_ws ws;
    Workspace* owner;
  };
  struct Chunk {
    Chunk* previous;
    size_t size;  // bytes usable after the header
    char* begin() { return reinterpret_cast<char*>(this) + kHeader; }
  };
  static constexpr size_t kHeader = 32;  // keeps begin() 16-byte aligned
  static constexpr size_t kMinChunk = size_t{64} << 10;

  Chunk* new_chunk(size_t size);
  void free_chunks();

  Handle handle_{};
  Chunk* chunk_ = nullptr;  // the current chunk; earlier ones chained through `previous`
  size_t chunk_count_ = 0;
  size_t total_size_ = 0;
  size_t chunk_allocations_ = 0;
  char* stack_base_ = nullptr;
  char* stack_end_ = nullptr;
  bool failed_ = false;
  std::string error_;
};

// The calling thread's workspace, reset, for the lifetime of the lease. A nested lease on the
// same thread (a print callback that calls the model again) gets a temporary workspace.
class WorkspaceLease {
 public:
  WorkspaceLease();
  ~WorkspaceLease();
  WorkspaceLease(const WorkspaceLease&) = delete;
  WorkspaceLease& operator=(const WorkspaceLease&) = delete;
  Workspace& operator*() const { return *ws_; }
  Workspace* operator->() const { return ws_; }

 private:
  Workspace* ws_;
  bool temporary_;
};

// Formats `text`, replacing each "{}" in turn with the next value (integers without ".0").
std::string format_holes(const char* text, const double* values, size_t n);

}  // namespace halo::model
