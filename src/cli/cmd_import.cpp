// cmd_import.cpp — `liqsim import candles|trades`: market data CSV → price events.
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <optional>

#include "commands.hpp"
#include "liqsim/fixed.hpp"
#include "liqsim/import.hpp"
#include "liqsim/input_file.hpp"
#include "liqsim/jsonl.hpp"
#include "liqsim/output_file.hpp"
#include "options.hpp"

namespace liqsim::cli {

namespace {

// The subcommands, their options and help are described in options.cpp
// ("import candles", "import trades").
using Parsed = ParsedOptions;

Result<std::optional<std::int64_t>> time_option(const Parsed& p, const std::string& name) {
  if (!p.has(name)) return std::optional<std::int64_t>{};
  Result<std::int64_t> ms = import::parse_time_arg(p.get(name));
  if (!ms) return make_error(ErrorKind::usage, ms.error().message, name);
  return std::optional<std::int64_t>{*ms};
}

// Buffered event writer to stdout or an output file (output_file.hpp: the
// file appears whole on close() or not at all; abandon() leaves no trace).
class EventSink {
 public:
  Status open(const std::string& path) {
    if (path.empty()) return Status::success();
    auto f = OutputFile::create(path);
    if (!f) return f.error();
    file_.emplace(std::move(*f));
    return Status::success();
  }
  void write(const InputEvent& e, const Symbols& s) {
    buf_ += encode_event(e, s);
    buf_ += '\n';
    if (buf_.size() > (1 << 20)) flush_buffer();
  }
  Status close() {
    flush_buffer();
    if (file_) {
      Status st = file_->commit();
      file_.reset();
      return st;
    }
    if (std::fflush(stdout) != 0) failed_ = true;
    if (failed_) return make_file_error(ErrorKind::io, "<stdout>", "write failed");
    return Status::success();
  }
  void abandon() { file_.reset(); }

 private:
  void flush_buffer() {
    if (buf_.empty()) return;
    if (file_)
      (void)file_->write(buf_);  // an error sticks and is returned by commit()
    else if (std::fwrite(buf_.data(), 1, buf_.size(), stdout) != buf_.size())
      failed_ = true;
    buf_.clear();
  }
  std::optional<OutputFile> file_;
  std::string buf_;
  bool failed_ = false;
};

// --in: a regular file only (input_file.hpp): a named pipe would block the
// open forever, and candles are read more than once.
Status open_input(const std::string& path, std::ifstream& in) {
  if (Status s = require_regular_input(path, "CSV"); !s) return s;
  in.open(path, std::ios::binary);
  if (!in) return make_file_error(ErrorKind::io, path, "cannot open for reading");
  return Status::success();
}

void print_repair(const std::string& line) { std::fprintf(stderr, "%s\n", line.c_str()); }

// --from and --to, shared by both importers' options.
template <class Options>
Status read_window(const Parsed& p, Options& opt) {
  auto from = time_option(p, "--from");
  if (!from) return from.error();
  auto to = time_option(p, "--to");
  if (!to) return to.error();
  opt.from_ms = *from;
  opt.to_ms = *to;
  return {};
}

int import_candles_cmd(const Args& args) {
  const std::string path = "import candles";
  auto parsed = parse_command_line(path, args, 2);
  if (!parsed) return usage_error(path, parsed.error());
  if (parsed->help) return print_help(path);
  const Parsed& p = *parsed;
  auto fail = [&](const Error& e) { return report_error(path, e); };
  if (Status a = import::check_price_asset(p.get("--asset")); !a) return fail(a.error());
  import::CandleOptions opt;
  auto layout = import::parse_candle_layout(p.get("--layout", "auto"));
  if (!layout)
    return fail(make_error(ErrorKind::usage, "must be auto, coinapi, binanceus or kline", "--layout"));
  opt.layout = *layout;
  opt.repair = p.has("--repair");
  opt.keep_repeats = p.has("--keep-repeats");
  auto tpb = p.integer("--ticks-per-bar", 4, 1, 4);
  if (!tpb) return fail(tpb.error());
  if (*tpb == 3) return fail(make_error(ErrorKind::usage, "must be 1, 2 or 4", "--ticks-per-bar"));
  opt.ticks_per_bar = static_cast<int>(*tpb);
  auto bar_s = p.integer("--bar-seconds", 0, 1, 366LL * 86400);
  if (!bar_s) return fail(bar_s.error());
  opt.bar_ms = *bar_s * 1000;
  if (Status w = read_window(p, opt); !w) return fail(w.error());
  if (p.has("--max-move")) {
    Result<std::int64_t> raw = parse_decimal_raw(p.get("--max-move"));
    if (!raw) return fail(make_error(ErrorKind::usage, raw.error().message, "--max-move"));
    if (*raw <= 0 || *raw >= kScale)
      return fail(make_error(ErrorKind::usage, "must be a ratio in (0, 1), e.g. 0.1", "--max-move"));
    opt.max_move_raw = *raw;
  }
  const std::string in_path = p.get("--in");
  std::ifstream in;
  if (Status s = open_input(in_path, in); !s) return report_error(s.error());
  if (p.has("--out") && same_file(p.get("--out"), in_path))
    return usage_error(path, "--out " + p.get("--out") + " is the same file as --in " + in_path);
  EventSink sink;
  if (Status s = sink.open(p.get("--out")); !s) return report_error(s.error());
  Symbols symbols;
  import::ImportStats stats;
  // Streamed: the CSV is checked whole before the first event is written;
  // memory holds one bar's events and the sink's 1 MiB buffer.
  Status st = import::import_candles(
      in, in_path, p.get("--asset"), opt, symbols, [&](const InputEvent& e) { sink.write(e, symbols); },
      print_repair, stats);
  if (!st) {
    sink.abandon();  // no half-written log
    return report_error(st.error());
  }
  if (Status s = sink.close(); !s) return report_error(s.error());
  std::fprintf(stderr,
               "liqsim import candles: %s: layout %s, bar %lld s, %lld rows, %lld bars, %lld price events, "
               "%lld repairs, %lld clipped, %lld outside --from/--to\n",
               in_path.c_str(), import::candle_layout_name(stats.layout),
               static_cast<long long>(stats.bar_ms / 1000), static_cast<long long>(stats.rows),
               static_cast<long long>(stats.bars), static_cast<long long>(stats.events),
               static_cast<long long>(stats.repairs), static_cast<long long>(stats.clipped),
               static_cast<long long>(stats.filtered));
  return 0;
}

int import_trades_cmd(const Args& args) {
  const std::string path = "import trades";
  auto parsed = parse_command_line(path, args, 2);
  if (!parsed) return usage_error(path, parsed.error());
  if (parsed->help) return print_help(path);
  const Parsed& p = *parsed;
  auto fail = [&](const Error& e) { return report_error(path, e); };
  if (Status a = import::check_price_asset(p.get("--asset")); !a) return fail(a.error());
  import::TradeOptions opt;
  auto unit = import::parse_time_unit(p.get("--time-unit", "auto"));
  if (!unit) return fail(make_error(ErrorKind::usage, "must be auto, s, ms or us", "--time-unit"));
  opt.time_unit = *unit;
  opt.time_column = p.get("--time-col");
  opt.price_column = p.get("--price-col");
  opt.qty_column = p.get("--qty-col");
  opt.repair = p.has("--repair");
  opt.keep_repeats = p.has("--keep-repeats");
  auto shift = p.integer("--shift-ms", 0, -86'400'000LL * 366, 86'400'000LL * 366);
  if (!shift) return fail(shift.error());
  opt.shift_ms = *shift;
  if (Status w = read_window(p, opt); !w) return fail(w.error());
  const std::string in_path = p.get("--in");
  std::ifstream in;
  if (Status s = open_input(in_path, in); !s) return report_error(s.error());
  EventSink sink;
  if (p.has("--out") && same_file(p.get("--out"), in_path))
    return usage_error(path, "--out " + p.get("--out") + " is the same file as --in " + in_path);
  if (Status s = sink.open(p.get("--out")); !s) return report_error(s.error());
  Symbols symbols;
  import::ImportStats stats;
  Status st = import::import_trades(
      in, in_path, p.get("--asset"), opt, symbols, [&](const InputEvent& e) { sink.write(e, symbols); },
      print_repair, stats);
  if (!st) {
    sink.abandon();  // no half-written log
    return report_error(st.error());
  }
  if (Status closed = sink.close(); !closed) return report_error(closed.error());
  std::fprintf(
      stderr,
      "liqsim import trades: %s: %lld rows, %lld price events, %lld repairs, %lld outside --from/--to\n",
      in_path.c_str(), static_cast<long long>(stats.rows), static_cast<long long>(stats.events),
      static_cast<long long>(stats.repairs), static_cast<long long>(stats.filtered));
  return 0;
}

}  // namespace

int cmd_import(const Args& args) {
  return dispatch(args, {{"candles", import_candles_cmd}, {"trades", import_trades_cmd}});
}

}  // namespace liqsim::cli
