/* The contract between code that haloc generates and the runtime that calls it.
 *
 * Every generated entry point has the C signature
 *     int32_t <name>(halo_ws* ws, void* const* args, void* const* results);
 * and returns 0 on success or non-zero after writing a message with halo_ws_fail().
 * args[i] / results[i] point to a double (f64), an int64_t (i64), or a halo_tensor.
 * For a tensor result the callee fills in the halo_tensor: `data` points into the workspace
 * (valid until the caller resets it) and `dims` holds the shape.
 *
 * Tensor layout: array dimensions row-major (outer index slowest); each element (vector,
 * matrix) contiguous and column-major. Dims are listed array dims first.
 */
#ifndef HALO_GENERATED_ABI_H
#define HALO_GENERATED_ABI_H
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define HALO_MAX_RANK 6

typedef struct halo_tensor {
  void* data;                     /* double* or int64_t* */
  int64_t dims[HALO_MAX_RANK];
} halo_tensor;

/* A per-thread bump arena for temporaries and the AD value stack. Generated code allocates by
 * bumping `cur` and calls halo_ws_grow() only when the chunk is exhausted. The runtime owns
 * everything past the first two fields. */
typedef struct halo_ws {
  char* cur;
  char* end;
  /* The AD value stack: one contiguous buffer, pushed by the forward sweep and popped by the
   * reverse sweep. It may move while it grows (pushes only happen before the first pop). */
  char* stack_cur;
  char* stack_end;
} halo_ws;

/* Slow path of allocation: a new chunk of at least `bytes` (16-byte aligned). Never returns
 * NULL (aborts the call through the error path when memory is exhausted: returns NULL and the
 * generated code fails). */
void* halo_ws_grow(halo_ws* ws, int64_t bytes);
/* Makes room for `bytes` more on the value stack (moving it if needed); returns the new
 * stack_cur, or NULL when memory is exhausted. */
char* halo_ws_stack_grow(halo_ws* ws, int64_t bytes);
/* Records an error message; `message` may hold up to two "{}" holes filled with a and b.
 * Returns 1 (the generated code returns it). */
int32_t halo_ws_fail(halo_ws* ws, const char* message, double a, double b);
/* print(...) and reject(...): `text` has one "{}" hole per value. reject returns 1. */
void halo_ws_print(halo_ws* ws, const char* text, int64_t n, const double* values);
int32_t halo_ws_reject(halo_ws* ws, const char* text, int64_t n, const double* values);

#ifdef __cplusplus
}
#endif
#endif
