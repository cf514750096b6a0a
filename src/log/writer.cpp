// Writing the binary log durably: POSIX open/pwrite/fsync with every error
// reported, short writes retried, EINTR retried, a failed write rolled back
// (events/FORMAT.md, "Writing").
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <thread>

#include "liqsim/input_file.hpp"
#include "liqsim/io_faults.hpp"
#include "liqsim/log.hpp"
#include "liqsim/output_file.hpp"

namespace liqsim {

// System calls go through the fault-injection seam (inert unless a test arms it).
using io_faults::sys_fsync;
using io_faults::sys_ftruncate;
using io_faults::sys_open;
using io_faults::sys_pwrite;
using io_faults::sys_rename;

namespace {

constexpr std::size_t kWriteChunkBytes = std::size_t{1} << 20;

Error os_error(const std::string& path, const std::string& what, int err) {
  return make_os_error(path, what, err);
}

// Writes all of `data` at `offset`, retrying short writes and EINTR.
Status pwrite_all(int fd, const std::string& path, const char* data, std::size_t n, std::int64_t offset) {
  while (n > 0) {
    ssize_t w = sys_pwrite(fd, data, n, offset);
    if (w < 0) {
      if (errno == EINTR) continue;
      return os_error(path, "write failed", errno);
    }
    if (w == 0) return os_error(path, "write failed", EIO);
    data += w;
    n -= static_cast<std::size_t>(w);
    offset += w;
  }
  return {};
}

Status fsync_fd(int fd, const std::string& path) {
  for (;;) {
    if (sys_fsync(fd) == 0) return {};
    if (errno == EINTR) continue;
    return os_error(path, "fsync failed", errno);
  }
}

void hook(const char* point, const std::string& path) {
  if (detail::lock_hook != nullptr) detail::lock_hook(point, path);
}

Error locked_error(const std::string& path) {
  return make_file_error(ErrorKind::io, path,
                         "locked by another process that is appending to, converting or repairing this log; "
                         "nothing was changed (try again when it is done)");
}

// The log's lock (events/FORMAT.md, "Locking"): an exclusive flock. Another
// writer's lock is not waited for: an error at once, as a second writer has
// always been refused. Shared locks are readers (`log verify` re-reading a
// torn tail, for a moment): those are waited out, up to kReaderWaitMs.
Status lock_exclusive(int fd, const std::string& path) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(logfmt::kReaderWaitMs);
  bool told = false;
  for (;;) {
    if (::flock(fd, LOCK_EX | LOCK_NB) == 0) return {};
    if (errno == EINTR) continue;
    if (errno != EWOULDBLOCK) return os_error(path, "cannot lock", errno);
    // Held. If a shared lock can be had, no writer holds it: only readers.
    int shared = ::flock(fd, LOCK_SH | LOCK_NB);
    if (shared != 0 && errno == EINTR) continue;
    if (shared != 0) return locked_error(path);
    (void)::flock(fd, LOCK_UN);
    if (std::chrono::steady_clock::now() >= deadline)
      return make_file_error(
          ErrorKind::io, path,
          "still locked by a reader (a log verify, or another program's shared lock) after " +
              std::to_string(logfmt::kReaderWaitMs / 1000) + " s; nothing was changed");
    if (!told) {
      hook("readers hold", path);
      told = true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

bool same_file(const struct stat& a, const struct stat& b) {
  return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

// PATH, opened with FLAGS and locked, once PATH is known to still name the
// file locked (a replacer may have renamed another file over it between the
// open and the lock: then the new file is opened and locked instead).
// fd -1 when PATH does not exist (and `create` is false). With `create`, a
// missing PATH is created (O_EXCL) and `*created` says so. A path that is not
// a regular file is refused (never waited on: FIFOs are opened O_NONBLOCK).
struct Locked {
  int fd = -1;
  bool created = false;
};
Result<Locked> open_locked(const std::string& path, int flags, bool create) {
  for (int attempt = 0; attempt < logfmt::kLockAttempts; ++attempt) {
    Locked l;
    l.fd = sys_open(path.c_str(), flags | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (l.fd < 0 && errno == ENOENT) {
      if (!create) return l;
      l.fd = sys_open(path.c_str(), flags | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
      if (l.fd < 0 && errno == EEXIST) continue;  // created by someone else meanwhile
      l.created = l.fd >= 0;
    }
    if (l.fd < 0) return os_error(path, create ? "cannot open for writing" : "cannot open", errno);
    struct Closer {
      int& fd;
      ~Closer() {
        if (fd >= 0) ::close(fd);
      }
    } closer{l.fd};
    struct stat mine {};
    if (::fstat(l.fd, &mine) != 0) return os_error(path, "cannot stat", errno);
    if (!S_ISREG(mine.st_mode))
      return make_file_error(ErrorKind::usage, path,
                             S_ISFIFO(mine.st_mode) ? "is a named pipe, not a regular file: a log is a file"
                                                    : "is not a regular file: a log is a file");
    // Back to blocking I/O (it never mattered for a regular file).
    if (int fl = ::fcntl(l.fd, F_GETFL); fl >= 0) (void)::fcntl(l.fd, F_SETFL, fl & ~O_NONBLOCK);
    hook("opened", path);
    if (Status st = lock_exclusive(l.fd, path); !st) return st.error();
    struct stat named {};
    if (::stat(path.c_str(), &named) != 0 || !same_file(mine, named)) continue;  // replaced: again
    Locked out = l;
    l.fd = -1;  // the caller owns it now
    return out;
  }
  return make_file_error(ErrorKind::io, path, "was replaced again and again while it was being locked");
}

Status truncate_to(int fd, const std::string& path, std::int64_t size) {
  for (;;) {
    if (sys_ftruncate(fd, size) == 0) return {};
    if (errno == EINTR) continue;
    return os_error(path, "cannot truncate", errno);
  }
}

Status write_header(int fd, const std::string& path) {
  const std::string header = detail::file_header();
  Status st = truncate_to(fd, path, 0);
  if (!st) return st;
  st = pwrite_all(fd, path, header.data(), header.size(), 0);
  if (!st) return st;
  return fsync_fd(fd, path);
}

}  // namespace

// ---- LogWriter ----

LogWriter::LogWriter(LogWriter&& o) noexcept { *this = std::move(o); }

LogWriter& LogWriter::operator=(LogWriter&& o) noexcept {
  if (this == &o) return *this;
  close_fd();
  fd_ = o.fd_;
  o.fd_ = -1;
  path_ = std::move(o.path_);
  pending_ = std::move(o.pending_);
  written_end_ = o.written_end_;
  durable_end_ = o.durable_end_;
  next_seq_ = o.next_seq_;
  written_seq_ = o.written_seq_;
  durable_seq_ = o.durable_seq_;
  last_checksum_ = o.last_checksum_;
  last_ts_ = o.last_ts_;
  poisoned_ = o.poisoned_;
  return *this;
}

LogWriter::~LogWriter() { close_fd(); }

void LogWriter::close_fd() {
  if (fd_ >= 0) ::close(fd_);  // closing releases the flock
  fd_ = -1;
}

Error LogWriter::io_error(const std::string& what, int err) const { return os_error(path_, what, err); }

Result<LogWriter> LogWriter::create(const std::string& path) {
  LogWriter w;
  w.path_ = path;
  w.fd_ = sys_open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (w.fd_ < 0) return os_error(path, "cannot create", errno);
  Status st = lock_exclusive(w.fd_, path);
  if (!st) return st.error();
  st = write_header(w.fd_, path);
  if (!st) return st.error();
  st = fsync_parent_directory(path);
  if (!st) return st.error();
  w.written_end_ = w.durable_end_ = static_cast<std::int64_t>(logfmt::kFileHeaderBytes);
  return w;
}

Result<LogWriter> LogWriter::open(const std::string& path, std::string* warning) {
  if (warning) warning->clear();
  LogWriter w;
  w.path_ = path;
  auto locked = open_locked(path, O_RDWR, /*create=*/true);
  if (!locked) return locked.error();
  w.fd_ = locked->fd;
  Status st;

  struct stat info {};
  if (::fstat(w.fd_, &info) != 0) return os_error(path, "cannot stat", errno);
  if (locked->created || info.st_size == 0) {
    // New (or created but never written): header, fsync, directory fsync.
    st = write_header(w.fd_, path);
    if (!st) return st.error();
    st = fsync_parent_directory(path);
    if (!st) return st.error();
    w.written_end_ = w.durable_end_ = static_cast<std::int64_t>(logfmt::kFileHeaderBytes);
    return w;
  }

  // Existing log: check every record of the file locked, then continue after the last valid one.
  auto scan = scan_log_descriptor(w.fd_, path);
  if (!scan) return scan.error();
  if (scan->torn) {
    if (warning) *warning = scan->warning + " (cut off before appending)";
    if (scan->valid_end < static_cast<std::int64_t>(logfmt::kFileHeaderBytes)) {
      st = write_header(w.fd_, path);
      scan->valid_end = static_cast<std::int64_t>(logfmt::kFileHeaderBytes);
    } else {
      st = truncate_to(w.fd_, path, scan->valid_end);
      if (st) st = fsync_fd(w.fd_, path);
    }
    if (!st) return st.error();
  }
  w.written_end_ = w.durable_end_ = scan->valid_end;
  w.next_seq_ = w.written_seq_ = w.durable_seq_ = scan->records;
  w.last_checksum_ = scan->last_checksum;
  w.last_ts_ = scan->last_ts;
  return w;
}

Status LogWriter::check_still_named() const {
  struct stat mine {
  }, named{};
  if (fd_ < 0 || ::fstat(fd_, &mine) != 0) return io_error("cannot stat", fd_ < 0 ? EBADF : errno);
  if (::stat(path_.c_str(), &named) == 0 && same_file(mine, named)) return {};
  return make_file_error(
      ErrorKind::io, path_,
      "was replaced or removed while being appended to, by a program that does not take the "
      "log's lock: the records written went to the file it replaced, not to this one; nothing "
      "is acknowledged");
}

Status LogWriter::failed(Error e) {
  // Roll back whatever part of unacknowledged data reached the file, so the
  // log ends at its last durable record; then refuse further use.
  poisoned_ = true;
  pending_.clear();
  if (fd_ >= 0 && sys_ftruncate(fd_, durable_end_) == 0) (void)sys_fsync(fd_);
  return e;
}

Status LogWriter::append(const InputEvent& e, const Symbols& symbols) {
  if (poisoned_ || fd_ < 0) {
    Error err =
        make_error(ErrorKind::io, "the log writer failed earlier or is closed; nothing more is appended");
    err.file = path_;
    return err;
  }
  Status st = validate_event(e, symbols);
  if (!st) return st;
  if (e.ts_ms < last_ts_)
    return make_error(ErrorKind::input,
                      "goes backwards: " + std::to_string(e.ts_ms) + " before the log's last ts " +
                          std::to_string(last_ts_),
                      "ts");
  if (next_seq_ >= limits::kMaxEvents)
    return make_error(ErrorKind::input, "more than 2^32 events in one log");

  const std::size_t start = pending_.size();
  pending_.append(logfmt::kRecordHeaderBytes, '\0');
  append_record_payload(e, symbols, pending_);
  const std::size_t length = pending_.size() - start - logfmt::kRecordHeaderBytes;
  if (length > logfmt::kMaxRecordPayloadBytes) {
    pending_.resize(start);
    return make_error(ErrorKind::input, "event encodes to more than the 1 MiB record limit");
  }
  auto* h = reinterpret_cast<std::uint8_t*>(pending_.data() + start);
  detail::store_u32(h + logfmt::kLengthOffset, static_cast<std::uint32_t>(length));
  h[logfmt::kTypeOffset] = logfmt::kRecordEvent;
  detail::store_u32(h + logfmt::kSeqOffset, static_cast<std::uint32_t>(next_seq_ & 0xffffffffu));
  detail::store_u32(h + logfmt::kSeqOffset + 4, static_cast<std::uint32_t>(next_seq_ >> 32));
  detail::store_u32(h + logfmt::kPrevOffset, last_checksum_);
  const std::uint32_t checksum = crc32c_mask(
      crc32c(h + logfmt::kLengthOffset, logfmt::kRecordHeaderBytes - logfmt::kLengthOffset + length));
  detail::store_u32(h + logfmt::kCrcOffset, checksum);

  last_checksum_ = checksum;
  last_ts_ = e.ts_ms;
  ++next_seq_;
  if (pending_.size() >= kWriteChunkBytes) return write_pending();
  return {};
}

Status LogWriter::write_pending() {
  if (pending_.empty()) return {};
  Status st = pwrite_all(fd_, path_, pending_.data(), pending_.size(), written_end_);
  if (!st) return failed(st.error());
  written_end_ += static_cast<std::int64_t>(pending_.size());
  written_seq_ = next_seq_;
  pending_.clear();
  return {};
}

Status LogWriter::sync() {
  if (poisoned_ || fd_ < 0) {
    Error err =
        make_error(ErrorKind::io, "the log writer failed earlier or is closed; nothing was acknowledged");
    err.file = path_;
    return err;
  }
  Status st = write_pending();
  if (!st) return st;
  if (durable_end_ == written_end_) return {};
  // After a failed fsync the kernel may have dropped the dirty pages: the
  // data is not known to be anywhere, so the writer gives up (no retry).
  st = fsync_fd(fd_, path_);
  if (!st) return failed(st.error());
  durable_end_ = written_end_;
  durable_seq_ = written_seq_;
  return {};
}

Status LogWriter::close() {
  Status st = sync();
  if (fd_ >= 0 && ::close(fd_) != 0 && st) st = io_error("close failed", errno);
  fd_ = -1;
  return st;
}

// ---- DurableFile ----

DurableFile::DurableFile(DurableFile&& o) noexcept { *this = std::move(o); }

DurableFile& DurableFile::operator=(DurableFile&& o) noexcept {
  if (this == &o) return *this;
  if (fd_ >= 0) ::close(fd_);
  fd_ = o.fd_;
  o.fd_ = -1;
  path_ = std::move(o.path_);
  buf_ = std::move(o.buf_);
  size_ = o.size_;
  return *this;
}

DurableFile::~DurableFile() {
  if (fd_ >= 0) ::close(fd_);
}

Result<DurableFile> DurableFile::create(const std::string& path) {
  DurableFile f;
  f.path_ = path;
  f.fd_ = sys_open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (f.fd_ < 0) return os_error(path, "cannot create", errno);
  return f;
}

Status DurableFile::write(std::string_view bytes) {
  buf_.append(bytes);
  size_ += static_cast<std::int64_t>(bytes.size());
  if (buf_.size() >= kWriteChunkBytes) return flush();
  return {};
}

Status DurableFile::flush() {
  if (fd_ < 0) return os_error(path_, "write failed", EBADF);
  std::int64_t offset = size_ - static_cast<std::int64_t>(buf_.size());
  Status st = pwrite_all(fd_, path_, buf_.data(), buf_.size(), offset);
  buf_.clear();
  return st;
}

Status DurableFile::sync() {
  Status st = flush();
  if (!st) return st;
  return fsync_fd(fd_, path_);
}

Status DurableFile::close() {
  Status st = sync();
  if (fd_ >= 0 && ::close(fd_) != 0 && st) st = os_error(path_, "close failed", errno);
  fd_ = -1;
  return st;
}

// ---- whole-file operations ----

namespace {

// rename(FROM, TO) that fails with EEXIST instead of replacing an existing
// TO. Through the fault seam like sys_rename (counted as a rename).
int rename_noreplace(const char* from, const char* to) {
  if (io_faults::detail::decide(io_faults::Op::rename) == 1) {
    errno = io_faults::detail::state().err;
    return -1;
  }
  if (::renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0) return 0;
  if (errno != EINVAL && errno != ENOSYS && errno != ENOTSUP && errno != EOPNOTSUPP) return -1;
  // A file system without RENAME_NOREPLACE: link(2) refuses an existing name too.
  if (::link(from, to) == 0) {
    (void)::unlink(from);
    return 0;
  }
  if (errno == EEXIST) return -1;
  // Nor hard links (FAT, some FUSE file systems): a plain rename, without that guarantee.
  return ::rename(from, to);
}

// Renames TMP to OUT under the log's lock. HELD_FD is the locked OUT (-1 if
// OUT did not exist when the conversion began); if OUT was created since (an
// append creating the log), it is locked now — refused if its writer still
// holds it — and then replaced. Never replaces a log whose lock another holds.
Status install_locked(const std::string& tmp, const std::string& out, int& held_fd) {
  for (int attempt = 0; attempt < logfmt::kLockAttempts; ++attempt) {
    hook("replacing", out);
    if (held_fd >= 0) {
      if (sys_rename(tmp.c_str(), out.c_str()) != 0)
        return os_error(out, "cannot rename " + tmp + " to it", errno);
      return {};
    }
    if (rename_noreplace(tmp.c_str(), out.c_str()) == 0) return {};
    if (errno != EEXIST) return os_error(out, "cannot rename " + tmp + " to it", errno);
    auto created = open_locked(out, O_RDONLY, /*create=*/false);
    if (!created) return created.error();
    held_fd = created->fd;
  }
  return make_file_error(ErrorKind::io, out, "was created and removed again and again while being replaced");
}

}  // namespace

Result<ConvertSummary> convert_event_log(const std::string& in, const std::string& out_path) {
  // OUT is replaced atomically: never a device or pipe (which a rename would
  // clobber); a symbolic link keeps pointing at the new file.
  auto target = resolve_output(out_path);
  if (!target) return target.error();
  if (target->stream) {
    Error e =
        make_error(ErrorKind::usage,
                   "not a regular file: convert replaces OUT whole (use 'liqsim log cat' to write JSON Lines "
                   "to a pipe or device)");
    e.file = out_path;
    return e;
  }
  const std::string out = target->path;
  // The format is told by the first byte and the file is then read from its
  // start: a pipe would lose that byte (and a FIFO would be waited on).
  struct stat info {};
  if (::stat(in.c_str(), &info) != 0) return os_error(in, "cannot open for reading", errno);
  if (Status st = require_regular_input(in, "input of a conversion"); !st) return st.error();
  if (Status st = check_replaceable(out_path, out); !st) return st.error();
  // The log's lock on an existing OUT, from now until after the rename: an
  // append to OUT in progress refuses the conversion, and no append can
  // start on the file about to be replaced.
  auto held = open_locked(out, O_RDONLY, /*create=*/false);
  if (!held) return held.error();
  struct HeldCloser {
    int& fd;
    ~HeldCloser() {
      if (fd >= 0) ::close(fd);
    }
  } held_closer{held->fd};
  // A temporary name of our own (never a file the user keeps as OUT.tmp, nor
  // the input itself).
  const std::string tmp = temporary_name(out);
  ConvertSummary summary;
  Symbols symbols;
  InputEvent ev;
  auto give_up = [&](Error e) -> Result<ConvertSummary> {
    ::unlink(tmp.c_str());
    return e;
  };
  if (is_binary_log(in)) {
    auto reader = LogReader::open(in, symbols);
    if (!reader) return reader.error();
    auto file = DurableFile::create(tmp);
    if (!file) return file.error();
    std::string line;
    for (;;) {
      auto more = reader->next(ev);
      if (!more) return give_up(more.error());
      if (!*more) break;
      line = encode_event(ev, symbols);
      line.push_back('\n');
      Status st = file->write(line);
      if (!st) return give_up(st.error());
      ++summary.events;
    }
    if (reader->torn()) summary.warning = reader->torn_warning();
    Status st = file->close();
    if (!st) return give_up(st.error());
    summary.bytes_out = file->size();
  } else {
    summary.to_binary = true;
    std::ifstream input(in, std::ios::binary);
    if (!input) {
      Error e = make_error(ErrorKind::io, "cannot open for reading");
      e.file = in;
      return e;
    }
    JsonlEventReader reader(input, in, symbols);
    auto writer = LogWriter::create(tmp);
    if (!writer) return give_up(writer.error());
    for (;;) {
      auto more = reader.next(ev);
      if (!more) return give_up(more.error());
      if (!*more) break;
      Status st = writer->append(ev, symbols);
      if (!st) {
        Error e = st.error();
        e.file = in;
        e.line = reader.line();
        return give_up(e);
      }
      ++summary.events;
    }
    if (input.bad()) {
      Error e = make_error(ErrorKind::io, "read failed");
      e.file = in;
      return give_up(e);
    }
    summary.bytes_out = writer->size();
    Status st = writer->close();
    if (!st) return give_up(st.error());
  }
  {
    struct stat old {};  // a replaced OUT keeps its permission bits
    if (::stat(out.c_str(), &old) == 0 && S_ISREG(old.st_mode))
      (void)::chmod(tmp.c_str(), old.st_mode & 0777);
  }
  if (Status st = install_locked(tmp, out, held->fd); !st) return give_up(st.error());
  Status st = fsync_parent_directory(out);
  if (!st) {
    // OUT is complete and in place; only the durability of its rename is unknown.
    Error e = st.error();
    e.message += " (" + out + " is complete, but its rename may not survive a power loss)";
    return e;
  }
  return summary;
}

Result<RepairSummary> repair_log(const std::string& path) {
  auto locked = open_locked(path, O_RDWR, /*create=*/false);
  if (!locked) return locked.error();
  if (locked->fd < 0) return os_error(path, "cannot open for writing", ENOENT);
  const int fd = locked->fd;
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat info {};
  if (::fstat(fd, &info) != 0) return os_error(path, "cannot stat", errno);
  RepairSummary r;
  r.size_before = info.st_size;
  Status st;
  if (info.st_size == 0) {
    // What a crash right after the log's creation leaves (before its header
    // was written): an empty binary log once it has its header.
    st = write_header(fd, path);
    if (st) st = fsync_parent_directory(path);
    if (!st) return st.error();
    r.was_torn = true;
    r.valid_end = static_cast<std::int64_t>(logfmt::kFileHeaderBytes);
    return r;
  }
  if (!detail::is_binary_fd(fd)) {
    Error e = make_error(ErrorKind::input, "not a binary event log (repair works on binary logs only)");
    e.file = path;
    return e;
  }
  auto scan = scan_log_descriptor(fd, path);
  if (!scan) return scan.error();
  r.records = scan->records;
  r.valid_end = scan->valid_end;
  if (!scan->torn) return r;
  r.was_torn = true;
  r.bytes_cut = scan->file_size - scan->valid_end;
  if (scan->valid_end < static_cast<std::int64_t>(logfmt::kFileHeaderBytes)) {
    st = write_header(fd, path);
    r.valid_end = static_cast<std::int64_t>(logfmt::kFileHeaderBytes);
  } else {
    st = truncate_to(fd, path, scan->valid_end);
    if (st) st = fsync_fd(fd, path);
  }
  if (!st) return st.error();
  return r;
}

}  // namespace liqsim
