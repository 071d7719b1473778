// Small file-system helpers for the commands; each throws CliError with the path and the
// system's reason.
#pragma once
#include <string>

namespace halo::cli {

// Throws CliError "cannot read the <what> '<path>': <reason>" unless `path` is a readable
// regular file.
void require_readable_file(const std::string& path, const std::string& what);
// mkdir -p; throws CliError when the directory cannot be created or written.
void make_directories(const std::string& path);
// Writes to `<path>.tmp`, then renames over `path`: a reader never sees half a file.
void write_file_atomically(const std::string& path, const std::string& text);
std::string read_text_file(const std::string& path);
// "dir" + "/" + "name" (no doubled slash; "." kept explicit).
std::string join_path(const std::string& dir, const std::string& name);
// The file name without directories and without the given extension.
std::string stem(const std::string& path, const std::string& extension);

}  // namespace halo::cli
