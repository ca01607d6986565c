#pragma once
// Results files: checked before a run can cost anything that they can be written where asked, and
// written so that a reader never sees half a file and nothing but the file itself is replaced.
#include <string>
#include <utility>
#include <vector>

namespace klab {

// Throws std::invalid_argument, one line starting with `what` (e.g. "--json out/r.json"), when a
// results file could not be written at `path`: the path ends in '/'; a folder, socket or block
// device is there; the file is read-only (no write permission for anyone: klab does not replace
// what its owner protected, not even as root), immutable or append-only; a component of the path
// is a file; the folder cannot be created, or files cannot be created in it (read-only file
// system, permissions). A character device or a FIFO (/dev/null, /dev/stdout) is accepted: it is
// written directly, never replaced.
void check_output_path(const std::string& path, const std::string& what);

// Throws std::invalid_argument when two of `paths` ({what, path} each, empty paths skipped) are
// one file, e.g. the JSON results and the deck. Character devices (/dev/null) may repeat.
void check_distinct_paths(const std::vector<std::pair<std::string, std::string>>& paths);

// Writes `content` to `path`. A regular file, new or not, is written to a temporary file in the
// same folder and renamed over it: an existing file keeps its permission bits, and a symbolic link
// stays, its target replaced. Missing folders are created. A character device or FIFO is written
// directly. Throws std::runtime_error naming the path; the temporary file never stays behind, also
// when a second SIGINT or SIGTERM ends klab while it is written (core/interrupt.hpp).
void write_output_file(const std::string& path, const std::string& content);

}  // namespace klab
