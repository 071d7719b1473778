#include "cli/model_cache.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "cli/errors.h"
#include "cli/files.h"

namespace halo::cli {

uint64_t fnv1a64(std::string_view data, uint64_t hash) {
  // FNV-1a, 64-bit (Fowler, Noll, Vo; offset basis and prime from the reference).
  for (unsigned char byte : data) {
    hash ^= byte;
    hash *= 0x100000001b3ULL;
  }
  return hash;
}

std::string compiler_identity() {
  std::string id = std::string("halo ") + HALO_VERSION;
  struct stat st {};
  if (::stat("/proc/self/exe", &st) == 0) {
    id += " exe " + std::to_string(static_cast<long long>(st.st_size)) + " " +
          std::to_string(static_cast<long long>(st.st_mtim.tv_sec)) + "." +
          std::to_string(static_cast<long long>(st.st_mtim.tv_nsec));
  }
  return id;
}

std::string default_cache_dir() {
  if (const char* dir = std::getenv("HALO_CACHE_DIR"); dir && *dir) return dir;
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg) return join_path(xdg, "halo");
  if (const char* home = std::getenv("HOME"); home && *home) return join_path(home, ".cache/halo");
  throw CliError("no cache directory: set HALO_CACHE_DIR or HOME, or give --cache-dir");
}

ModelCache::ModelCache(std::string dir, std::string identity, CompileFunction compile)
    : dir_(std::move(dir)), identity_(std::move(identity)), compile_(std::move(compile)) {}

ModelCache::Entry ModelCache::get(const std::string& model_file) {
  require_readable_file(model_file, "model file");
  Entry entry;
  CompileRequest request;
  request.source_path = model_file;
  request.source = read_text_file(model_file);
  request.model_name = stem(model_file, ".model");
  entry.model_name = request.model_name;

  uint64_t key = fnv1a64(identity_);
  key = fnv1a64(std::string_view("\0", 1), key);
  key = fnv1a64(request.model_name, key);
  key = fnv1a64(std::string_view("\0", 1), key);
  key = fnv1a64(request.source, key);
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(key));
  const std::string base = join_path(dir_, request.model_name + "-" + hex);
  entry.library = base + ".so";
  const std::string source_copy = base + ".model";

  struct stat st {};
  if (::stat(entry.library.c_str(), &st) == 0 && ::stat(source_copy.c_str(), &st) == 0) {
    std::string cached;
    try {
      cached = read_text_file(source_copy);
    } catch (const CliError&) {
    }
    if (cached == request.source) {
      entry.hit = true;
      return entry;
    }
  }

  make_directories(dir_);
  request.output = entry.library + ".tmp" + std::to_string(::getpid());
  try {
    compile_(request);
  } catch (...) {
    ::unlink(request.output.c_str());
    throw;
  }
  if (std::rename(request.output.c_str(), entry.library.c_str()) != 0) {
    int saved = errno;
    ::unlink(request.output.c_str());
    throw CliError("cannot store the compiled model in '" + entry.library + "': " + std::strerror(saved));
  }
  // The source copy last: a library without its source copy is never taken as a hit.
  write_file_atomically(source_copy, request.source);
  return entry;
}

}  // namespace halo::cli
