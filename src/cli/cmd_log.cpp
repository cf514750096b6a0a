// `liqsim log convert|verify|cat|append|repair` — the event log tools
// (CONTRACT §5; format in events/FORMAT.md).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "commands.hpp"
#include "liqsim/input_file.hpp"
#include "liqsim/jsonl.hpp"
#include "liqsim/log.hpp"
#include "options.hpp"

namespace liqsim::cli {

namespace {

// The subcommands and their help are described in options.cpp ("log ...").

void warn(const std::string& message) { std::fprintf(stderr, "liqsim: warning: %s\n", message.c_str()); }

std::string ts_range(std::uint64_t n, std::int64_t first, std::int64_t last) {
  if (n == 0) return "no events";
  return "ts " + std::to_string(first) + ".." + std::to_string(last) + " (" + format_rfc3339(first) + " .. " +
         format_rfc3339(last) + ")";
}

std::int64_t file_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary | std::ios::ate);
  return f ? static_cast<std::int64_t>(f.tellg()) : -1;
}

Error open_error(const std::string& path) {
  Error e = make_error(ErrorKind::io, "cannot open for reading");
  e.file = path;
  return e;
}

// The format is told by the first byte and the file is then read from its
// start, so LOG must be a regular file (a FIFO would also be waited on
// forever). A file that cannot be opened is reported with the operating
// system's reason (the format probe alone would take it for a file that is
// not a log).
std::optional<Error> not_a_file(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    return make_file_error(ErrorKind::io, path,
                           std::string("cannot open for reading: ") + std::strerror(errno));
  if (Status regular = require_regular_input(path, "event log"); !regular) return regular.error();
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0)
    return make_file_error(ErrorKind::io, path,
                           std::string("cannot open for reading: ") + std::strerror(errno));
  ::close(fd);
  return std::nullopt;
}

// "N records (seq 0..N-1)", or "no records" for a log without any.
std::string seq_range(std::uint64_t n, const char* noun) {
  if (n == 0) return std::string("no ") + noun;
  return std::to_string(n) + " " + noun + " (seq 0.." + std::to_string(n - 1) + ")";
}

int run_convert(const std::string& in, const std::string& out) {
  auto r = convert_event_log(in, out);
  if (!r) return report_error(r.error());
  if (!r->warning.empty()) warn(r->warning);
  std::printf("converted %llu events: %s (%s) -> %s (%s, %lld bytes)\n",
              static_cast<unsigned long long>(r->events), in.c_str(),
              r->to_binary ? "JSON Lines" : "binary log", out.c_str(),
              r->to_binary ? "binary log" : "JSON Lines", static_cast<long long>(r->bytes_out));
  return 0;
}

int run_verify(const std::string& path) {
  if (auto e = not_a_file(path)) return report_error(*e);
  if (file_bytes(path) == 0) {
    // Both an empty JSON Lines log and what a crash at a binary log's creation
    // leaves before its header (events/FORMAT.md, "Empty and cut logs").
    std::printf(
        "%s: ok: empty file (0 bytes), no events: read as an empty JSON Lines log; if it was to be a "
        "binary log, its creation was cut short before the header ('liqsim log repair' writes the "
        "header; 'liqsim log append' appends to it as it is)\n",
        path.c_str());
    return 0;
  }
  if (is_binary_log(path)) {
    auto scan = verify_log(path);
    if (!scan) return report_error(scan.error());
    if (scan->torn && !scan->writer_appending) return report_error(scan->torn_error);
    std::string summary = seq_range(scan->records, "records");
    if (scan->records > 0) summary += ", " + ts_range(scan->records, scan->first_ts, scan->last_ts);
    if (scan->writer_appending) {
      std::printf(
          "%s: ok: binary log v%u, %s, %lld bytes verified; a writer is appending: the %lld bytes after "
          "byte %lld are a record being written, not a torn tail\n",
          path.c_str(), logfmt::kFormatVersion, summary.c_str(), static_cast<long long>(scan->valid_end),
          static_cast<long long>(scan->file_size - scan->valid_end), static_cast<long long>(scan->valid_end));
      return 0;
    }
    std::printf("%s: ok: binary log v%u, %s, %lld bytes\n", path.c_str(), logfmt::kFormatVersion,
                summary.c_str(), static_cast<long long>(scan->file_size));
    return 0;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return report_error(open_error(path));
  Symbols symbols;
  JsonlEventReader reader(in, path, symbols);
  InputEvent ev;
  std::uint64_t n = 0;
  std::int64_t first = 0, last = 0;
  for (;;) {
    auto more = reader.next(ev);
    if (!more) return report_error(more.error());
    if (!*more) break;
    if (n == 0) first = ev.ts_ms;
    last = ev.ts_ms;
    ++n;
  }
  std::string summary = seq_range(n, "events");
  if (n > 0) summary += ", " + ts_range(n, first, last);
  std::printf("%s: ok: JSON Lines, %s, %lld bytes\n", path.c_str(), summary.c_str(),
              static_cast<long long>(file_bytes(path)));
  return 0;
}

int run_cat(const std::string& path) {
  if (auto e = not_a_file(path)) return report_error(*e);
  Symbols symbols;
  InputEvent ev;
  std::string line;
  int write_errno = 0;
  auto emit = [&]() -> bool {
    line = encode_event(ev, symbols);
    line.push_back('\n');
    if (std::fwrite(line.data(), 1, line.size(), stdout) == line.size()) return true;
    write_errno = errno;
    return false;
  };
  auto stdout_failed = [&]() -> bool {
    if (std::fflush(stdout) == 0) return false;
    write_errno = errno;
    return true;
  };
  auto write_failed = [&]() {
    std::string reason = write_errno == ENOSPC ? "no space left on device"
                         : write_errno != 0    ? std::strerror(write_errno)
                                               : "I/O error";
    return make_file_error(ErrorKind::io, "<stdout>", "write failed: " + reason);
  };
  if (is_binary_log(path)) {
    auto reader = LogReader::open(path, symbols);
    if (!reader) return report_error(reader.error());
    for (;;) {
      auto more = reader->next(ev);
      if (!more) {
        std::fflush(stdout);
        return report_error(more.error());
      }
      if (!*more) break;
      if (!emit()) return report_error(write_failed());
    }
    if (stdout_failed()) return report_error(write_failed());
    if (reader->torn()) warn(reader->torn_warning());
    return 0;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return report_error(open_error(path));
  JsonlEventReader reader(in, path, symbols);
  for (;;) {
    auto more = reader.next(ev);
    if (!more) {
      std::fflush(stdout);
      return report_error(more.error());
    }
    if (!*more) break;
    if (!emit()) return report_error(write_failed());
  }
  if (stdout_failed()) return report_error(write_failed());
  return 0;
}

int run_append(const std::string& path) {
  Symbols symbols;
  // 1. The log as it is now (read only): its last ts bounds the batch.
  // LOG must be a regular file or not exist: a FIFO is refused, not waited on.
  std::int64_t last_ts = INT64_MIN;
  struct stat info {};
  const bool exists = ::stat(path.c_str(), &info) == 0;
  if (exists) {
    if (Status regular = require_regular_input(path, "event log"); !regular) {
      Error e = regular.error();
      if (e.kind == ErrorKind::usage)
        e.message += "; the events to append come on standard input, which may be a pipe";
      return report_error(e);
    }
  }
  const bool empty = exists && info.st_size == 0;
  if (exists && !empty) {
    if (!is_binary_log(path)) {
      Error e =
          make_error(ErrorKind::input, "not a binary event log (convert it with 'liqsim log convert' first)");
      e.file = path;
      return report_error(e);
    }
    auto scan = scan_log(path);
    if (!scan) return report_error(scan.error());
    last_ts = scan->last_ts;
  }
  // 2. All of stdin, validated, before anything is written.
  std::ios::sync_with_stdio(false);
  JsonlEventReader reader(std::cin, "<stdin>", symbols);
  std::vector<InputEvent> batch;
  std::vector<std::int64_t> lines;
  InputEvent ev;
  for (;;) {
    auto more = reader.next(ev);
    if (!more) return report_error(more.error());
    if (!*more) break;
    if (ev.ts_ms < last_ts) {
      Error e = make_error(ErrorKind::input,
                           "goes backwards: " + std::to_string(ev.ts_ms) + " before the log's last ts " +
                               std::to_string(last_ts),
                           "ts");
      e.file = "<stdin>";
      e.line = reader.line();
      return report_error(e);
    }
    batch.push_back(std::move(ev));
    lines.push_back(reader.line());
  }
  if (std::cin.bad()) {
    Error e = make_error(ErrorKind::io, "read failed");
    e.file = "<stdin>";
    return report_error(e);
  }
  // 3. Append and fsync; acknowledge only after that.
  std::string warning;
  auto writer = LogWriter::open(path, &warning);
  if (!writer) return report_error(writer.error());
  if (!warning.empty()) warn(warning);
  const std::uint64_t first_seq = writer->next_seq();
  for (std::size_t i = 0; i < batch.size(); ++i) {
    Status st = writer->append(batch[i], symbols);
    if (!st) {
      // The log changed between the check and the lock (another appender), or an I/O error.
      Error e = st.error();
      if (e.kind == ErrorKind::input) {
        e.file = "<stdin>";
        e.line = lines[i];
      }
      return report_error(e);
    }
  }
  // Durable, then acknowledged while the lock is still held: nothing that
  // takes the lock can have replaced the log in between, and a program that
  // does not take it is caught by the check (events/FORMAT.md, "Locking").
  Status st = writer->sync();
  if (st) st = writer->check_still_named();
  if (!st) return report_error(st.error());
  if (batch.empty()) {
    std::printf("appended 0 events\n");
  } else {
    std::printf("appended %zu events (seq %llu..%llu)\n", batch.size(),
                static_cast<unsigned long long>(first_seq),
                static_cast<unsigned long long>(first_seq + batch.size() - 1));
  }
  const bool told = std::fflush(stdout) == 0;
  const int write_errno = errno;
  st = writer->close();
  if (!told)
    return report_error(make_file_error(ErrorKind::io, "<stdout>",
                                        std::string("write failed: ") + std::strerror(write_errno) +
                                            " (the events were appended and are durable)"));
  if (!st) return report_error(st.error());
  return 0;
}

int run_repair(const std::string& path) {
  if (auto e = not_a_file(path)) return report_error(*e);
  // A file shorter than a header (a crash while the log was created) is
  // repaired by writing a whole new header: the file grows.
  auto r = repair_log(path);
  if (!r) {
    if (r.error().kind == ErrorKind::corrupt)
      std::fprintf(stderr,
                   "liqsim: refusing to repair: the log is corrupt before its end, not torn; "
                   "nothing was changed\n");
    return report_error(r.error());
  }
  if (!r->was_torn) {
    std::printf("%s: clean, nothing to repair (%llu records, %lld bytes)\n", path.c_str(),
                static_cast<unsigned long long>(r->records), static_cast<long long>(r->valid_end));
  } else if (r->size_before == 0) {
    std::printf(
        "%s: the file was empty (0 bytes): a crash while the log was created, before its header; "
        "wrote the %zu-byte header: the log is empty (0 records, %lld bytes) and appends go on\n",
        path.c_str(), logfmt::kFileHeaderBytes, static_cast<long long>(r->valid_end));
  } else if (r->size_before < static_cast<std::int64_t>(logfmt::kFileHeaderBytes)) {
    std::printf(
        "%s: the file held only %lld bytes of its %zu-byte header (torn while the log was created): "
        "wrote a new header; the log is empty (0 records, %lld bytes)\n",
        path.c_str(), static_cast<long long>(r->size_before), logfmt::kFileHeaderBytes,
        static_cast<long long>(r->valid_end));
  } else {
    std::printf("%s: cut %lld bytes of a torn tail at byte offset %lld (%llu records kept)\n", path.c_str(),
                static_cast<long long>(r->bytes_cut), static_cast<long long>(r->valid_end),
                static_cast<unsigned long long>(r->records));
  }
  return 0;
}

// The operands of `log SUB` (args[1]), or the exit code of its --help or
// usage error.
template <class Run>
int with_operands(const Args& args, Run run) {
  const std::string path = "log " + args[1];
  auto command_line = parse_command_line(path, args, 2);
  if (!command_line) return usage_error(path, command_line.error());
  if (command_line->help) return print_help(path);
  return run(command_line->operands());
}

int log_convert(const Args& args) {
  return with_operands(args, [](const Args& op) { return run_convert(op[0], op[1]); });
}
int log_verify(const Args& args) {
  return with_operands(args, [](const Args& op) { return run_verify(op[0]); });
}
int log_cat(const Args& args) {
  return with_operands(args, [](const Args& op) { return run_cat(op[0]); });
}
int log_append(const Args& args) {
  return with_operands(args, [](const Args& op) { return run_append(op[0]); });
}
int log_repair(const Args& args) {
  return with_operands(args, [](const Args& op) { return run_repair(op[0]); });
}

}  // namespace

int cmd_log(const Args& args) {
  // args[0] == "log"
  return dispatch(args, {{"convert", log_convert},
                         {"verify", log_verify},
                         {"cat", log_cat},
                         {"append", log_append},
                         {"repair", log_repair}});
}

}  // namespace liqsim::cli
