// output_file.cpp — see include/liqsim/output_file.hpp.
#include "liqsim/output_file.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <utility>

#include "liqsim/io_faults.hpp"

namespace liqsim {

using io_faults::sys_fsync;
using io_faults::sys_open;
using io_faults::sys_pwrite;
using io_faults::sys_rename;
using io_faults::sys_write;

namespace {

constexpr std::size_t kChunkBytes = std::size_t{1} << 20;

Error os_error(const std::string& path, const std::string& what, int err) {
  return make_os_error(path, what, err);
}

// The descriptor a name of this process's own descriptors stands for
// (/dev/stdout, /dev/stderr, /dev/fd/N, /proc/self/fd/N), else -1. Writing
// through a duplicate shares the shell redirection's file offset, where
// opening the name again would start a second offset at 0 and overwrite.
int own_descriptor(const std::string& path) {
  if (path == "/dev/stdout") return 1;
  if (path == "/dev/stderr") return 2;
  for (const char* prefix : {"/dev/fd/", "/proc/self/fd/"}) {
    std::string p = prefix;
    if (path.rfind(p, 0) != 0 || path.size() == p.size() || path.size() > p.size() + 9) continue;
    int fd = 0;
    for (std::size_t i = p.size(); i < path.size(); ++i) {
      if (path[i] < '0' || path[i] > '9') return -1;
      fd = fd * 10 + (path[i] - '0');
    }
    return fd;
  }
  return -1;
}

// This process's standard output or error, when PATH is another name of the
// same open file (/proc/thread-self/fd/1, //dev/stdout, a FIFO it writes to).
int same_as_standard_stream(const std::string& path) {
  struct stat target {};
  if (::stat(path.c_str(), &target) != 0) return -1;
  for (int fd : {1, 2}) {
    struct stat open {};
    if (::fstat(fd, &open) == 0 && open.st_dev == target.st_dev && open.st_ino == target.st_ino) return fd;
  }
  return -1;
}

// The descriptor to stream into, for a name of one of ours; else -1.
int stream_descriptor(const std::string& path) {
  if (int fd = own_descriptor(path); fd >= 0) return fd;
  return same_as_standard_stream(path);
}

}  // namespace

Status fsync_parent_directory(const std::string& path) {
  std::filesystem::path dir = std::filesystem::path(path).parent_path();
  std::string d = dir.empty() ? "." : dir.string();
  int fd = sys_open(d.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return os_error(d, "cannot open directory", errno);
  Status st;
  for (;;) {
    if (sys_fsync(fd) == 0) break;
    if (errno == EINTR) continue;
    // Some file systems cannot fsync a directory; their metadata is durable otherwise.
    if (errno != EINVAL && errno != ENOTSUP) st = os_error(d, "fsync of directory failed", errno);
    break;
  }
  ::close(fd);
  return st;
}

Status rename_durably(const std::string& from, const std::string& to) {
  if (sys_rename(from.c_str(), to.c_str()) != 0)
    return os_error(to, "cannot rename " + from + " to it", errno);
  return fsync_parent_directory(to);
}

std::string temporary_name(const std::string& target) {
  for (int attempt = 0;; ++attempt) {
    std::string tmp = target + ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(attempt);
    struct stat info {};
    if (::lstat(tmp.c_str(), &info) != 0 || attempt >= 1000) return tmp;
  }
}

Status check_replaceable(const std::string& path, const std::string& target) {
  struct stat info {};
  if (::stat(target.c_str(), &info) != 0) return {};
  // Like the shell's '>': a file the user may not write is not replaced.
  if (::access(target.c_str(), W_OK) != 0)
    return make_os_error(path, "cannot replace the output file", errno);
  return {};
}

void keep_permissions(int fd, const std::string& target) {
  struct stat old {};
  if (::stat(target.c_str(), &old) == 0 && S_ISREG(old.st_mode)) (void)::fchmod(fd, old.st_mode & 0777);
}

Result<OutputTarget> resolve_output(const std::string& path) {
  if (path.empty()) return make_error(ErrorKind::usage, "an output file name is empty");
  // This process's own descriptors (/dev/stdout, /dev/fd/3, another name of
  // the file standard output is open on) are streamed into through a
  // duplicate, whatever they are open on.
  if (stream_descriptor(path) >= 0) return OutputTarget{path, true};
  struct stat info {};
  if (::lstat(path.c_str(), &info) != 0) {
    if (errno == ENOENT) return OutputTarget{path, false};
    return os_error(path, "cannot inspect the output file", errno);
  }
  std::string target = path;
  if (S_ISLNK(info.st_mode)) {
    char* real = ::realpath(path.c_str(), nullptr);
    if (real == nullptr) {
      if (errno == ENOENT)
        return make_file_error(ErrorKind::usage, path,
                               "a symbolic link to a file that does not exist: name the file itself");
      return os_error(path, "cannot resolve the symbolic link", errno);
    }
    target = real;
    std::free(real);
    if (::stat(target.c_str(), &info) != 0) return os_error(path, "cannot inspect the output file", errno);
  }
  if (S_ISDIR(info.st_mode))
    return make_file_error(ErrorKind::usage, path, "is a directory, not an output file");
  if (S_ISREG(info.st_mode)) return OutputTarget{target, false};
  return OutputTarget{path, true};  // FIFO, character device, socket: stream into it
}

Result<OutputFile> OutputFile::create(const std::string& path) {
  auto target = resolve_output(path);
  if (!target) return target.error();
  OutputFile f;
  f.requested_ = path;
  f.target_ = *target;
  if (f.target_.stream) {
    if (int own = stream_descriptor(path); own >= 0) {
      f.fd_ = ::fcntl(own, F_DUPFD_CLOEXEC, 3);
      if (f.fd_ < 0) return os_error(path, "cannot write to this descriptor", errno);
      return f;
    }
    f.fd_ = sys_open(path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC | O_NOCTTY);
    if (f.fd_ < 0) return os_error(path, "cannot open for writing", errno);
    return f;
  }
  if (Status st = check_replaceable(path, f.target_.path); !st) return st.error();
  // A temporary name of our own beside the target (O_EXCL): a file the user
  // keeps under TARGET.tmp, another output's temporary file or a concurrent
  // run writing the same target is never opened, truncated or removed.
  for (int attempt = 0;; ++attempt) {
    std::string tmp = temporary_name(f.target_.path);
    f.fd_ = sys_open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (f.fd_ >= 0) {
      f.tmp_ = std::move(tmp);
      break;
    }
    if (errno != EEXIST || attempt >= 100) return os_error(path, "cannot create " + tmp, errno);
  }
  keep_permissions(f.fd_, f.target_.path);  // a 0600 journal stays 0600
  return f;
}

OutputFile::OutputFile(OutputFile&& o) noexcept { *this = std::move(o); }

OutputFile& OutputFile::operator=(OutputFile&& o) noexcept {
  if (this == &o) return *this;
  abandon();
  fd_ = std::exchange(o.fd_, -1);
  requested_ = std::move(o.requested_);
  target_ = std::move(o.target_);
  tmp_ = std::exchange(o.tmp_, std::string());
  buf_ = std::move(o.buf_);
  size_ = o.size_;
  prepared_ = o.prepared_;
  committed_ = o.committed_;
  error_ = std::move(o.error_);
  o.committed_ = true;  // the moved-from object owns nothing
  return *this;
}

OutputFile::~OutputFile() { abandon(); }

Status OutputFile::fail(Status st) {
  if (!st.ok() && error_.ok()) error_ = st;
  return st;
}

Status OutputFile::write(std::string_view bytes) {
  if (!error_.ok()) return error_;
  if (fd_ < 0) return fail(make_file_error(ErrorKind::io, requested_, "write after the file was closed"));
  prepared_ = false;
  buf_.append(bytes);
  size_ += static_cast<std::int64_t>(bytes.size());
  if (buf_.size() >= kChunkBytes) return flush();
  return {};
}

Status OutputFile::flush() {
  const char* data = buf_.data();
  std::size_t n = buf_.size();
  std::int64_t offset = size_ - static_cast<std::int64_t>(n);
  while (n > 0) {
    ssize_t w = target_.stream ? sys_write(fd_, data, n) : sys_pwrite(fd_, data, n, offset);
    if (w < 0) {
      if (errno == EINTR) continue;
      return fail(os_error(requested_, "write failed", errno));
    }
    if (w == 0) return fail(os_error(requested_, "write failed", EIO));
    data += w;
    n -= static_cast<std::size_t>(w);
    offset += w;
  }
  buf_.clear();
  return {};
}

Status OutputFile::prepare() {
  if (!error_.ok() || prepared_ || committed_) return error_;
  if (fd_ < 0) return fail(make_file_error(ErrorKind::io, requested_, "prepare after the file was closed"));
  Status st = flush();
  if (!st) return st;
  if (!target_.stream) {
    for (;;) {
      if (sys_fsync(fd_) == 0) break;
      if (errno == EINTR) continue;
      return fail(os_error(requested_, "fsync failed", errno));
    }
  }
  prepared_ = true;
  return {};
}

Status OutputFile::commit() {
  if (committed_) return error_;
  (void)prepare();
  if (fd_ >= 0) {
    int rc = ::close(fd_);
    fd_ = -1;
    if (rc != 0 && errno != EINTR) (void)fail(os_error(requested_, "close failed", errno));
  }
  if (!error_.ok()) {
    abandon();
    return error_;
  }
  if (!target_.stream) {
    // An existing target is replaced only under its exclusive flock, the lock
    // every log writer and results-database writer holds (events/FORMAT.md,
    // "Locking"): a file another liqsim is appending to or writing a run
    // into is refused, not replaced under it. Held across the rename.
    int lock_fd = ::open(target_.path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW);
    if (lock_fd >= 0 && ::flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
      const int err = errno;
      ::close(lock_fd);
      (void)fail(
          err == EWOULDBLOCK
              ? make_file_error(ErrorKind::io, requested_,
                                "in use by another process (a log being appended to or a results database "
                                "being written): not replaced")
              : os_error(requested_, "cannot lock", err));
      abandon();
      return error_;
    }
    const int rename_rc = sys_rename(tmp_.c_str(), target_.path.c_str());
    const int rename_errno = errno;
    if (lock_fd >= 0) ::close(lock_fd);
    if (rename_rc != 0) {
      (void)fail(os_error(requested_, "cannot rename " + tmp_ + " to " + target_.path, rename_errno));
      abandon();
      return error_;
    }
    tmp_.clear();
    committed_ = true;
    Status st = fsync_parent_directory(target_.path);
    if (!st) {
      // The file is complete and in place; only the durability of its rename is unknown.
      Error e = st.error();
      e.message += " (" + e.file + "; the file is complete, but its rename may not survive a power loss)";
      e.file = requested_;
      return fail(e);
    }
    return {};
  }
  committed_ = true;
  return {};
}

void OutputFile::abandon() {
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
  if (!committed_ && !tmp_.empty()) ::unlink(tmp_.c_str());
  tmp_.clear();
  buf_.clear();
}

}  // namespace liqsim
