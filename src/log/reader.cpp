// Reading the binary log: file header, record framing, checksums, seq and
// chain, torn-tail detection (events/FORMAT.md, "Reading").
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>

#include "liqsim/log.hpp"

namespace liqsim {

namespace {

constexpr std::size_t kReadBufferBytes = std::size_t{4} << 20;

Error io_error(const std::string& path, const std::string& what, int err) {
  return make_os_error(path, what, err);
}

}  // namespace

std::string detail::file_header() {
  std::string h(logfmt::kMagic.begin(), logfmt::kMagic.end());
  detail::put_u32(h, logfmt::kFormatVersion);
  detail::put_u32(h, crc32c_mask(crc32c(h.data(), h.size())));
  return h;
}

// Binary when the first byte is the magic's (0x89 never starts JSON), or when
// only that byte is damaged and the rest of the magic is there: a binary log
// with a bad header is reported as corrupt (exit 3), not as bad JSON.
bool detail::is_binary_fd(int fd) {
  unsigned char head[logfmt::kMagic.size()] = {};
  std::size_t got = 0;
  while (got < sizeof head) {
    ssize_t n = ::pread(fd, head + got, sizeof head - got, static_cast<off_t>(got));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  if (got >= 1 && head[0] == logfmt::kMagic[0]) return true;
  return got == sizeof head && std::equal(head + 1, head + sizeof head, logfmt::kMagic.begin() + 1);
}

bool is_binary_log(const std::string& path) {
  // O_NONBLOCK: a FIFO put in a file's place is not waited on (its read
  // then finds nothing, and the callers refuse what is not a regular file).
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return false;
  const bool binary = detail::is_binary_fd(fd);
  ::close(fd);
  return binary;
}

// ---- LogReader ----

LogReader::LogReader(LogReader&& o) noexcept { *this = std::move(o); }

LogReader& LogReader::operator=(LogReader&& o) noexcept {
  if (this == &o) return *this;
  close_fd();
  fd_ = o.fd_;
  o.fd_ = -1;
  path_ = std::move(o.path_);
  symbols_ = o.symbols_;
  names_ = std::move(o.names_);
  buf_ = std::move(o.buf_);
  begin_ = o.begin_;
  end_ = o.end_;
  eof_ = o.eof_;
  buf_file_offset_ = o.buf_file_offset_;
  file_size_ = o.file_size_;
  valid_end_ = o.valid_end_;
  next_seq_ = o.next_seq_;
  last_checksum_ = o.last_checksum_;
  first_ts_ = o.first_ts_;
  last_ts_ = o.last_ts_;
  hash_ = o.hash_;
  hash_from_ = o.hash_from_;
  done_ = o.done_;
  torn_ = o.torn_;
  torn_reason_ = o.torn_reason_;
  error_ = std::move(o.error_);
  return *this;
}

LogReader::~LogReader() { close_fd(); }

void LogReader::close_fd() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

namespace {

// A regular file, or an Error naming PATH (never waits on a FIFO: FD is open).
Status require_regular_fd(int fd, const std::string& path) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return io_error(path, "cannot stat", errno);
  if (S_ISREG(st.st_mode)) return {};
  return make_file_error(ErrorKind::usage, path,
                         S_ISFIFO(st.st_mode)
                             ? "is a named pipe, not a regular file: an event log is read from a file"
                         : S_ISDIR(st.st_mode) ? "is a directory, not an event log"
                                               : "is not a regular file: an event log is read from a file");
}

}  // namespace

Result<LogReader> LogReader::open(const std::string& path, Symbols& symbols) {
  // O_NONBLOCK so that a FIFO is refused, not waited on; it changes nothing
  // for a regular file.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return io_error(path, "cannot open for reading", errno);
  if (int fl = ::fcntl(fd, F_GETFL); fl >= 0) (void)::fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
  auto r = open_descriptor(fd, path, symbols);
  ::close(fd);
  return r;
}

Result<LogReader> LogReader::open_descriptor(int fd, const std::string& path, Symbols& symbols) {
  LogReader r;
  r.path_ = path;
  r.symbols_ = &symbols;
  r.fd_ = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (r.fd_ < 0) return io_error(path, "cannot open for reading", errno);
  if (Status st = require_regular_fd(r.fd_, path); !st) return st.error();
  struct stat st {};
  if (::fstat(r.fd_, &st) != 0) return io_error(path, "cannot stat", errno);
  r.file_size_ = st.st_size;
  std::size_t cap = static_cast<std::size_t>(st.st_size) + 1;
  if (cap < 4096) cap = 4096;
  if (cap > kReadBufferBytes) cap = kReadBufferBytes;
  r.buf_.resize(cap);
  Status header = r.read_header();
  if (!header) return header.error();
  return r;
}

// Reads and checks the file header at offset 0. A file shorter than a header
// that holds a prefix of a valid one ends the reader as torn (an empty log).
Status LogReader::read_header() {
  begin_ = end_ = 0;
  buf_file_offset_ = 0;
  valid_end_ = 0;
  auto got = fill(logfmt::kFileHeaderBytes);
  if (!got) return got.error();
  const std::string expected = detail::file_header();
  std::size_t have = end_ - begin_;
  if (!*got) {
    // Shorter than a header: a crash while the log was being created leaves a
    // prefix of the header, which is an empty log with a torn tail.
    if (std::memcmp(buf_.data(), expected.data(), have) == 0) {
      torn_ = true;
      done_ = true;
      torn_reason_ = "the file ends inside its header";
      return {};
    }
    return corrupt(0, "file header cut short (" + std::to_string(have) + " of " +
                          std::to_string(logfmt::kFileHeaderBytes) +
                          " bytes) and not a prefix of a valid one");
  }
  const std::uint8_t* h = buf_.data();
  if (std::memcmp(h, logfmt::kMagic.data(), logfmt::kMagic.size()) != 0)
    return corrupt(0, "bad magic: not a liqsim binary event log");
  if (crc32c_mask(crc32c(h, 12)) != detail::load_u32(h + 12))
    return corrupt(0, "file header checksum mismatch");
  std::uint32_t version = detail::load_u32(h + 8);
  if (version != logfmt::kFormatVersion) {
    Error e = make_error(ErrorKind::input, "unsupported log format version " + std::to_string(version) +
                                               " (this build reads version " +
                                               std::to_string(logfmt::kFormatVersion) + ")");
    e.file = path_;
    e.offset = 8;
    return e;
  }
  // Read again after a torn header (reread_tail) with a hash set: the header
  // is now valid and hashed like the records after it.
  if (hash_) hash_->update(h, logfmt::kFileHeaderBytes);
  begin_ += logfmt::kFileHeaderBytes;
  hash_from_ = begin_;
  valid_end_ = static_cast<std::int64_t>(logfmt::kFileHeaderBytes);
  return {};
}

Result<bool> LogReader::fill(std::size_t n) {
  if (end_ - begin_ >= n) return true;
  flush_hash();
  hash_from_ = 0;
  if (begin_ > 0) {
    std::memmove(buf_.data(), buf_.data() + begin_, end_ - begin_);
    buf_file_offset_ += static_cast<std::int64_t>(begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  if (n > buf_.size()) buf_.resize(n);
  while (end_ < n && !eof_) {
    // pread at the buffer's own offset: the descriptor may be shared with a
    // writer (open_descriptor), whose file offset is not ours.
    ssize_t r = ::pread(fd_, buf_.data() + end_, buf_.size() - end_,
                        buf_file_offset_ + static_cast<std::int64_t>(end_));
    if (r < 0) {
      if (errno == EINTR) continue;
      return io_error(path_, "read failed", errno);
    }
    if (r == 0) {
      eof_ = true;
      file_size_ = buf_file_offset_ + static_cast<std::int64_t>(end_);
      break;
    }
    end_ += static_cast<std::size_t>(r);
  }
  return end_ - begin_ >= n;
}

bool LogReader::has_byte_at(std::int64_t pos) const {
  std::uint8_t b = 0;
  for (;;) {
    ssize_t r = ::pread(fd_, &b, 1, pos);
    if (r < 0 && errno == EINTR) continue;
    return r == 1;
  }
}

bool LogReader::zero_to_eof(std::int64_t from) const {
  std::uint8_t block[65536];
  std::int64_t pos = from;
  for (;;) {
    ssize_t r = ::pread(fd_, block, sizeof block, pos);
    if (r < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    if (r == 0) return true;
    for (ssize_t i = 0; i < r; ++i)
      if (block[i] != 0) return false;
    pos += r;
  }
}

// Offset of the first byte of the run of zeros that ends the file (the file
// size if its last byte is not zero). Reads backwards from the end.
std::int64_t LogReader::trailing_zeros_start() const {
  struct stat info {};
  if (::fstat(fd_, &info) != 0) return -1;
  std::int64_t end = info.st_size;
  std::uint8_t block[65536];
  while (end > 0) {
    std::int64_t from = std::max<std::int64_t>(0, end - static_cast<std::int64_t>(sizeof block));
    ssize_t r = ::pread(fd_, block, static_cast<std::size_t>(end - from), from);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return -1;
    for (ssize_t i = r; i > 0; --i)
      if (block[i - 1] != 0) return from + i;
    end = from;
  }
  return 0;
}

// A torn write that reached the disk up to a sector boundary: the record at
// `offset` holds real bytes up to a 512-byte boundary Z of the file and the
// file is zero from Z to its end (the later sectors were allocated but never
// written). Only if every header field before Z is the one this position
// expects (type, seq, prev; a length within the limit that reaches past Z),
// so a change inside data that was once complete stays corruption.
bool LogReader::torn_at_sector(std::int64_t offset, const std::uint8_t* h, std::int64_t complete_end) const {
  constexpr std::int64_t kSector = 512;
  struct stat info {};
  if (::fstat(fd_, &info) != 0) return false;
  const std::int64_t zeros_from = trailing_zeros_start();
  if (zeros_from < 0 || zeros_from >= info.st_size) return false;  // the file does not end in zeros
  // The first sector boundary inside the zero run and past the record's start
  // (real bytes may themselves end in zeros before it).
  const std::int64_t lowest = std::max(zeros_from, offset + 1);
  const std::int64_t z = (lowest + kSector - 1) / kSector * kSector;
  if (z > info.st_size) return false;
  // A record that is whole in the file and fails its checksum, with zeros
  // from a boundary to its own end and nothing after, is ambiguous: records
  // often end in zero bytes of their own (the high bytes of an amount), and
  // damage before them must stay corruption. So the zeros must go on past
  // the record's end.
  if (complete_end >= 0 && info.st_size <= complete_end) return false;
  const std::size_t real = static_cast<std::size_t>(z - offset);
  std::uint8_t expect[logfmt::kRecordHeaderBytes] = {};
  expect[logfmt::kTypeOffset] = logfmt::kRecordEvent;
  detail::store_u32(expect + logfmt::kSeqOffset, static_cast<std::uint32_t>(next_seq_ & 0xffffffffu));
  detail::store_u32(expect + logfmt::kSeqOffset + 4, static_cast<std::uint32_t>(next_seq_ >> 32));
  detail::store_u32(expect + logfmt::kPrevOffset, last_checksum_);
  for (std::size_t i = logfmt::kTypeOffset; i < std::min(real, logfmt::kRecordHeaderBytes); ++i)
    if (h[i] != expect[i]) return false;
  if (real >= logfmt::kLengthOffset + 4) {
    const std::uint32_t length = detail::load_u32(h + logfmt::kLengthOffset);
    if (length > logfmt::kMaxRecordPayloadBytes) return false;
    if (real >= logfmt::kRecordHeaderBytes + length) return false;  // complete: not torn
  }
  return true;
}

// Within the buffered bytes of the record at begin_ (all of them, to the end
// of the file), the distance to a complete record that continues the chain
// from it: type 1, seq one more, prev = this record's checksum, a valid
// checksum. -1 if there is none.
std::int64_t LogReader::chained_record_inside(std::uint32_t checksum) const {
  const std::uint8_t* base = buf_.data() + begin_;
  const std::size_t n = end_ - begin_;
  for (std::size_t p = logfmt::kRecordHeaderBytes; p + logfmt::kRecordHeaderBytes <= n; ++p) {
    const std::uint8_t* h = base + p;
    if (h[logfmt::kTypeOffset] != logfmt::kRecordEvent) continue;
    if (detail::load_u32(h + logfmt::kPrevOffset) != checksum) continue;
    if (detail::load_u64(h + logfmt::kSeqOffset) != next_seq_ + 1) continue;
    const std::uint32_t length = detail::load_u32(h + logfmt::kLengthOffset);
    if (length > logfmt::kMaxRecordPayloadBytes || p + logfmt::kRecordHeaderBytes + length > n) continue;
    const std::size_t total = logfmt::kRecordHeaderBytes + length;
    if (crc32c_mask(crc32c(h + logfmt::kLengthOffset, total - logfmt::kLengthOffset)) ==
        detail::load_u32(h + logfmt::kCrcOffset))
      return static_cast<std::int64_t>(p);
  }
  return -1;
}

Error LogReader::corrupt(std::int64_t offset, std::string message, std::string field) const {
  Error e = make_error(ErrorKind::corrupt, std::move(message), std::move(field));
  e.file = path_;
  e.offset = offset;
  e.seq = static_cast<std::int64_t>(next_seq_);
  return e;
}

Result<bool> LogReader::fail(Error e) {
  error_ = e;
  done_ = true;
  return e;
}

Result<bool> LogReader::end_torn(const char* reason) {
  torn_ = true;
  done_ = true;
  torn_reason_ = reason;
  return false;
}

// A name seen lately is its slot's; any other goes to Symbols::intern, which
// looks a known name up by its view, without allocating, and gives a new one
// the next id (first-seen order, as without the slots).
Sym LogReader::intern_symbol(void* self, std::string_view name) {
  auto* r = static_cast<LogReader*>(self);
  if (name.empty()) return r->symbols_->intern(name);
  const std::size_t key = (name.size() * 31 + static_cast<unsigned char>(name.front()) * 7 +
                           static_cast<unsigned char>(name.back())) %
                          kNameSlots;
  NameSlot& slot = r->names_[key];
  if (slot.sym != kNoSym && slot.name.size() == name.size() &&
      std::memcmp(slot.name.data(), name.data(), name.size()) == 0)
    return slot.sym;
  const Sym s = r->symbols_->intern(name);
  slot.name.assign(name);  // reuses the slot's storage
  slot.sym = s;
  return s;
}

// The accepted records not yet hashed are buf_[hash_from_, begin_): hashed in
// one piece before the buffer moves and when reading stops, not record by
// record.
void LogReader::flush_hash() {
  if (hash_ && begin_ > hash_from_) hash_->update(buf_.data() + hash_from_, begin_ - hash_from_);
  hash_from_ = begin_;
}

void LogReader::accept(std::size_t total, std::uint32_t checksum, std::int64_t ts) {
  if (next_seq_ == 0) first_ts_ = ts;
  last_ts_ = ts;
  last_checksum_ = checksum;
  ++next_seq_;
  begin_ += total;  // hashed later, with the records next to it (flush_hash)
  valid_end_ += static_cast<std::int64_t>(total);
}

bool LogReader::next_whole(InputEvent& out) {
  if (end_ - begin_ < logfmt::kRecordHeaderBytes) return false;
  const std::uint8_t* h = buf_.data() + begin_;
  const std::uint32_t length = detail::load_u32(h + logfmt::kLengthOffset);
  const std::size_t total = logfmt::kRecordHeaderBytes + length;
  if (length > logfmt::kMaxRecordPayloadBytes || end_ - begin_ < total) return false;
  if (h[logfmt::kTypeOffset] != logfmt::kRecordEvent ||
      detail::load_u64(h + logfmt::kSeqOffset) != next_seq_ ||
      detail::load_u32(h + logfmt::kPrevOffset) != last_checksum_ || next_seq_ >= limits::kMaxEvents)
    return false;
  const std::uint32_t stored_crc = detail::load_u32(h + logfmt::kCrcOffset);
  if (crc32c_mask(crc32c(h + logfmt::kLengthOffset, total - logfmt::kLengthOffset)) != stored_crc)
    return false;
  const std::uint8_t* p = h + logfmt::kRecordHeaderBytes;
  std::string_view payload(reinterpret_cast<const char*>(p), length);
  // The commonest record, a price tick (ts i64 | code 1 | name u16 + bytes |
  // price i64), decoded here under the payload decoder's rules: ts in range,
  // a name of 1..256 bytes (ASCII here, so valid UTF-8), a positive price.
  // Any other record, or one that breaks a rule, goes to the payload decoder.
  constexpr std::size_t kPriceFixedBytes = 8 + 1 + 2 + 8;
  static_assert(static_cast<std::uint8_t>(logfmt::EventCode::price) == 1);
  bool decoded = false;
  if (length > kPriceFixedBytes && p[8] == 1) {
    const auto ts = static_cast<std::int64_t>(detail::load_u64(p));
    const std::size_t n = detail::load_u16(p + 9);
    if (length == kPriceFixedBytes + n && n <= limits::kMaxNameBytes && ts >= logfmt::kMinTsMs &&
        ts <= logfmt::kMaxTsMs) {
      const auto price = static_cast<std::int64_t>(detail::load_u64(p + 11 + n));
      unsigned char high = 0;
      for (std::size_t i = 0; i < n; ++i) high |= p[11 + i];
      if (price > 0 && high < 0x80) {
        const Sym asset = intern_symbol(this, std::string_view(reinterpret_cast<const char*>(p + 11), n));
        out.ts_ms = ts;
        if (auto* pe = std::get_if<PriceEvent>(&out.body)) {
          pe->asset = asset;
          pe->price = Price::from_raw(price);
        } else {
          out.body = PriceEvent{asset, Price::from_raw(price)};
        }
        decoded = true;
      }
    }
  }
  if (!decoded && !detail::decode_record_payload_with(payload, &LogReader::intern_symbol, this, out).ok())
    return false;
  if (out.ts_ms < last_ts_) return false;
  accept(total, stored_crc, out.ts_ms);
  return true;
}

Result<bool> LogReader::next(InputEvent& out) {
  if (!error_ && !done_ && next_whole(out)) return true;
  Result<bool> r = next_record(out);
  if (hash_ && (!r || !*r)) flush_hash();
  return r;
}

Result<bool> LogReader::next_record(InputEvent& out) {
  if (error_) return *error_;
  if (done_) return false;
  const std::int64_t offset = valid_end_;
  Result<bool> got = true;
  if (end_ - begin_ < logfmt::kRecordHeaderBytes) got = fill(logfmt::kRecordHeaderBytes);
  if (!got) return fail(got.error());
  if (!*got) {
    if (end_ == begin_) {
      done_ = true;
      return false;
    }
    return end_torn("the file ends inside a record header");
  }
  const std::uint8_t* h = buf_.data() + begin_;
  const std::uint32_t stored_crc = detail::load_u32(h + logfmt::kCrcOffset);
  const std::uint32_t length = detail::load_u32(h + logfmt::kLengthOffset);
  const std::uint8_t type = h[logfmt::kTypeOffset];
  const std::uint64_t seq = detail::load_u64(h + logfmt::kSeqOffset);
  const std::uint32_t prev = detail::load_u32(h + logfmt::kPrevOffset);
  const char* zero_tail = "the file ends in zero bytes (space allocated but never written)";

  auto header_fields_ok = [&]() -> std::optional<Error> {
    if (type != logfmt::kRecordEvent)
      return corrupt(offset, "unknown record type " + std::to_string(type) + " (expected " +
                                 std::to_string(logfmt::kRecordEvent) + ")");
    if (seq != next_seq_)
      return corrupt(offset, "seq gap: the record says seq " + std::to_string(seq) + ", expected " +
                                 std::to_string(next_seq_));
    if (prev != last_checksum_)
      return corrupt(offset, "broken chain: the record links to checksum " + std::to_string(prev) +
                                 " but the previous record's checksum is " + std::to_string(last_checksum_));
    return std::nullopt;
  };

  const char* sector_tail =
      "the last record was written only up to a 512-byte sector boundary; the file continues in zero bytes";
  if (length > logfmt::kMaxRecordPayloadBytes) {
    if (zero_to_eof(offset)) return end_torn(zero_tail);
    if (torn_at_sector(offset, h, -1)) return end_torn(sector_tail);
    return fail(corrupt(offset, "record length " + std::to_string(length) + " exceeds the 1 MiB limit"));
  }
  const std::size_t total = logfmt::kRecordHeaderBytes + length;
  if (end_ - begin_ < total) got = fill(total);
  if (!got) return fail(got.error());
  if (!*got) {
    if (zero_to_eof(offset)) return end_torn(zero_tail);
    // A torn append writes a prefix of a correct record: if the whole header
    // is there, its fields must be the ones this position expects.
    if (auto e = header_fields_ok()) {
      if (torn_at_sector(offset, buf_.data() + begin_, -1)) return end_torn(sector_tail);
      return fail(*e);
    }
    // A torn append is the end of the file. A record that claims to run past
    // the end while the next record of the chain sits whole inside it has a
    // damaged length field: corruption, not a torn tail (else every record
    // after it would be dropped with only a warning).
    if (std::int64_t next = chained_record_inside(stored_crc); next >= 0)
      return fail(
          corrupt(offset, "record length " + std::to_string(length) +
                              " runs past the end of the file, but the next record of the chain (seq " +
                              std::to_string(next_seq_ + 1) + ") starts whole inside it at byte offset " +
                              std::to_string(offset + next) + ": the length field is damaged"));
    return end_torn("the file ends inside a record's payload");
  }
  h = buf_.data() + begin_;
  if (crc32c_mask(crc32c(h + logfmt::kLengthOffset, total - logfmt::kLengthOffset)) != stored_crc) {
    if (zero_to_eof(offset)) return end_torn(zero_tail);
    // A file system that extends the file before writing its last pages (XFS,
    // ext4 data=writeback) can leave, after a power cut, a record whose end is
    // zeros followed by more zeros. The header is the expected one, the
    // record's last byte is zero and at least one zero byte follows it: a torn
    // write, not a change to data that was once complete.
    // Neither applies when the next record of the chain lies whole inside
    // this one: then its length field was damaged (the file's own last
    // bytes can be zeros).
    const std::int64_t after = offset + static_cast<std::int64_t>(total);
    const bool covers_next = chained_record_inside(stored_crc) >= 0;
    if (!covers_next && !header_fields_ok() && h[total - 1] == 0 && has_byte_at(after) && zero_to_eof(after))
      return end_torn("the last record was cut short and the file continues in zero bytes");
    if (!covers_next && torn_at_sector(offset, h, after)) return end_torn(sector_tail);
    return fail(corrupt(offset, "record checksum mismatch"));
  }
  if (type != logfmt::kRecordEvent || seq != next_seq_ || prev != last_checksum_)
    return fail(*header_fields_ok());
  if (next_seq_ >= limits::kMaxEvents) return fail(corrupt(offset, "more than 2^32 records in one log"));

  std::string_view payload(reinterpret_cast<const char*>(h + logfmt::kRecordHeaderBytes), length);
  Status st = detail::decode_record_payload_with(payload, &LogReader::intern_symbol, this, out);
  if (!st) {
    Error e = st.error();
    e.file = path_;
    e.offset = offset;
    e.seq = static_cast<std::int64_t>(next_seq_);
    e.message = "bad payload: " + e.message;
    return fail(e);
  }
  if (out.ts_ms < last_ts_)
    return fail(corrupt(
        offset, "goes backwards: " + std::to_string(out.ts_ms) + " after " + std::to_string(last_ts_), "ts"));
  accept(total, stored_crc, out.ts_ms);
  return true;
}

void LogReader::hash_into(Sha256* hash) {
  flush_hash();
  hash_ = hash;
  hash_from_ = begin_;
  // The header was checked byte for byte against the one this format writes.
  if (hash_ && valid_end_ >= static_cast<std::int64_t>(logfmt::kFileHeaderBytes)) {
    const std::string header = detail::file_header();
    hash_->update(header.data(), header.size());
  }
}

std::string LogReader::torn_warning() const {
  if (!torn_) return {};
  Error e = torn_error();
  return e.describe();
}

Error LogReader::torn_error() const {
  Error e = make_error(
      ErrorKind::corrupt,
      std::string("torn tail: ") + torn_reason_ + "; " + std::to_string(torn_bytes()) +
          " bytes after the last valid record are not part of the log ('liqsim log repair' cuts them)");
  e.file = path_;
  e.offset = valid_end_;
  e.seq = static_cast<std::int64_t>(next_seq_);
  return e;
}

Result<bool> LogReader::try_lock_shared() {
  for (;;) {
    if (::flock(fd_, LOCK_SH | LOCK_NB) == 0) return true;
    if (errno == EINTR) continue;
    if (errno == EWOULDBLOCK) return false;
    return io_error(path_, "cannot lock", errno);
  }
}

void LogReader::unlock() {
  if (fd_ >= 0) (void)::flock(fd_, LOCK_UN);
}

bool LogReader::names_same_file(const std::string& path) const {
  struct stat mine {
  }, named{};
  if (::fstat(fd_, &mine) != 0 || ::stat(path.c_str(), &named) != 0) return false;
  return mine.st_dev == named.st_dev && mine.st_ino == named.st_ino;
}

Status LogReader::reread_tail() {
  done_ = false;
  torn_ = false;
  torn_reason_ = "";
  error_.reset();
  eof_ = false;
  struct stat st {};
  if (::fstat(fd_, &st) != 0) return io_error(path_, "cannot stat", errno);
  file_size_ = st.st_size;
  if (valid_end_ < static_cast<std::int64_t>(logfmt::kFileHeaderBytes)) return read_header();
  // Drop what is buffered from the tail on; the valid records before it stay read.
  flush_hash();
  buf_file_offset_ = valid_end_;
  begin_ = end_ = hash_from_ = 0;
  return {};
}

namespace {

LogScan scan_of(const LogReader& reader) {
  LogScan s;
  s.records = reader.records();
  s.first_ts = reader.first_ts();
  s.last_ts = reader.last_ts();
  s.valid_end = reader.valid_end();
  s.file_size = reader.file_size();
  s.last_checksum = reader.last_checksum();
  s.torn = reader.torn();
  if (s.torn) {
    s.warning = reader.torn_warning();
    s.torn_error = reader.torn_error();
  }
  return s;
}

Status read_to_end(LogReader& reader) {
  InputEvent ev;
  for (;;) {
    auto more = reader.next(ev);
    if (!more) return more.error();
    if (!*more) return {};
  }
}

Result<LogScan> scan_reader(Result<LogReader> reader) {
  if (!reader) return reader.error();
  if (Status st = read_to_end(*reader); !st) return st.error();
  return scan_of(*reader);
}

}  // namespace

Result<LogScan> scan_log(const std::string& path) {
  Symbols symbols;
  return scan_reader(LogReader::open(path, symbols));
}

Result<LogScan> scan_log_descriptor(int fd, const std::string& path) {
  Symbols symbols;
  return scan_reader(LogReader::open_descriptor(fd, path, symbols));
}

Result<LogScan> verify_log(const std::string& path) {
  for (int attempt = 0; attempt < logfmt::kLockAttempts; ++attempt) {
    Symbols symbols;
    auto reader = LogReader::open(path, symbols);
    if (!reader) return reader.error();
    if (Status st = read_to_end(*reader); !st) return st.error();
    if (!reader->torn()) return scan_of(*reader);
    // A torn tail: being written by a writer that holds the lock, or left by
    // a crash (or an append that has finished since it was read).
    if (detail::lock_hook != nullptr) detail::lock_hook("torn tail", path);
    auto no_writer = reader->try_lock_shared();
    if (!no_writer) return no_writer.error();
    if (!reader->names_same_file(path)) continue;  // replaced meanwhile: verify the file named now
    if (!*no_writer) {
      LogScan s = scan_of(*reader);
      s.writer_appending = true;
      return s;
    }
    // No writer now, and none can start while the shared lock is held: what
    // follows the last valid record is what a crash left, or records an
    // append completed after the first read. Read it again.
    Status st = reader->reread_tail();
    if (st) st = read_to_end(*reader);
    reader->unlock();
    if (!st) return st.error();
    return scan_of(*reader);
  }
  return make_file_error(ErrorKind::io, path, "was replaced again and again while being verified");
}

namespace {
constexpr off_t kBackgroundHashBytes = off_t{4} << 20;
}  // namespace

Result<EventFileReader> EventFileReader::open(const std::string& path, Symbols& symbols) {
  // The log is read more than once (its format sniffed, then decoded): a
  // pipe would be consumed by the first read.
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) return io_error(path, "cannot open for reading", errno);
  if (S_ISDIR(info.st_mode))
    return make_file_error(ErrorKind::usage, path, "is a directory, not an event log");
  if (!S_ISREG(info.st_mode))
    return make_file_error(
        ErrorKind::usage, path,
        "not a regular file: an event log is read more than once, so save a stream to a file "
        "first");
  EventFileReader r;
  r.path_ = path;
  r.hash_ = std::make_unique<Sha256>();
  // A large log is hashed on a thread of its own, beside the decoding (the
  // bytes are the same, in the same order: so is the digest).
  if (info.st_size >= kBackgroundHashBytes) r.hash_->run_in_background();
  if (is_binary_log(path)) {
    auto reader = LogReader::open(path, symbols);
    if (!reader) return reader.error();
    r.binary_ = std::make_unique<LogReader>(std::move(*reader));
    r.binary_->hash_into(r.hash_.get());
  } else {
    auto reader = JsonlFileReader::open(path, symbols);
    if (!reader) return reader.error();
    r.jsonl_ = std::make_unique<JsonlFileReader>(std::move(*reader));
    r.jsonl_->hash_into(r.hash_.get());
  }
  return r;
}

EventFileReader::EventFileReader(EventFileReader&&) noexcept = default;
EventFileReader& EventFileReader::operator=(EventFileReader&&) noexcept = default;
EventFileReader::~EventFileReader() = default;

Result<bool> EventFileReader::next(InputEvent& out) {
  return binary_ ? binary_->next(out) : jsonl_->next(out);
}

std::string EventFileReader::sha256_hex() { return hash_->hex(); }

std::string EventFileReader::warning() const {
  return binary_ && binary_->torn() ? binary_->torn_warning() : "";
}

std::int64_t EventFileReader::line() const { return binary_ ? 0 : jsonl_->line(); }

std::int64_t EventFileReader::bytes_read() const {
  return binary_ ? binary_->valid_end() : jsonl_->bytes_read();
}

std::int64_t EventFileReader::file_size() const {
  return binary_ ? binary_->file_size() : jsonl_->file_size();
}

Result<std::vector<InputEvent>> read_event_log(const std::string& path, Symbols& symbols,
                                               std::string* warning, std::string* sha256_hex) {
  if (warning) warning->clear();
  auto reader = EventFileReader::open(path, symbols);
  if (!reader) return reader.error();
  std::vector<InputEvent> events;
  if (reader->binary()) {
    // No valid record is shorter than 40 bytes (a param naming one-byte path
    // and value: header 21, ts 8, code 1, two u32 lengths and their bytes), so
    // this many events is an upper bound: the vector is never moved as it
    // grows, and the pages reserved past the last event are never touched.
    constexpr std::int64_t kMinRecordBytes = 40;
    const std::int64_t records_bound =
        std::max<std::int64_t>(0, reader->file_size() - static_cast<std::int64_t>(logfmt::kFileHeaderBytes)) /
        kMinRecordBytes;
    events.reserve(static_cast<std::size_t>(
        std::min<std::int64_t>(records_bound, static_cast<std::int64_t>(limits::kMaxEvents))));
  }
  InputEvent ev;
  for (;;) {
    auto more = reader->next(ev);
    if (!more) return more.error();
    if (!*more) break;
    events.push_back(std::move(ev));
  }
  if (warning) *warning = reader->warning();
  if (sha256_hex) *sha256_hex = reader->sha256_hex();
  return events;
}

}  // namespace liqsim
