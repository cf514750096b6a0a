// output_file.hpp — whole output files that appear complete or not at all.
//
// Every file liqsim writes as a result — the replay journal, the HTML report,
// imported or generated event logs, a population's metadata — goes through
// OutputFile, so that a full disk, a failing fsync or a crash never leaves a
// half-written result under the name the user asked for:
//
//   * PATH that does not exist or is a regular file (also through a symbolic
//     link, which is kept: its target is replaced): the bytes go to a
//     temporary file of this process beside it (TARGET.tmp-PID-N, created
//     with O_EXCL, so nothing else is ever overwritten), which is fsync'd,
//     given the old file's permission bits (a file the user may not write is
//     refused, as the shell's '>' does), renamed over TARGET, and the
//     directory fsync'd. On any error the temporary file is removed and
//     TARGET is left exactly as it was. A process killed while writing
//     leaves its temporary file behind (never anything under TARGET's name);
//     it holds nothing anyone depends on and may be deleted.
//   * PATH that exists and is not a regular file (a FIFO, a terminal,
//     /dev/null), or one of this process's descriptors (/dev/stdout,
//     /dev/stderr, /dev/fd/N, /proc/self/fd/N, or any other name of the file
//     standard output or error is open on, written through a duplicate so
//     the shell redirection's offset is shared): the bytes are streamed into
//     it as they come (opened for appending). Such a target is never replaced
//     or removed; fsync is not asked of it. An error is still reported, but
//     what was streamed before it cannot be taken back.
//
// All system calls go through io_faults.hpp, so tests inject short writes,
// ENOSPC, failing fsync and rename.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "liqsim/error.hpp"

namespace liqsim {

struct OutputTarget {
  std::string path;     // where the bytes end up (a symbolic link resolved)
  bool stream = false;  // streamed into in place (see above), never replaced
};
// Classifies PATH as above. Errors: an empty path, a directory, a dangling
// symbolic link chain that cannot be resolved.
Result<OutputTarget> resolve_output(const std::string& path);

// For whole-file writers that do their own I/O (log convert):
// a temporary name beside TARGET that does not exist yet (TARGET.tmp-PID-N);
std::string temporary_name(const std::string& target);
// an error (naming PATH) when TARGET exists and may not be written;
Status check_replaceable(const std::string& path, const std::string& target);
// TARGET's permission bits (not set-id bits) given to the file open on FD.
void keep_permissions(int fd, const std::string& target);
// rename(from, to), then fsync of the directory of `to`.
Status rename_durably(const std::string& from, const std::string& to);
// fsync of the directory that holds `path` (through the fault seam).
Status fsync_parent_directory(const std::string& path);

class OutputFile {
 public:
  static Result<OutputFile> create(const std::string& path);
  OutputFile(OutputFile&& other) noexcept;
  OutputFile& operator=(OutputFile&& other) noexcept;
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;
  ~OutputFile();  // abandons an uncommitted file

  Status write(std::string_view bytes);  // buffered; an error sticks
  // Writes out the buffer and fsyncs the temporary file: after it succeeds
  // only the rename of commit() is left, so a caller publishing several
  // outputs prepares them all before committing any.
  Status prepare();
  // prepare(), then renames into place (streaming: prepare() and close).
  // After an error nothing is left behind under the target's name that was
  // not there before.
  Status commit();
  // Gives up: removes the temporary file (streaming: closes). Idempotent.
  void abandon();

  const std::string& path() const { return requested_; }  // as the user named it
  bool streaming() const { return target_.stream; }
  std::int64_t size() const { return size_; }

 private:
  OutputFile() = default;
  Status flush();
  Status fail(Status st);
  int fd_ = -1;
  std::string requested_;
  OutputTarget target_;
  std::string tmp_;
  std::string buf_;
  std::int64_t size_ = 0;
  bool prepared_ = false;
  bool committed_ = false;
  Status error_;
};

}  // namespace liqsim
