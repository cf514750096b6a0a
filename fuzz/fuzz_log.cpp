// Fuzz target: the binary log reader and the payload decoder.
//
// The first input byte picks a mode:
//   even: the rest is a whole log file, read with LogReader (then scan_log);
//   odd:  the rest is a list of payloads (u16 length + bytes each) that the
//         harness frames into a log with correct CRCs, seq and chain, so the
//         mutations reach the payload decoder through the reader; the second
//         byte may cut the file to leave a torn tail.
// Every payload is also given to decode_record_payload directly.
// Properties: a record the reader accepts re-encodes to the very bytes it was
// read from (the encoding is canonical: binary -> JSONL -> binary is
// byte-identical), its event passes validate_event, ts never goes backwards,
// and an error is kind corrupt (or an input error for a format version)
// naming the file and an offset.
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_common.hpp"
#include "liqsim/jsonl.hpp"
#include "liqsim/log.hpp"

using namespace liqsim;

namespace {

std::string frame(const std::vector<std::string_view>& payloads, bool bad_seq) {
  std::string file = detail::file_header();
  std::uint32_t prev = logfmt::kFirstPrevChecksum;
  std::uint64_t seq = 0;
  for (std::string_view p : payloads) {
    std::string rec;
    detail::put_u32(rec, 0);
    detail::put_u32(rec, static_cast<std::uint32_t>(p.size()));
    detail::put_u8(rec, logfmt::kRecordEvent);
    detail::put_u64(rec, bad_seq && seq == 1 ? 7 : seq);
    detail::put_u32(rec, prev);
    rec.append(p);
    const std::uint32_t crc = crc32c_mask(crc32c(rec.data() + 4, rec.size() - 4));
    detail::store_u32(reinterpret_cast<std::uint8_t*>(rec.data()), crc);
    prev = crc;
    ++seq;
    file += rec;
  }
  return file;
}

void read_log(std::string_view file_bytes) {
  if (!fuzz::write_scratch(file_bytes)) return;
  Symbols symbols;
  auto reader = LogReader::open(fuzz::scratch_path(), symbols);
  if (!reader) {
    const Error& e = reader.error();
    fuzz::property(e.kind == ErrorKind::corrupt || e.kind == ErrorKind::input || e.kind == ErrorKind::io,
                   "unexpected error kind opening a log", e.describe());
    return;
  }
  InputEvent ev;
  std::int64_t last_ts = INT64_MIN;
  for (;;) {
    const std::int64_t offset = reader->valid_end();
    auto more = reader->next(ev);
    if (!more) {
      fuzz::property(more.error().kind == ErrorKind::corrupt && more.error().offset == offset,
                     "a bad record is not corruption at its offset", more.error().describe());
      break;
    }
    if (!*more) break;
    const std::int64_t end = reader->valid_end();
    fuzz::property(end > offset && static_cast<std::size_t>(end) <= file_bytes.size(),
                   "valid_end out of range");
    std::string_view stored =
        file_bytes.substr(static_cast<std::size_t>(offset) + logfmt::kRecordHeaderBytes,
                          static_cast<std::size_t>(end - offset) - logfmt::kRecordHeaderBytes);
    Status valid = validate_event(ev, symbols);
    fuzz::property(valid.ok(), "the reader accepted an event validate_event refuses",
                   valid.ok() ? "" : valid.error().describe());
    fuzz::property(
        encode_record_payload(ev, symbols) == stored,
        "an accepted payload does not re-encode to its own bytes (non-canonical encoding accepted)",
        encode_event(ev, symbols));
    fuzz::property(ev.ts_ms >= last_ts, "the reader let ts go backwards");
    last_ts = ev.ts_ms;
  }
  if (reader->torn()) {
    (void)reader->torn_warning();
    fuzz::property(reader->valid_end() <= static_cast<std::int64_t>(file_bytes.size()),
                   "torn valid_end past EOF");
  }
  auto scan = scan_log(fuzz::scratch_path());
  if (scan) fuzz::property(scan->records == reader->records(), "scan_log and LogReader disagree on records");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  const std::uint8_t mode = fuzz::take_byte(input);
  if ((mode & 1) == 0) {
    read_log(input);
    return 0;
  }
  const std::uint8_t cut = fuzz::take_byte(input);
  std::vector<std::string_view> payloads;
  while (input.size() >= 2 && payloads.size() < 64) {
    std::size_t n = static_cast<std::uint8_t>(input[0]) |
                    (static_cast<std::size_t>(static_cast<std::uint8_t>(input[1])) << 8);
    input.remove_prefix(2);
    if (n > input.size()) n = input.size();
    payloads.push_back(input.substr(0, n));
    input.remove_prefix(n);
  }
  for (std::string_view p : payloads) {
    Symbols s;
    InputEvent ev;
    Status st = decode_record_payload(p, s, ev);
    if (st.ok()) {
      fuzz::property(encode_record_payload(ev, s) == p,
                     "decode_record_payload accepted a non-canonical payload", encode_event(ev, s));
      fuzz::property(validate_event(ev, s).ok(), "decode_record_payload accepted an invalid event");
    } else {
      fuzz::property(st.error().kind == ErrorKind::corrupt, "a bad payload is not kind corrupt",
                     st.error().describe());
    }
  }
  std::string file = frame(payloads, (mode & 0x80) != 0);
  if (cut != 0 && cut < 0x40 && file.size() > logfmt::kFileHeaderBytes)
    file.resize(file.size() - cut % file.size());
  read_log(file);
  return 0;
}
