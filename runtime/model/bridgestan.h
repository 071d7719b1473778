/* The C API every Halo model library exports: BridgeStan 2.7.0's (roualdes/bridgestan,
 * src/bridgestan.h), function for function, plus Halo's own extras at the end. Semantics and
 * Halo's choices: docs/abi.md. */
#ifndef HALO_BRIDGESTAN_H
#define HALO_BRIDGESTAN_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BS_PUBLIC __attribute__((visibility("default")))

#ifdef __cplusplus
extern "C" {
#endif

typedef struct bs_model bs_model;
typedef struct bs_rng bs_rng;
typedef void (*STREAM_CALLBACK)(const char* data, size_t size);

BS_PUBLIC extern const int bs_major_version;
BS_PUBLIC extern const int bs_minor_version;
BS_PUBLIC extern const int bs_patch_version;

BS_PUBLIC bs_model* bs_model_construct(const char* data, unsigned int seed, char** error_msg);
BS_PUBLIC void bs_model_destruct(bs_model* m);
BS_PUBLIC void bs_free_error_msg(char* error_msg);
BS_PUBLIC const char* bs_name(const bs_model* m);
BS_PUBLIC const char* bs_model_info(const bs_model* m);
BS_PUBLIC const char* bs_param_names(const bs_model* m, bool include_tp, bool include_gq);
BS_PUBLIC const char* bs_param_unc_names(const bs_model* m);
BS_PUBLIC int bs_param_num(const bs_model* m, bool include_tp, bool include_gq);
BS_PUBLIC int bs_param_unc_num(const bs_model* m);
BS_PUBLIC int bs_param_constrain(const bs_model* m, bool include_tp, bool include_gq, const double* theta_unc,
                                 double* theta, bs_rng* rng, char** error_msg);
BS_PUBLIC int bs_param_unconstrain(const bs_model* m, const double* theta, double* theta_unc, char** error_msg);
BS_PUBLIC int bs_param_unconstrain_json(const bs_model* m, const char* json, double* theta_unc, char** error_msg);
BS_PUBLIC int bs_log_density(const bs_model* m, bool propto, bool jacobian, const double* theta_unc, double* lp,
                             char** error_msg);
BS_PUBLIC int bs_log_density_gradient(const bs_model* m, bool propto, bool jacobian, const double* theta_unc,
                                      double* val, double* grad, char** error_msg);
BS_PUBLIC int bs_log_density_hessian(const bs_model* m, bool propto, bool jacobian, const double* theta_unc,
                                     double* val, double* grad, double* hessian, char** error_msg);
BS_PUBLIC int bs_log_density_hessian_vector_product(const bs_model* m, bool propto, bool jacobian,
                                                    const double* theta_unc, const double* vector, double* val,
                                                    double* hvp, char** error_msg);
BS_PUBLIC bs_rng* bs_rng_construct(unsigned int seed, char** error_msg);
BS_PUBLIC void bs_rng_destruct(bs_rng* rng);
BS_PUBLIC int bs_set_print_callback(STREAM_CALLBACK callback, char** error_msg);

/* Halo's extras. */
/* The model's metadata as JSON (names, shapes with the sizes of this data, constraints, the
 * batch dimension, versions); owned by the model. docs/abi.md lists the fields. */
BS_PUBLIC const char* halo_model_metadata(const bs_model* m);
/* A draw of the unconstrained parameters from the model's priors (docs/abi.md: which statements
 * count as priors; parameters without one get uniform(-2, 2) on the unconstrained scale, Stan's
 * default initialisation). Advances `rng`. For `halo sample --init prior`. */
BS_PUBLIC int halo_param_prior_draw(const bs_model* m, bs_rng* rng, double* theta_unc, char** error_msg);
/* The minibatch log density (with constants) and, when grad is not NULL, its gradient: the
 * priors plus N / B times the likelihood of the B rows `rows` (0-based indices into the batch
 * dimension N, repeats allowed). Fails when the model declares no batch dimension or a row is
 * out of range. Thread-safe like bs_log_density_gradient. */
BS_PUBLIC int halo_log_density_batch(const bs_model* m, bool jacobian, const double* theta_unc, const int64_t* rows,
                                     size_t num_rows, double* val, double* grad, char** error_msg);

#ifdef __cplusplus
}
#endif
#endif
