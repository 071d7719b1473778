#include "model/workspace.h"

#include <pthread.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "data/cmdstan_json.h"

namespace halo::model {

namespace {

// One workspace per thread, found through a pthread key whose destructor frees it when the
// thread exits. (A C++ thread_local with a destructor would need the C runtime's DSO
// bookkeeping, which model libraries linked by haloc do not carry.) The key is deleted when
// the library is unloaded, so no thread calls into unmapped code afterwards; workspaces of
// threads still alive then are left to the process.
pthread_key_t g_workspace_key;
bool g_have_key = false;

void free_thread_workspace(void* p) { delete static_cast<Workspace*>(p); }

__attribute__((constructor)) void create_workspace_key() {
  g_have_key = pthread_key_create(&g_workspace_key, &free_thread_workspace) == 0;
}

__attribute__((destructor)) void delete_workspace_key() {
  if (g_have_key) pthread_key_delete(g_workspace_key);
  g_have_key = false;
}

// Requests beyond this are failures of the model (a size computed from garbage), not
// something to pass to malloc.
constexpr size_t kMaxRequest = size_t{1} << 40;

size_t align16(size_t n) { return (n + 15) & ~size_t{15}; }

}  // namespace

Workspace::Workspace() { handle_.owner = this; }

Workspace::~Workspace() {
  free_chunks();
  std::free(stack_base_);
}

Workspace::Chunk* Workspace::new_chunk(size_t size) {
  void* memory = std::malloc(kHeader + size);
  if (memory == nullptr) return nullptr;
  auto* chunk = static_cast<Chunk*>(memory);
  chunk->previous = chunk_;
  chunk->size = size;
  chunk_ = chunk;
  ++chunk_count_;
  ++chunk_allocations_;
  total_size_ += size;
  return chunk;
}

void Workspace::free_chunks() {
  while (chunk_ != nullptr) {
    Chunk* previous = chunk_->previous;
    std::free(chunk_);
    chunk_ = previous;
  }
  chunk_count_ = 0;
  total_size_ = 0;
}

void Workspace::reset() {
  if (chunk_count_ > 1) {
    size_t total = total_size_;
    free_chunks();
    new_chunk(total);  // on failure the next call starts from nothing, which is still correct
  }
  handle_.ws.cur = chunk_ ? chunk_->begin() : nullptr;
  handle_.ws.end = chunk_ ? chunk_->begin() + chunk_->size : nullptr;
  handle_.ws.stack_cur = stack_base_;
  handle_.ws.stack_end = stack_end_;
  failed_ = false;
  error_.clear();
}

void* Workspace::grow(size_t bytes) {
  if (bytes > kMaxRequest) return nullptr;
  size_t needed = align16(bytes);
  // Geometric growth keeps the number of chunks per call logarithmic in its total need.
  size_t size = std::max({kMinChunk, needed, total_size_});
  Chunk* chunk = new_chunk(size);
  if (chunk == nullptr) return nullptr;
  handle_.ws.cur = chunk->begin() + needed;
  handle_.ws.end = chunk->begin() + size;
  return chunk->begin();
}

void* Workspace::allocate(size_t bytes) {
  if (bytes > kMaxRequest) return nullptr;
  auto cur = reinterpret_cast<uintptr_t>(handle_.ws.cur);
  uintptr_t aligned = (cur + 15) & ~uintptr_t{15};
  if (handle_.ws.cur != nullptr && aligned + bytes <= reinterpret_cast<uintptr_t>(handle_.ws.end)) {
    handle_.ws.cur = reinterpret_cast<char*>(aligned + bytes);
    return reinterpret_cast<void*>(aligned);
  }
  return grow(bytes);
}

char* Workspace::grow_stack(size_t bytes) {
  size_t used = static_cast<size_t>(handle_.ws.stack_cur - stack_base_);
  if (bytes > kMaxRequest) return nullptr;
  size_t capacity = static_cast<size_t>(stack_end_ - stack_base_);
  size_t new_capacity = std::max({capacity * 2, used + bytes, size_t{4096}});
  auto* grown = static_cast<char*>(std::realloc(stack_base_, new_capacity));
  if (grown == nullptr) return nullptr;
  stack_base_ = grown;
  stack_end_ = grown + new_capacity;
  handle_.ws.stack_cur = grown + used;
  handle_.ws.stack_end = stack_end_;
  return handle_.ws.stack_cur;
}

void Workspace::fail(std::string message) {
  if (failed_) return;  // the first failure is the cause; later ones are consequences
  failed_ = true;
  error_ = std::move(message);
}

WorkspaceLease::WorkspaceLease() : ws_(nullptr), temporary_(true) {
  Workspace* own = nullptr;
  if (g_have_key) {
    own = static_cast<Workspace*>(pthread_getspecific(g_workspace_key));
    if (own == nullptr) {
      own = new Workspace;
      if (pthread_setspecific(g_workspace_key, own) != 0) {
        delete own;
        own = nullptr;
      }
    }
  }
  if (own != nullptr && !own->busy) {
    ws_ = own;
    temporary_ = false;
  } else {
    ws_ = new Workspace;
  }
  ws_->busy = true;
  ws_->reset();
}

WorkspaceLease::~WorkspaceLease() {
  ws_->busy = false;
  if (temporary_) delete ws_;
}

namespace {
// Elements [at, at + prod(dims[k..])) as nested brackets, row-major: [[1,2],[3,4]].
void format_nested(std::string& out, const double* dims, size_t rank, size_t k, const double* values, size_t& at) {
  out += '[';
  const auto n = static_cast<size_t>(dims[k]);
  for (size_t i = 0; i < n; ++i) {
    if (i > 0) out += ',';
    if (k + 1 == rank) out += halo::format_number(values[at++]);
    else format_nested(out, dims, rank, k + 1, values, at);
  }
  out += ']';
}
}  // namespace

std::string format_holes(const char* text, const double* values, size_t n) {
  std::string out;
  size_t next = 0;
  for (const char* p = text; *p != '\0'; ++p) {
    if (p[0] == '{' && p[1] == '{') {  // an escaped literal brace (print text)
      out += '{';
      ++p;
    } else if (p[0] == '{' && p[1] == '}' && next < n) {
      out += halo::format_number(values[next++]);
      ++p;
    } else if (p[0] == '{' && p[1] >= '1' && p[1] <= '9' && p[2] == '}') {
      // A container of rank R: R dims, then its elements row-major (generated code's order).
      const auto rank = static_cast<size_t>(p[1] - '0');
      size_t total = 1;
      for (size_t k = 0; k < rank && next + k < n; ++k) total *= static_cast<size_t>(values[next + k]);
      if (next + rank + total > n) break;  // malformed: never produced by haloc
      const double* dims = values + next;
      size_t at = next + rank;
      format_nested(out, dims, rank, 0, values, at);
      next = at;
      p += 2;
    } else {
      out += *p;
    }
  }
  return out;
}

}  // namespace halo::model
