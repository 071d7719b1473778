// The compile cache of `halo run`: a .model file is compiled once per (source text, model name,
// compiler identity), and the library is reused afterwards. The key is a 64-bit FNV-1a hash;
// beside each library the cache keeps the source it was compiled from, and a hit requires that
// copy to equal the current source byte for byte, so a hash collision costs a recompile, never
// a wrong model. The compiler identity is Halo's version and the size and modification time of
// the running executable (which carries the compiler): rebuilding Halo invalidates the cache.
// Libraries are compiled to a temporary name and renamed, so concurrent runs never see half a
// library.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace halo::cli {

struct CompileRequest {
  std::string source_path;  // for messages
  std::string source;       // the text of the .model file
  std::string model_name;   // the stem of the file, as haloc names models
  std::string output;       // the library to write
};
// Throws CliError with the compiler's diagnostics.
using CompileFunction = std::function<void(const CompileRequest&)>;

uint64_t fnv1a64(std::string_view data, uint64_t hash = 0xcbf29ce484222325ULL);

// HALO_VERSION plus the size and modification time of /proc/self/exe.
std::string compiler_identity();

// $HALO_CACHE_DIR, else $XDG_CACHE_HOME/halo, else $HOME/.cache/halo.
std::string default_cache_dir();

class ModelCache {
 public:
  ModelCache(std::string dir, std::string identity, CompileFunction compile);

  struct Entry {
    std::string library;  // path of the compiled library
    std::string model_name;
    bool hit = false;     // false: compiled now
  };
  // Compiles `model_file` unless the cache has it. Throws CliError.
  Entry get(const std::string& model_file);

  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
  std::string identity_;
  CompileFunction compile_;
};

}  // namespace halo::cli
