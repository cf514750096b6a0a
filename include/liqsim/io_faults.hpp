// io_faults.hpp — an injectable seam for the system calls of the I/O adapters.
//
// The log writer (src/log/writer.cpp) and the output files
// (src/io/output_file.cpp) call open, pwrite/write, fsync, ftruncate and
// rename through these shims. They are compiled in always and are inert —
// one relaxed atomic load, then the real call — until a test arms them:
//
//   io_faults::arm(io_faults::Op::fsync, 3, EIO);   // the 3rd fsync from now fails with EIO
//   io_faults::arm(io_faults::Op::write, 1, ENOSPC, /*short_bytes=*/7, /*sticky=*/true);
//     // the 1st pwrite writes 7 bytes and returns 7, every later one fails with ENOSPC
//   ...
//   io_faults::disarm();
//
// Only the I/O adapters use the seam; the engine and the core never do
// (the engine is pure). tests/test_faults.cpp drives it.
#pragma once

#include <fcntl.h>
#include <stdio.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdint>

namespace liqsim::io_faults {

enum class Op : std::uint8_t { open, write, fsync, truncate, rename };
inline constexpr int kOps = 5;

namespace detail {
struct State {
  std::atomic<bool> armed{false};
  Op op = Op::open;
  std::uint64_t nth = 0;        // 1-based call number that fails
  int err = 0;                  // errno of the failure
  std::size_t short_bytes = 0;  // write: a short write of this many bytes instead of an error
  bool sticky = false;          // every call after the nth fails too (with err)
  std::atomic<std::uint64_t> calls[kOps] = {};
  std::atomic<std::uint64_t> injected{0};
};
inline State& state() {
  static State s;
  return s;
}
// 0: no fault; 1: fail with errno; 2: short write.
inline int decide(Op op) {
  State& s = state();
  if (!s.armed.load(std::memory_order_relaxed)) return 0;
  const std::uint64_t n = ++s.calls[static_cast<int>(op)];
  if (op != s.op) return 0;
  if (n == s.nth) {
    ++s.injected;
    return op == Op::write && s.short_bytes > 0 ? 2 : 1;
  }
  if (s.sticky && n > s.nth) {
    ++s.injected;
    return 1;
  }
  return 0;
}
}  // namespace detail

// Arms one fault: the nth call (1-based, counted from now) of `op` fails with
// `err` (or, for a write with short_bytes > 0, writes only that many bytes);
// with `sticky`, every later call of `op` fails with `err` too.
inline void arm(Op op, std::uint64_t nth, int err, std::size_t short_bytes = 0, bool sticky = false) {
  detail::State& s = detail::state();
  s.armed.store(false);
  s.op = op;
  s.nth = nth;
  s.err = err;
  s.short_bytes = short_bytes;
  s.sticky = sticky;
  for (auto& c : s.calls) c.store(0);
  s.injected.store(0);
  s.armed.store(true);
}
inline void disarm() { detail::state().armed.store(false); }
// Calls of `op` since arm(); faults injected since arm().
inline std::uint64_t calls(Op op) { return detail::state().calls[static_cast<int>(op)].load(); }
inline std::uint64_t injected() { return detail::state().injected.load(); }

// ---- the shims ----

inline int sys_open(const char* path, int flags, mode_t mode = 0) {
  if (detail::decide(Op::open) == 1) {
    errno = detail::state().err;
    return -1;
  }
  return ::open(path, flags, mode);
}

inline ssize_t sys_pwrite(int fd, const void* buf, std::size_t n, off_t offset) {
  switch (detail::decide(Op::write)) {
    case 1:
      errno = detail::state().err;
      return -1;
    case 2:
      return ::pwrite(fd, buf, std::min(n, detail::state().short_bytes), offset);
    default:
      return ::pwrite(fd, buf, n, offset);
  }
}

// write(2) for outputs streamed into a pipe or device (no offset); counted as Op::write.
inline ssize_t sys_write(int fd, const void* buf, std::size_t n) {
  switch (detail::decide(Op::write)) {
    case 1:
      errno = detail::state().err;
      return -1;
    case 2:
      return ::write(fd, buf, std::min(n, detail::state().short_bytes));
    default:
      return ::write(fd, buf, n);
  }
}

inline int sys_fsync(int fd) {
  if (detail::decide(Op::fsync) == 1) {
    errno = detail::state().err;
    return -1;
  }
  return ::fsync(fd);
}

inline int sys_ftruncate(int fd, off_t size) {
  if (detail::decide(Op::truncate) == 1) {
    errno = detail::state().err;
    return -1;
  }
  return ::ftruncate(fd, size);
}

inline int sys_rename(const char* from, const char* to) {
  if (detail::decide(Op::rename) == 1) {
    errno = detail::state().err;
    return -1;
  }
  return ::rename(from, to);
}

}  // namespace liqsim::io_faults
