// log.hpp — the binary append-only event log.
//
// Owns the on-disk format of events/FORMAT.md (the constants below are the
// only place its numbers live), the CRC32C it is checked with, a streaming
// reader, a durable writer, and the whole-file operations the `log` command
// and `replay` use (read either format, verify, convert, repair).
//
// Guarantees:
// - A record is accepted only if its CRC32C, its seq (0-based, consecutive)
//   and its chain link (the checksum of the record before it) are right and
//   its payload decodes to an event that the JSONL decoder would also accept
//   (same limits, same positivity rules): a binary log cannot smuggle in what
//   JSON Lines would refuse. Anything else in the middle of a log is an
//   Error{kind=corrupt} naming the file, the byte offset of the bad record and
//   the seq it should have had.
// - A torn tail (the file ends inside its last record, or everything from the
//   last valid record to the end of the file is zero bytes) is end of file
//   plus a warning naming the offset where the valid data ends. A complete
//   last record with a bad checksum is corruption (see FORMAT.md for why).
// - The writer acknowledges nothing it has not fsync'ed: `LogWriter::sync()`
//   returns ok only after the records are written and the file (and, on
//   creation, its directory) is fsync'ed. A failed write is rolled back to the
//   last durable end and the writer refuses further use.
// - Encoding is canonical: JSONL → binary → JSONL gives the canonical JSONL
//   text, and binary → JSONL → binary is byte-identical.
// - Reading allocates nothing per record beyond interning new symbols (and
//   the strings of the rare `param` event).
// - One lock per log (events/FORMAT.md, "Locking"): an exclusive flock on the
//   log's file, taken by everything that writes, truncates or replaces it
//   (LogWriter, repair_log, convert_event_log onto an existing OUT) and held
//   until it is done — for `log append`, until its acknowledgement is
//   printed. A locker checks, once it holds the lock, that the path still
//   names the file it locked (else it opens the new one and locks again), so
//   what it writes is in the file named, and no replace happens while an
//   appender holds the lock. The lock is not waited for when another writer
//   holds it (an error at once); a reader's shared lock (verify re-reading a
//   torn tail) is waited out for up to kReaderWaitMs.
// - Named inputs must be regular files: a FIFO, device or directory is
//   refused, never opened in a way that could block.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "liqsim/error.hpp"
#include "liqsim/event_rules.hpp"
#include "liqsim/events.hpp"
#include "liqsim/jsonl.hpp"
#include "liqsim/sha256.hpp"

namespace liqsim {

// ---- format constants (events/FORMAT.md) ----
namespace logfmt {

// File header: magic (8) | format version u32 | masked CRC32C of the 12 bytes before it (u32).
inline constexpr std::array<std::uint8_t, 8> kMagic = {0x89, 'L', 'Q', 'S', 'L', 'O', 'G', '\n'};
inline constexpr std::uint32_t kFormatVersion = 1;
inline constexpr std::size_t kFileHeaderBytes = 16;

// Record header: masked CRC32C u32 | payload length u32 | record type u8 |
// seq u64 | previous record's stored checksum u32; then the payload.
// The CRC covers every byte after itself: length, type, seq, prev, payload.
inline constexpr std::size_t kRecordHeaderBytes = 21;
inline constexpr std::size_t kCrcOffset = 0;
inline constexpr std::size_t kLengthOffset = 4;
inline constexpr std::size_t kTypeOffset = 8;
inline constexpr std::size_t kSeqOffset = 9;
inline constexpr std::size_t kPrevOffset = 17;

inline constexpr std::uint8_t kRecordEvent = 1;  // the only record type of format 1; 0 is never valid
inline constexpr std::size_t kMaxRecordPayloadBytes = std::size_t{1} << 20;  // 1 MiB
inline constexpr std::uint32_t kFirstPrevChecksum = 0;

// LevelDB's CRC mask: a CRC stored inside data that is itself CRC'ed is
// rotated and offset so that CRCs of CRCs are not degenerate.
inline constexpr std::uint32_t kCrcMaskDelta = 0xa282ead8u;

// Event codes inside the payload (payload = ts i64 | event code u8 | fields).
enum class EventCode : std::uint8_t {
  price = 1,
  deposit = 2,
  withdraw = 3,
  trade = 4,
  funding = 5,
  param = 6,
  liquidity = 7
};

// Trade flags byte; bits 4..7 must be zero.
inline constexpr std::uint8_t kTradeHasMargin = 0x01;  // the source named `margin`
inline constexpr std::uint8_t kTradeIsolated = 0x02;   // margin = isolated (needs kTradeHasMargin)
inline constexpr std::uint8_t kTradeHasIsolatedMargin =
    0x04;  // an i64 isolated_margin follows (needs kTradeIsolated)
inline constexpr std::uint8_t kTradeHasCounterparty = 0x08;  // a counterparty name follows
inline constexpr std::uint8_t kTradeKnownFlags = 0x0f;

// ts range the JSONL decoder accepts (integer milliseconds of at most 15 digits).
inline constexpr std::int64_t kMinTsMs = 0;
inline constexpr std::int64_t kMaxTsMs = 999'999'999'999'999;

// Locking (FORMAT.md, "Locking"): how long a writer waits while only readers
// (shared locks) hold the log; a writer's exclusive lock is never waited for.
inline constexpr int kReaderWaitMs = 10'000;
// How many times a locker opens the path again when it was replaced between
// its open and its lock, before giving up.
inline constexpr int kLockAttempts = 16;

}  // namespace logfmt

// ---- CRC32C (Castagnoli) ----

// Extends `crc` (0 to start) over `n` bytes. crc32c("123456789") == 0xe3069283.
// Uses the CPU's crc32 instruction (x86-64 SSE4.2) when it has one, else the
// software path (slicing-by-8); both give the same result. The choice is made
// at the first call; LIQSIM_CRC32C=software in the environment forces the
// software path.
std::uint32_t crc32c_extend(std::uint32_t crc, const void* data, std::size_t n);
inline std::uint32_t crc32c(const void* data, std::size_t n) { return crc32c_extend(0, data, n); }
inline std::uint32_t crc32c_mask(std::uint32_t crc) {
  return ((crc >> 15) | (crc << 17)) + logfmt::kCrcMaskDelta;
}
inline std::uint32_t crc32c_unmask(std::uint32_t masked) {
  std::uint32_t rot = masked - logfmt::kCrcMaskDelta;
  return (rot >> 17) | (rot << 15);
}

// ---- payload codec ----

// The rules an event must obey to be encoded or decoded are the JSONL
// decoder's: validate_event and event_rules:: in event_rules.hpp (core).

// Appends the binary payload of `e` to `out`. The event must be valid
// (validate_event); encoding an invalid event is a programmer error.
void append_record_payload(const InputEvent& e, const Symbols& symbols, std::string& out);
std::string encode_record_payload(const InputEvent& e, const Symbols& symbols);

// Decodes one payload. On failure the Error (kind `corrupt`) names the field;
// the caller adds file, offset and seq. Also enforces validate_event's rules.
Status decode_record_payload(std::string_view payload, Symbols& symbols, InputEvent& out);

namespace detail {
// Little-endian fields, byte by byte.
inline void put_u8(std::string& out, std::uint8_t v) { out.push_back(static_cast<char>(v)); }
inline void put_u16(std::string& out, std::uint16_t v) {
  for (int i = 0; i < 2; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
inline void put_u32(std::string& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
inline void put_u64(std::string& out, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
inline void store_u32(std::uint8_t* p, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<std::uint8_t>((v >> (8 * i)) & 0xff);
}
inline std::uint16_t load_u16(const std::uint8_t* p) {
  return static_cast<std::uint16_t>(p[0] | (p[1] << 8));
}
inline std::uint32_t load_u32(const std::uint8_t* p) {
  return static_cast<std::uint32_t>(p[0]) | (static_cast<std::uint32_t>(p[1]) << 8) |
         (static_cast<std::uint32_t>(p[2]) << 16) | (static_cast<std::uint32_t>(p[3]) << 24);
}
inline std::uint64_t load_u64(const std::uint8_t* p) {
  return static_cast<std::uint64_t>(load_u32(p)) | (static_cast<std::uint64_t>(load_u32(p + 4)) << 32);
}
// The two CRC32C paths behind crc32c_extend (tests/test_crc32c.cpp).
std::uint32_t crc32c_extend_software(std::uint32_t crc, const void* data, std::size_t n);
// The hardware path where the CPU has it (else the software path).
std::uint32_t crc32c_extend_hardware(std::uint32_t crc, const void* data, std::size_t n);
bool crc32c_hardware_available();  // x86-64 with SSE4.2
// true: crc32c_extend uses the software path from now on; false: back to the
// automatic choice.
void crc32c_force_software(bool software);
bool crc32c_uses_hardware();  // the path crc32c_extend takes
// The payload decoder with a caller-supplied interner.
using InternFn = Sym (*)(void* context, std::string_view name);
Status decode_record_payload_with(std::string_view payload, InternFn intern, void* context, InputEvent& out);
// The 16-byte file header of format kFormatVersion.
std::string file_header();
// is_binary_log's rule, over the file open on FD (read with pread from 0).
bool is_binary_fd(int fd);

// Test seam (tests/test_log_concurrency.cpp): when set, called at fixed
// points of the locking protocol with the path concerned, so a test can
// replace a file or take a lock at exactly that moment. Points:
//   "opened"        a log (or convert's OUT) was opened, not yet locked
//   "readers hold"  a writer found only shared locks on it and will wait
//   "replacing"     convert is about to rename its temporary file to OUT
//   "torn tail"     verify_log read to a torn tail, before asking who holds the log
// Null (and one load of a pointer) outside tests.
using LockHook = void (*)(const char* point, const std::string& path);
inline LockHook lock_hook = nullptr;
}  // namespace detail

// ---- detection and whole-file reading ----

// True when the file's first byte is the magic's first byte (0x89), which
// can never begin a JSON Lines file (it is not valid UTF-8). Deciding on one
// byte means a log whose header is damaged or cut short is still read as a
// binary log and reported as corrupt or truncated (exit 3), not as bad JSON.
bool is_binary_log(const std::string& path);

// All events of a JSONL or binary log (told apart by the first bytes). A torn
// tail of a binary log is end of file: `*warning` (if given) is set to a
// message naming the offset where the valid data ends; otherwise cleared.
// `*sha256_hex` (if given) is set to the SHA-256 of the bytes decoded, taken
// as they were read — a JSONL file as far as it was read, a binary log's
// header and valid records (not a torn tail) — so a log appended to during
// the read is hashed as replayed, never re-read.
Result<std::vector<InputEvent>> read_event_log(const std::string& path, Symbols& symbols,
                                               std::string* warning = nullptr,
                                               std::string* sha256_hex = nullptr);

// ---- streaming reader ----

class LogReader {
 public:
  // Opens and checks the file header. Symbols must outlive the reader. PATH
  // must be a regular file (a FIFO or device is refused, without blocking).
  static Result<LogReader> open(const std::string& path, Symbols& symbols);
  // The same over the file open on FD (a duplicate is taken; FD stays the
  // caller's, and reading does not depend on its offset). PATH names it in
  // messages. Used by the writer and repair to read the file they locked.
  static Result<LogReader> open_descriptor(int fd, const std::string& path, Symbols& symbols);
  LogReader(LogReader&& other) noexcept;
  LogReader& operator=(LogReader&& other) noexcept;
  LogReader(const LogReader&) = delete;
  LogReader& operator=(const LogReader&) = delete;
  ~LogReader();

  // true and the next event; false at end of file (clean or torn); or an
  // Error{kind=corrupt, file, offset, seq}. After false or an error, keeps
  // returning the same answer.
  Result<bool> next(InputEvent& out);
  // From now on, feeds the file header and every record next() accepts (its
  // header and payload bytes, as read) to HASH, which must outlive the reader.
  // Records are fed in batches: all of them by the time next() returns false
  // or an error.
  void hash_into(Sha256* hash);

  std::uint64_t records() const { return next_seq_; }    // valid records so far = seq of the next
  std::int64_t valid_end() const { return valid_end_; }  // offset just after the last valid record
  std::uint32_t last_checksum() const { return last_checksum_; }
  std::int64_t first_ts() const { return first_ts_; }  // INT64_MIN before the first record
  std::int64_t last_ts() const { return last_ts_; }    // INT64_MIN before the first record
  bool torn() const { return torn_; }
  std::int64_t file_size() const { return file_size_; }
  std::int64_t torn_bytes() const { return torn_ ? file_size_ - valid_end_ : 0; }
  // "F: byte offset N, seq S: torn tail: ..." (empty unless torn()).
  std::string torn_warning() const;
  // The torn tail as an Error{kind=corrupt} (for `log verify`, which refuses it).
  Error torn_error() const;
  const std::string& path() const { return path_; }

  // For verify_log. Tries a shared lock on the file (never waits): true if
  // taken (no writer holds the log; none can start until unlock()), false if
  // a writer holds it.
  Result<bool> try_lock_shared();
  void unlock();
  // True if PATH still names the file this reader has open.
  bool names_same_file(const std::string& path) const;
  // After next() ended at a torn tail: reads on from the end of the last
  // valid record (or from the start, when the tail was inside the file
  // header), as if that were where reading had got to.
  Status reread_tail();

 private:
  LogReader() = default;
  // The names last interned, by a cheap key of their bytes: a log names the
  // same few assets and markets over and over, and a hit costs one compare
  // (no hash, no allocation). Symbols assigns every id; this only remembers.
  struct NameSlot {
    std::string name;
    Sym sym = kNoSym;
  };
  static constexpr std::size_t kNameSlots = 16;
  Result<bool> fail(Error e);
  Result<bool> end_torn(const char* reason);
  Error corrupt(std::int64_t offset, std::string message, std::string field = {}) const;
  static Sym intern_symbol(void* self, std::string_view name);
  Result<bool> next_record(InputEvent& out);
  // The common case in one piece: a whole record in the buffer whose header,
  // checksum, payload and ts are all as expected is decoded and accepted.
  // Anything else returns false having accepted nothing (interning is
  // idempotent), and next_record reads it the careful way, naming what is
  // wrong.
  bool next_whole(InputEvent& out);
  // The record of TOTAL bytes at the read position is valid: the chain,
  // seq, ts bounds and position move past it.
  void accept(std::size_t total, std::uint32_t checksum, std::int64_t ts);
  void flush_hash();
  // Makes `n` bytes available at buf_[begin_..]; false if the file ends first.
  Result<bool> fill(std::size_t n);
  Status read_header();
  bool zero_to_eof(std::int64_t from) const;
  bool has_byte_at(std::int64_t pos) const;
  std::int64_t trailing_zeros_start() const;
  std::int64_t chained_record_inside(std::uint32_t checksum) const;
  bool torn_at_sector(std::int64_t offset, const std::uint8_t* header, std::int64_t complete_end) const;
  void close_fd();

  int fd_ = -1;
  std::string path_;
  Symbols* symbols_ = nullptr;
  std::array<NameSlot, kNameSlots> names_;
  std::vector<std::uint8_t> buf_;
  std::size_t begin_ = 0, end_ = 0;
  bool eof_ = false;
  std::int64_t buf_file_offset_ = 0;  // file offset of buf_[0]
  std::int64_t file_size_ = 0;
  std::int64_t valid_end_ = 0;
  std::uint64_t next_seq_ = 0;
  std::uint32_t last_checksum_ = logfmt::kFirstPrevChecksum;
  std::int64_t first_ts_ = INT64_MIN;
  std::int64_t last_ts_ = INT64_MIN;
  Sha256* hash_ = nullptr;     // hash_into
  std::size_t hash_from_ = 0;  // buf_[hash_from_, begin_): accepted, not yet hashed
  bool done_ = false;
  bool torn_ = false;
  const char* torn_reason_ = "";
  std::optional<Error> error_;
};

// Either format, one event at a time: what a replay streams from. The format
// is told apart as read_event_log does; PATH must be a regular file (a log is
// read more than once: sniffed, then decoded). The bytes are hashed as they
// are read, so the checksum is of exactly what was decoded.
class EventFileReader {
 public:
  static Result<EventFileReader> open(const std::string& path, Symbols& symbols);
  EventFileReader(EventFileReader&&) noexcept;
  EventFileReader& operator=(EventFileReader&&) noexcept;
  ~EventFileReader();

  // As LogReader::next / JsonlFileReader::next (errors name the file and the
  // line or byte offset).
  Result<bool> next(InputEvent& out);
  // After next() returned false: the SHA-256 (hex) of the bytes decoded — a
  // JSON Lines file as far as it was read, a binary log's header and valid
  // records, not a torn tail. Call once.
  std::string sha256_hex();
  // After next() returned false: the torn-tail warning of a binary log, or "".
  std::string warning() const;
  bool binary() const { return binary_ != nullptr; }
  // JSON Lines: the line of the last event returned (0 for a binary log).
  std::int64_t line() const;
  std::int64_t bytes_read() const;  // how far reading has got, for a progress bar
  std::int64_t file_size() const;
  const std::string& path() const { return path_; }

 private:
  EventFileReader() = default;
  std::string path_;
  std::unique_ptr<Sha256> hash_;  // fed by the reader: its address must not move
  std::unique_ptr<LogReader> binary_;
  std::unique_ptr<JsonlFileReader> jsonl_;
};

// The result of reading a whole binary log without keeping its events.
struct LogScan {
  std::uint64_t records = 0;
  std::int64_t first_ts = INT64_MIN, last_ts = INT64_MIN;
  std::int64_t valid_end = 0;  // bytes of header + valid records
  std::int64_t file_size = 0;
  std::uint32_t last_checksum = logfmt::kFirstPrevChecksum;
  bool torn = false;
  std::string warning;  // set when torn
  Error torn_error;     // meaningful when torn
  // verify_log only: the scan ended inside a record while a writer held the
  // log's lock — a record being appended, not a torn tail (`torn` is set
  // too; the valid records end at valid_end).
  bool writer_appending = false;
};
Result<LogScan> scan_log(const std::string& path);
Result<LogScan> scan_log_descriptor(int fd, const std::string& path);  // see LogReader::open_descriptor

// The whole log, for `log verify` (FORMAT.md, "Verifying a log that is being
// appended"): as scan_log, but a scan that ends in a torn tail asks who holds
// the log. If a writer does, the tail is a record being written:
// `writer_appending` is set and the valid records are reported. Otherwise
// the tail is read again under a shared lock (the append that was writing it
// may have finished since), so a torn tail reported is one that no writer is
// writing. A log replaced during the scan is scanned again (at most a few
// times). Corruption is an Error as in scan_log.
Result<LogScan> verify_log(const std::string& path);

// ---- durable writer ----

class LogWriter {
 public:
  // Opens an existing binary log for appending (checking every record,
  // positioning after the last valid one, continuing seq and chain; a torn
  // tail is cut off and reported in `*warning`) or creates a new one (header
  // written and fsync'ed, directory fsync'ed); a 0-byte file gets its header.
  // A corrupt log is refused, and so is a path that is not a regular file.
  // The log's lock is taken (see the top of this header) and held until the
  // writer is closed or destroyed.
  static Result<LogWriter> open(const std::string& path, std::string* warning = nullptr);
  // Creates a new, empty log, replacing whatever file is at `path` (for the
  // temporary file of a conversion).
  static Result<LogWriter> create(const std::string& path);

  LogWriter(LogWriter&& other) noexcept;
  LogWriter& operator=(LogWriter&& other) noexcept;
  LogWriter(const LogWriter&) = delete;
  LogWriter& operator=(const LogWriter&) = delete;
  ~LogWriter();  // closes without syncing: unsynced appends are not acknowledged

  // Validates (validate_event, ts not before the last) and buffers one record.
  // Not durable until sync(). Large buffers are written out (not fsync'ed) as
  // they grow.
  Status append(const InputEvent& e, const Symbols& symbols);
  // Writes everything buffered and fsyncs the file. Only after it returns ok
  // are the appended records acknowledged.
  Status sync();
  // sync() and close the file.
  Status close();

  std::uint64_t next_seq() const { return next_seq_; }
  std::uint64_t durable_records() const { return durable_seq_; }
  std::int64_t last_ts() const { return last_ts_; }  // INT64_MIN for an empty log
  std::int64_t size() const { return written_end_ + static_cast<std::int64_t>(pending_.size()); }
  const std::string& path() const { return path_; }
  // ok if the path still names the file this writer has open and locked.
  // Lockers never replace a locked log, so it can differ only if a program
  // that does not take the lock (mv, an editor) replaced it: then an Error
  // (kind io) says the records went to the replaced file.
  Status check_still_named() const;

 private:
  LogWriter() = default;
  Status write_pending();
  Status failed(Error e);
  Error io_error(const std::string& what, int err) const;
  void close_fd();

  int fd_ = -1;
  std::string path_;
  std::string pending_;            // encoded records not yet written
  std::int64_t written_end_ = 0;   // file offset after the last written record
  std::int64_t durable_end_ = 0;   // file offset after the last fsync'ed record
  std::uint64_t next_seq_ = 0;     // seq of the next append
  std::uint64_t written_seq_ = 0;  // records written (not necessarily fsync'ed)
  std::uint64_t durable_seq_ = 0;  // records fsync'ed
  std::uint32_t last_checksum_ = logfmt::kFirstPrevChecksum;
  std::int64_t last_ts_ = INT64_MIN;
  bool poisoned_ = false;  // a write or fsync failed: refuse further use
};

// ---- whole-file operations of `liqsim log` ----

struct ConvertSummary {
  bool to_binary = false;  // JSONL → binary (else binary → JSONL)
  std::uint64_t events = 0;
  std::int64_t bytes_out = 0;
  std::string warning;  // torn tail of a binary input, or empty
};
// Streams IN to a temporary file beside OUT (OUT.tmp-PID-N) in the other
// format, fsyncs it and renames it to OUT
// (fsync'ing the directory). On any error before the rename the temporary file is
// removed and OUT is untouched; if only the directory fsync after the rename
// fails, OUT is complete and the Error says that its rename may not be durable.
// An existing OUT is locked (the log's lock) from the start to after the
// rename: if a writer holds it, the conversion is refused at once (kind io).
// A missing OUT is never replaced by the rename if something created it
// meanwhile: that file is locked and replaced like an existing one.
Result<ConvertSummary> convert_event_log(const std::string& in, const std::string& out);

struct RepairSummary {
  bool was_torn = false;
  std::int64_t bytes_cut = 0;
  std::int64_t valid_end = 0;
  std::uint64_t records = 0;
  std::int64_t size_before = 0;  // the file's size when repair found it
};
// Cuts a torn tail (ftruncate + fsync) under the log's lock. A file holding
// nothing (0 bytes) or only part of the file header — what a crash while the
// log was created leaves — gets the whole header: an empty binary log. A
// corrupt log is refused (kind corrupt); so is a JSON Lines file (input).
Result<RepairSummary> repair_log(const std::string& path);

// ---- durable plain files (JSONL output of a conversion) ----

class DurableFile {
 public:
  static Result<DurableFile> create(const std::string& path);  // O_CREAT|O_TRUNC
  DurableFile(DurableFile&& other) noexcept;
  DurableFile& operator=(DurableFile&& other) noexcept;
  DurableFile(const DurableFile&) = delete;
  DurableFile& operator=(const DurableFile&) = delete;
  ~DurableFile();
  Status write(std::string_view bytes);  // buffered
  Status sync();                         // write out + fsync
  Status close();                        // sync + close
  std::int64_t size() const { return size_; }

 private:
  DurableFile() = default;
  Status flush();
  int fd_ = -1;
  std::string path_;
  std::string buf_;
  std::int64_t size_ = 0;
};

// rename_durably and fsync_parent_directory: output_file.hpp (io).

}  // namespace liqsim
