// OutputFile: where `export --output PATH` writes, so that a reader of PATH sees either the
// old content or the whole new one, and a failed write is an error, never a silent half file.
//
// What PATH names decides how it is written:
//  - "-", /dev/stdout, /dev/fd/1, /proc/self/fd/1: the stdout stream the caller hands in,
//    written in place (other /dev/fd/N and /dev/stderr: a duplicate of descriptor N);
//  - nothing yet, or a regular file: a temporary file beside it ("PATH.tmp-PID-N", created
//    exclusively, with the mode of the file it replaces), renamed over PATH by Commit();
//  - a symbolic link (a chain of them): followed; its final target is written as above, so
//    the link stays a link and its target gets the new data;
//  - a named pipe, a character or block device: opened for writing in place (never created,
//    truncated or replaced). Opening a pipe waits for its reader, as any writer does;
//  - a directory or a socket: an error.
// Every write, the flush, fsync (of a temporary file) and the close are checked: the first
// failure (a full disk, /dev/full) makes Commit() fail, and a temporary file is removed by
// Commit() on failure or by the destructor when Commit() was never reached. Not thread-safe.
#pragma once

#include <cstdio>
#include <memory>
#include <string>
#include <string_view>

#include "mdfetch/result.h"

namespace mdfetch {

class OutputFile {
 public:
  // Opens `path` as described above; `std_out` is the stream "-" names (not owned). Fails
  // with "cannot write 'PATH': REASON" (e.g. "is a directory", "Permission denied").
  static Result<std::unique_ptr<OutputFile>> Open(const std::string& path, std::FILE* std_out);
  ~OutputFile();
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;

  // Appends `data`; false once any write has failed (later writes are skipped).
  bool Write(std::string_view data);
  // Flushes and closes; a temporary file is synced and renamed over its final name. On any
  // failure, "cannot write 'PATH': REASON", and the temporary file is gone. Call once.
  Status Commit();
  // Gives up: a temporary file is removed, the final name untouched. Also what the
  // destructor does if Commit() was not called.
  void Abandon();

  // The path given to Open, for messages.
  const std::string& path() const { return path_; }
  // Whether the data goes to a temporary file renamed at the end (a regular file).
  bool replaces() const { return !temp_path_.empty(); }

 private:
  OutputFile(std::string path, std::FILE* stream, bool owned, std::string final_path,
             std::string temp_path);
  void Record(int error);  // keeps the first failure's errno

  std::string path_;        // as given
  std::FILE* stream_;       // where bytes go
  bool owned_;              // close stream_ when done (not the caller's stdout)
  std::string final_path_;  // the regular file renamed over (symbolic links followed)
  std::string temp_path_;   // empty when written in place
  int error_ = 0;           // errno of the first failure
  bool done_ = false;
};

}  // namespace mdfetch
