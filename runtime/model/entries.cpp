#include "model/entries.h"

#include <dlfcn.h>

#include <mutex>
#include <stdexcept>
#include <string>

namespace halo::model {

namespace {

struct Resolution {
  GeneratedEntries entries;
  const char* missing = nullptr;  // the first required symbol not found
};

// An address inside this shared object, for dladdr.
void anchor() {}

Resolution resolve() {
  Resolution r;
  // Our own library: dlopen of its path with RTLD_NOLOAD returns its handle (it is loaded,
  // since this code runs), and dlsym on a handle searches that object first. When the
  // runtime is linked into an executable instead, fall back to the global scope.
  void* self = nullptr;
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&anchor), &info) != 0 && info.dli_fname != nullptr)
    self = dlopen(info.dli_fname, RTLD_LAZY | RTLD_NOLOAD);
  void* scope = self != nullptr ? self : RTLD_DEFAULT;
  auto find = [&](const char* name, bool required) -> void* {
    void* p = dlsym(scope, name);
    if (p == nullptr && required && r.missing == nullptr) r.missing = name;
    return p;
  };
  auto entry = [&](const char* name, bool required = true) {
    return reinterpret_cast<Entry>(find(name, required));
  };
  GeneratedEntries& e = r.entries;
  e.layout = static_cast<const char*>(find("halo_model_layout", true));
  e.data = entry("halo_gen_data");
  e.sizes = entry("halo_gen_sizes");
  e.log_density = entry("halo_gen_log_density");
  e.log_density_propto = entry("halo_gen_log_density_propto");
  e.log_density_grad = entry("halo_gen_log_density_grad");
  e.log_density_propto_grad = entry("halo_gen_log_density_propto_grad");
  e.constrain = entry("halo_gen_constrain");
  e.unconstrain = entry("halo_gen_unconstrain");
  e.generated_quantities = entry("halo_gen_generated_quantities", false);
  e.prior_draw = entry("halo_gen_prior_draw", false);
  e.log_density_batch = entry("halo_gen_log_density_batch", false);
  e.log_density_batch_grad = entry("halo_gen_log_density_batch_grad", false);
  // The handle only served the lookups; the library stays loaded by whoever loaded it.
  if (self != nullptr) dlclose(self);
  return r;
}

}  // namespace

const GeneratedEntries& generated_entries() {
  // Both trivially destructible: nothing to run when the library is unloaded.
  static std::once_flag once;
  static Resolution resolution;
  std::call_once(once, [] { resolution = resolve(); });
  if (resolution.missing != nullptr)
    throw std::runtime_error(std::string("the model library lacks the generated symbol '") + resolution.missing +
                             "' (was it linked by haloc?)");
  return resolution.entries;
}

}  // namespace halo::model
