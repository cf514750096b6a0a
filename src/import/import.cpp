// import.cpp — candle and trade CSVs to price events (see import.hpp).
#include "liqsim/import.hpp"

#include <algorithm>
#include <cstring>
#include <string_view>

#include "liqsim/event_rules.hpp"
#include "liqsim/fixed.hpp"
#include "liqsim/json.hpp"
#include "liqsim/jsonl.hpp"

namespace liqsim::import {

namespace {

using i128 = __int128;

// ---- CSV helpers ----

// Splits one line on commas; strips surrounding spaces and double quotes.
void split_csv(std::string_view line, std::vector<std::string_view>& out) {
  out.clear();
  std::size_t begin = 0;
  for (;;) {
    std::size_t comma = line.find(',', begin);
    std::string_view f =
        line.substr(begin, comma == std::string_view::npos ? std::string_view::npos : comma - begin);
    while (!f.empty() && (f.front() == ' ' || f.front() == '\t')) f.remove_prefix(1);
    while (!f.empty() && (f.back() == ' ' || f.back() == '\t')) f.remove_suffix(1);
    if (f.size() >= 2 && f.front() == '"' && f.back() == '"') f = f.substr(1, f.size() - 2);
    out.push_back(f);
    if (comma == std::string_view::npos) break;
    begin = comma + 1;
  }
}

// Reads lines with 1-based numbers; strips a trailing '\r', and a UTF-8 byte
// order mark before the first line (spreadsheets write one when they export
// CSV; left in place it would become part of the first column's name). A line
// is never longer than kMaxLineBytes: a longer one is refused as it is read,
// not buffered. A read error is reported as such, never taken for the end.
class LineReader {
 public:
  enum class Got : std::uint8_t { line, end, too_long, read_error };
  explicit LineReader(std::istream& in) : in_(in), buf_(kBlockBytes) {}
  // A line longer than kMaxLineBytes is skipped to its end (never held) and
  // reported as too_long, so that the caller may drop it and go on.
  Got next(std::string& line) {
    line.clear();
    bool any = false, too_long = false;
    for (;;) {
      if (pos_ == end_ && !fill()) {
        if (in_.bad()) return Got::read_error;
        if (!any) return Got::end;
        break;  // a last line without a newline
      }
      const char* start = buf_.data() + pos_;
      const void* newline = std::memchr(start, '\n', end_ - pos_);
      const std::size_t n =
          newline ? static_cast<std::size_t>(static_cast<const char*>(newline) - start) : end_ - pos_;
      if (!too_long && line.size() + n > kMaxLineBytes) {
        too_long = true;
        std::string().swap(line);
      }
      if (!too_long) line.append(start, n);
      any = true;
      pos_ += n;
      if (newline) {
        ++pos_;
        break;
      }
    }
    ++number_;
    if (too_long) return Got::too_long;
    if (number_ == 1 && line.compare(0, kBom.size(), kBom) == 0) line.erase(0, kBom.size());
    if (!line.empty() && line.back() == '\r') line.pop_back();
    return Got::line;
  }
  std::int64_t number() const { return number_; }

 private:
  static constexpr std::string_view kBom = "\xEF\xBB\xBF";
  static constexpr std::size_t kBlockBytes = 64 * 1024;
  bool fill() {
    pos_ = end_ = 0;
    if (!in_.good()) return false;
    in_.read(buf_.data(), static_cast<std::streamsize>(buf_.size()));
    end_ = static_cast<std::size_t>(in_.gcount());
    return end_ > 0;
  }
  std::istream& in_;
  std::vector<char> buf_;
  std::size_t pos_ = 0, end_ = 0;
  std::int64_t number_ = 0;
};

bool is_blank(std::string_view s) { return s.find_first_not_of(" \t") == std::string_view::npos; }

bool all_digits(std::string_view s) {
  return !s.empty() && s.find_first_not_of("0123456789") == std::string_view::npos;
}

Error row_error(const std::string& file, std::int64_t line, std::string field, std::string message) {
  Error e = make_error(ErrorKind::input, std::move(message), std::move(field));
  e.file = file;
  e.line = line;
  return e;
}

// What a line longer than kMaxLineBytes is (with repair, a dropped row).
const char* const kTooLong = "line longer than 1 MiB (1048576 bytes): not a CSV row";
static_assert(kMaxLineBytes == 1048576);

// The error for a line the reader could not return.
Error line_failure(const std::string& file, const LineReader& reader, LineReader::Got got) {
  if (got == LineReader::Got::too_long) return row_error(file, reader.number(), "", kTooLong);
  return make_file_error(ErrorKind::io, file, "read failed");
}

// A file with nothing to import is refused rather than turned into an empty
// log that looks like a successful import.
Error no_data_rows(const std::string& file, bool had_header) {
  return make_file_error(
      ErrorKind::input, file,
      had_header ? "no data rows (only one line, read as the header)" : "no data rows (the file is empty)");
}

std::string where(const std::string& file, std::int64_t line) { return file + ":" + std::to_string(line); }

// RFC 3339 without a zero millisecond part, for messages.
std::string fmt_time(std::int64_t ms) {
  std::string s = format_rfc3339(ms);
  if (s.size() > 5 && s.compare(s.size() - 5, 5, ".000Z") == 0) s.replace(s.size() - 5, 5, "Z");
  return s;
}

// The value parsers below return an input Error carrying only a message; the
// caller names the column (row_error) or the option.
Result<std::int64_t> parse_rfc3339_text(std::string_view text) {
  JsonValue v;
  v.kind = JsonValue::Kind::string;
  v.text = std::string(text);
  return parse_timestamp(v);
}

Result<std::int64_t> parse_uint64(std::string_view text) {
  if (!all_digits(text)) return make_error(ErrorKind::input, "not a non-negative integer");
  if (text.size() > 18) return make_error(ErrorKind::input, "integer out of range");
  std::int64_t v = 0;
  for (char c : text) v = v * 10 + (c - '0');
  return v;
}

Result<std::int64_t> parse_price(std::string_view text) {
  Result<std::int64_t> raw = parse_decimal_raw(text);
  if (!raw) return raw;
  if (*raw <= 0)
    return make_error(ErrorKind::input, "price must be positive (got " + std::string(text) + ")");
  return raw;
}

// A volume column is not used, but a malformed one betrays a shifted row:
// it must be a non-negative decimal (any number of fractional digits), with
// an optional exponent ("1e-05", as Python writes small volumes).
bool is_plain_decimal(std::string_view s) {
  std::size_t e = s.find_first_of("eE");
  if (e != std::string_view::npos) {
    std::string_view exp = s.substr(e + 1);
    if (!exp.empty() && (exp[0] == '-' || exp[0] == '+')) exp.remove_prefix(1);
    if (!all_digits(exp)) return false;
    s = s.substr(0, e);
  }
  std::size_t dot = s.find('.');
  std::string_view a = s.substr(0, dot);
  if (!all_digits(a)) return false;
  if (dot == std::string_view::npos) return true;
  std::string_view b = s.substr(dot + 1);
  return b.empty() || all_digits(b);
}

// ---- candle layouts ----

struct Columns {
  // Column indexes (or -1) and their names for messages.
  int time = -1, time_end = -1, time_check = -1, open = -1, high = -1, low = -1, close = -1, volume = -1;
  std::vector<std::string> names;
  std::size_t min_columns = 0;
  bool header = false;
};

int find_col(const std::vector<std::string_view>& header, std::string_view name) {
  for (std::size_t i = 0; i < header.size(); ++i)
    if (header[i] == name) return static_cast<int>(i);
  return -1;
}

Result<Columns> columns_from_header(CandleLayout layout, const std::vector<std::string_view>& fields,
                                    const std::string& file, std::int64_t line) {
  Columns c;
  c.header = true;
  for (auto f : fields) c.names.emplace_back(f);
  struct Want {
    int* slot;
    const char* name;
  };
  std::vector<Want> wants;
  if (layout == CandleLayout::coinapi) {
    wants = {{&c.time, "period_start_utc"},
             {&c.time_end, "period_end_utc"},
             {&c.open, "open"},
             {&c.high, "high"},
             {&c.low, "low"},
             {&c.close, "close"},
             {&c.volume, "volume"}};
  } else {
    wants = {{&c.time, "open_time_unix_s"},
             {&c.time_check, "open_time_utc"},
             {&c.open, "open"},
             {&c.high, "high"},
             {&c.low, "low"},
             {&c.close, "close"}};
  }
  for (const Want& w : wants) {
    *w.slot = find_col(fields, w.name);
    if (*w.slot < 0)
      return row_error(file, line, w.name,
                       std::string("missing column in the ") + candle_layout_name(layout) + " header");
  }
  if (layout == CandleLayout::binanceus) {
    // volume_btc, or any volume_* column, is optional
    for (std::size_t i = 0; i < fields.size(); ++i)
      if (fields[i].substr(0, 6) == "volume") {
        c.volume = static_cast<int>(i);
        break;
      }
  }
  c.min_columns = fields.size();
  return c;
}

Columns kline_columns(const std::vector<std::string_view>* header) {
  Columns c;
  c.time = 0;
  c.open = 1;
  c.high = 2;
  c.low = 3;
  c.close = 4;
  c.volume = 5;
  c.min_columns = 6;
  if (header) {
    c.header = true;
    for (auto f : *header) c.names.emplace_back(f);
  } else {
    c.names = {"open_time", "open", "high", "low", "close", "volume"};
  }
  return c;
}

// The name of column i for messages; a header shorter than the layout's
// column indexes (a malformed first line) must not be read out of bounds.
std::string column_name(const Columns& cols, int i) {
  if (i >= 0 && static_cast<std::size_t>(i) < cols.names.size())
    return cols.names[static_cast<std::size_t>(i)];
  return "column " + std::to_string(i + 1);
}

// Parses one data row into a candle; `bar_end_ms` gets CoinAPI's period end.
Result<Candle> parse_candle_row(CandleLayout layout, const Columns& cols,
                                const std::vector<std::string_view>& f, const std::string& file,
                                std::int64_t line, std::int64_t& bar_end_ms) {
  auto name = [&](int i) { return column_name(cols, i); };
  auto err = [&](int i, std::string msg) { return row_error(file, line, name(i), std::move(msg)); };
  if (f.size() < cols.min_columns ||
      (cols.header && layout != CandleLayout::kline && f.size() != cols.min_columns))
    return row_error(
        file, line, f.size() < cols.min_columns ? name(static_cast<int>(f.size())) : "",
        "expected " + std::to_string(cols.min_columns) + " columns, found " + std::to_string(f.size()));
  Candle c;
  c.line = line;
  std::string_view t = f[cols.time];
  if (layout == CandleLayout::coinapi) {
    Result<std::int64_t> start = parse_rfc3339_text(t);
    if (!start) return err(cols.time, start.error().message);
    c.open_ms = *start;
    Result<std::int64_t> end = parse_rfc3339_text(f[cols.time_end]);
    if (!end) return err(cols.time_end, end.error().message);
    bar_end_ms = *end;
  } else if (layout == CandleLayout::binanceus) {
    Result<std::int64_t> secs = parse_uint64(t);
    if (!secs) return err(cols.time, secs.error().message);
    if (*secs > 253402300799) return err(cols.time, "seconds beyond the year 9999");
    c.open_ms = *secs * 1000;
    Result<std::int64_t> check = parse_rfc3339_text(f[cols.time_check]);
    if (!check) return err(cols.time_check, check.error().message);
    if (*check != c.open_ms)
      return err(cols.time_check, "disagrees with " + name(cols.time) + " (" + fmt_time(c.open_ms) + ")");
  } else {
    Result<std::int64_t> parsed = parse_uint64(t);
    if (!parsed) return err(cols.time, parsed.error().message);
    std::int64_t v = *parsed;
    if (t.size() >= 16) {  // microseconds (Binance spot klines since 2025)
      if (v % 1000 != 0) return err(cols.time, "microsecond open time not on a millisecond");
      v /= 1000;
    }
    c.open_ms = v;
    if (c.open_ms > 253'402'300'799'999) return err(cols.time, "open time beyond the year 9999");
  }
  const std::pair<int, std::int64_t*> prices[] = {
      {cols.open, &c.open}, {cols.high, &c.high}, {cols.low, &c.low}, {cols.close, &c.close}};
  for (const auto& [col, slot] : prices) {
    Result<std::int64_t> price = parse_price(f[col]);
    if (!price) return err(col, price.error().message);
    *slot = *price;
  }
  if (cols.volume >= 0 && static_cast<std::size_t>(cols.volume) < f.size() &&
      !is_plain_decimal(f[cols.volume]))
    return err(cols.volume, "not a non-negative number");
  return c;
}

}  // namespace

const char* candle_layout_name(CandleLayout layout) {
  switch (layout) {
    case CandleLayout::auto_detect:
      return "auto";
    case CandleLayout::coinapi:
      return "coinapi";
    case CandleLayout::binanceus:
      return "binanceus";
    case CandleLayout::kline:
      return "kline";
  }
  return "?";
}

std::optional<CandleLayout> parse_candle_layout(std::string_view text) {
  if (text == "auto") return CandleLayout::auto_detect;
  if (text == "coinapi") return CandleLayout::coinapi;
  if (text == "binanceus") return CandleLayout::binanceus;
  if (text == "kline") return CandleLayout::kline;
  return std::nullopt;
}

std::optional<TimeUnit> parse_time_unit(std::string_view text) {
  if (text == "auto") return TimeUnit::auto_detect;
  if (text == "s") return TimeUnit::seconds;
  if (text == "ms") return TimeUnit::millis;
  if (text == "us") return TimeUnit::micros;
  return std::nullopt;
}

Status check_name_option(std::string_view name, const std::string& option) {
  // A probe event that carries nothing but the name: validate_event judges it
  // exactly as it judges every decoded or written event.
  Symbols symbols;
  const InputEvent probe{0, PriceEvent{symbols.intern(name), Price::from_raw(kScale)}};
  Status st = validate_event(probe, symbols);
  if (st) return st;
  LIQSIM_ASSERT(st.error().field == "asset", "the probe event can only fail on its name");
  return make_error(ErrorKind::usage, "not a valid name: " + st.error().message, option);
}

Status check_price_asset(std::string_view asset, const std::string& option) {
  if (Status st = check_name_option(asset, option); !st) return st;
  if (asset == "USD")
    return make_error(ErrorKind::usage,
                      "USD is the numeraire; its price is always 1 (replay refuses a price event for it)",
                      option);
  return Status::success();
}

Result<std::int64_t> parse_time_arg(std::string_view text) {
  if (all_digits(text)) return parse_uint64(text);
  return parse_rfc3339_text(text);
}

namespace {

// Calls f(ts_ms, price_raw) for the ticks of one bar, in path order.
template <class F>
void for_each_tick(const Candle& c, std::int64_t bar_ms, int ticks_per_bar, F&& f) {
  LIQSIM_ASSERT(bar_ms > 0, "bar length must be positive");
  const std::int64_t step = bar_ms / ticks_per_bar;
  switch (ticks_per_bar) {
    case 1:
      f(c.open_ms, c.close);
      break;
    case 2:
      f(c.open_ms, c.open);
      f(c.open_ms + step, c.close);
      break;
    case 4: {
      // close >= open: the bar dipped first, then rallied (low before high).
      const bool up = c.close >= c.open;
      f(c.open_ms, c.open);
      f(c.open_ms + step, up ? c.low : c.high);
      f(c.open_ms + 2 * step, up ? c.high : c.low);
      f(c.open_ms + 3 * step, c.close);
      break;
    }
    default:
      LIQSIM_ASSERT(false, "ticks per bar must be 1, 2 or 4");
  }
}

}  // namespace

std::vector<std::pair<std::int64_t, std::int64_t>> candle_ticks(const Candle& c, std::int64_t bar_ms,
                                                                int ticks_per_bar) {
  std::vector<std::pair<std::int64_t, std::int64_t>> out;
  for_each_tick(c, bar_ms, ticks_per_bar,
                [&](std::int64_t ts, std::int64_t price) { out.emplace_back(ts, price); });
  return out;
}

namespace {

using RepairFn = std::function<void(std::int64_t line, const std::string& what)>;

Error changed_while_read(const std::string& file) {
  return make_file_error(ErrorKind::io, file,
                         "changed while it was being read (the importer reads it more than once); "
                         "import a copy that nothing writes to");
}

// One pass over a candle CSV: the rows that survive the checks of a single
// row (parsed, inside [from, to), CoinAPI's bar length, impossible high/low
// widened or refused, wicks clipped), in file order. The first pass reports
// and counts; later passes are silent and check that they read the very rows
// of the first (count and fingerprint), so a file that changed in between is
// an error rather than a different import.
class CandleRowReader {
 public:
  CandleRowReader(std::istream& in, const std::string& file, const CandleOptions& opt, const ReportFn* report,
                  ImportStats& stats)
      : reader_(in), file_(file), opt_(opt), report_(report), stats_(stats), layout_(opt.layout) {}

  // Later passes: at most `rows` rows may be read.
  void expect(std::int64_t rows) { expected_ = rows; }

  // true: `out` is the next row. false: the end of the input, or (strict)
  // the first bad row, whose error is then row_failure().
  Result<bool> next(Candle& out) {
    if (done_) return false;
    for (;;) {
      const LineReader::Got got = reader_.next(line_);
      if (got == LineReader::Got::end) break;
      if (got == LineReader::Got::too_long &&
          have_cols_) {  // a data row (the first line says what the file is)
        ++stats_.rows;
        if (opt_.repair) {
          repaired(reader_.number(), std::string("dropped malformed row (") + kTooLong + ")");
          continue;
        }
        row_failure_ = line_failure(file_, reader_, got);
        break;
      }
      if (got != LineReader::Got::line) return line_failure(file_, reader_, got);
      auto row = take(out);
      if (!row) return row.error();
      if (!*row) {
        if (done_) return false;  // strict: the first bad row ends the rows
        continue;
      }
      ++accepted_;
      if (expected_ >= 0 && accepted_ > expected_) return changed_while_read(file_);
      for (std::int64_t v : {out.open_ms, out.open, out.high, out.low, out.close, out.line}) {
        fingerprint_ = (fingerprint_ ^ static_cast<std::uint64_t>(v)) * 0x9E3779B97F4A7C15ull;
        fingerprint_ ^= fingerprint_ >> 31;
      }
      return true;
    }
    done_ = true;
    return false;
  }

  // Whether this pass read the same rows as `first` (call at the end).
  bool same_rows_as(const CandleRowReader& first) const {
    return accepted_ == first.accepted_ && fingerprint_ == first.fingerprint_ &&
           row_failure_.has_value() == first.row_failure_.has_value();
  }
  const std::optional<Error>& row_failure() const { return row_failure_; }
  bool have_header_line() const { return have_cols_; }
  std::int64_t accepted() const { return accepted_; }
  CandleLayout layout() const { return layout_; }
  std::int64_t coinapi_bar_ms() const { return coinapi_bar_ms_; }
  std::string time_field() const {
    return cols_.names.empty() ? std::string("time") : column_name(cols_, cols_.time);
  }

 private:
  void repaired(std::int64_t line, const std::string& what) {
    ++stats_.repairs;
    if (report_ && *report_) (*report_)(where(file_, line) + ": repaired: " + what);
  }
  void clipped(std::int64_t line, const std::string& what) {
    ++stats_.clipped;
    if (report_ && *report_) (*report_)(where(file_, line) + ": clipped: " + what + " (--max-move)");
  }

  // One line: ok(true) with a row in `c`, ok(false) to skip it, or an error
  // that stops the import. Sets done_ at a strict-mode row failure.
  Result<bool> take(Candle& c) {
    if (is_blank(line_)) return false;
    split_csv(line_, fields_);
    const std::int64_t ln = reader_.number();
    if (!have_cols_) {
      have_cols_ = true;
      const bool numeric_first = all_digits(fields_[0]);
      if (layout_ == CandleLayout::auto_detect) {
        if (fields_[0] == "period_start_utc")
          layout_ = CandleLayout::coinapi;
        else if (fields_[0] == "open_time_unix_s")
          layout_ = CandleLayout::binanceus;
        else
          layout_ = CandleLayout::kline;
      }
      if (layout_ == CandleLayout::kline) {
        cols_ = kline_columns(numeric_first ? nullptr : &fields_);
        if (!numeric_first) return false;  // a header line
      } else {
        if (numeric_first)
          return row_error(
              file_, ln, "",
              std::string("the ") + candle_layout_name(layout_) + " layout needs its header line");
        auto columns = columns_from_header(layout_, fields_, file_, ln);
        if (!columns) return columns.error();
        cols_ = std::move(*columns);
        return false;
      }
    }
    ++stats_.rows;
    auto fail = [&](Error e) -> Result<bool> {
      row_failure_ = std::move(e);
      done_ = true;
      return false;
    };
    std::int64_t bar_end_ms = 0;
    auto candle = parse_candle_row(layout_, cols_, fields_, file_, ln, bar_end_ms);
    if (!candle) {
      if (!opt_.repair) return fail(candle.error());
      repaired(ln, "dropped malformed row (" + candle.error().describe().substr(where(file_, ln).size() + 2) +
                       ")");
      return false;
    }
    c = *candle;
    if ((opt_.from_ms && c.open_ms < *opt_.from_ms) || (opt_.to_ms && c.open_ms >= *opt_.to_ms)) {
      ++stats_.filtered;
      return false;
    }
    if (layout_ == CandleLayout::coinapi) {
      const std::int64_t len = bar_end_ms - c.open_ms;
      std::string msg;
      if (len <= 0)
        msg = "period end is not after period start";
      else if (coinapi_bar_ms_ != 0 && len != coinapi_bar_ms_)
        msg = "bar length " + std::to_string(len) + " ms differs from " + std::to_string(coinapi_bar_ms_) +
              " ms at line " + std::to_string(coinapi_bar_line_);
      else if (opt_.bar_ms != 0 && len != opt_.bar_ms)
        msg = "bar length " + std::to_string(len) + " ms differs from --bar-seconds";
      if (!msg.empty()) {
        if (!opt_.repair) return fail(row_error(file_, ln, column_name(cols_, cols_.time_end), msg));
        repaired(ln, "dropped row (" + msg + ")");
        return false;
      }
      if (coinapi_bar_ms_ == 0) {
        coinapi_bar_ms_ = len;
        coinapi_bar_line_ = ln;
      }
    }
    // Impossible high / low.
    const std::int64_t hi_min = std::max(c.open, c.close), lo_max = std::min(c.open, c.close);
    if (c.high < hi_min || c.low > lo_max) {
      if (!opt_.repair) {
        const bool bad_high = c.high < hi_min;
        return fail(row_error(file_, ln, column_name(cols_, bad_high ? cols_.high : cols_.low),
                              bad_high ? "high " + format_decimal_raw(c.high) +
                                             " is below max(open, close) " + format_decimal_raw(hi_min)
                                       : "low " + format_decimal_raw(c.low) + " is above min(open, close) " +
                                             format_decimal_raw(lo_max)));
      }
      if (c.high < hi_min) {
        repaired(ln, "widened high " + format_decimal_raw(c.high) + " to " + format_decimal_raw(hi_min));
        c.high = hi_min;
      }
      if (c.low > lo_max) {
        repaired(ln, "widened low " + format_decimal_raw(c.low) + " to " + format_decimal_raw(lo_max));
        c.low = lo_max;
      }
    }
    // Wick filter.
    if (opt_.max_move_raw) {
      const i128 m = *opt_.max_move_raw;
      // The cap of a bar near the top of the range is beyond it: nothing above
      // the range can be clipped, so the cap is the range's top (a narrowing
      // cast would wrap it negative and "clip" every high to it).
      const i128 cap = i128(hi_min) * (kScale + m) / kScale;
      const std::int64_t hi_cap = cap > INT64_MAX ? INT64_MAX : static_cast<std::int64_t>(cap);
      const std::int64_t lo_floor_raw =
          static_cast<std::int64_t>((i128(lo_max) * (kScale - m) + kScale - 1) / kScale);
      const std::int64_t lo_floor = std::max<std::int64_t>(lo_floor_raw, 1);
      if (c.high > hi_cap) {
        clipped(ln, "high " + format_decimal_raw(c.high) + " to " + format_decimal_raw(hi_cap));
        c.high = hi_cap;
      }
      if (c.low < lo_floor) {
        clipped(ln, "low " + format_decimal_raw(c.low) + " to " + format_decimal_raw(lo_floor));
        c.low = lo_floor;
      }
    }
    return true;
  }

  LineReader reader_;
  const std::string& file_;
  const CandleOptions& opt_;
  const ReportFn* report_;
  ImportStats& stats_;
  std::string line_;
  std::vector<std::string_view> fields_;
  CandleLayout layout_;
  Columns cols_;
  bool have_cols_ = false;
  std::int64_t coinapi_bar_ms_ = 0, coinapi_bar_line_ = 0;
  std::optional<Error> row_failure_;
  bool done_ = false;
  std::int64_t accepted_ = 0, expected_ = -1;
  std::uint64_t fingerprint_ = 0xcbf29ce484222325ull;
};

// A row that came after a later bar (repair mode): held until its place in
// time order comes. prev_open_ms is the open time of the row before it in the
// file, for the report when it is lower than that one's.
struct LateRow {
  Candle candle;
  std::int64_t prev_open_ms = 0;
  bool descent = false;
};

bool time_order(const Candle& a, const Candle& b) {
  return a.open_ms != b.open_ms ? a.open_ms < b.open_ms : a.line < b.line;
}

// The rows of a pass in time order, as a stable sort of the whole file would
// give them: the rows that are not late (a non-decreasing run, read from the
// file) merged with the late ones (held in memory, sorted by open time, then
// line). Duplicates are passed on (the caller keeps the first).
class TimeOrderedRows {
 public:
  TimeOrderedRows(CandleRowReader& rows, const std::vector<LateRow>& late) : rows_(rows), late_(late) {}
  Result<bool> next(Candle& out) {
    if (!pending_ && !rows_done_) {
      Candle c;
      for (;;) {
        auto got = rows_.next(c);
        if (!got) return got.error();
        if (!*got) {
          rows_done_ = true;
          break;
        }
        if (c.open_ms < running_max_) continue;  // a late row: it comes from late_
        running_max_ = c.open_ms;
        pending_ = c;
        break;
      }
    }
    const bool take_late = k_ < late_.size() && (!pending_ || time_order(late_[k_].candle, *pending_));
    if (take_late) {
      out = late_[k_++].candle;
      return true;
    }
    if (!pending_) return false;
    out = *pending_;
    pending_.reset();
    return true;
  }

 private:
  CandleRowReader& rows_;
  const std::vector<LateRow>& late_;
  std::size_t k_ = 0;
  std::optional<Candle> pending_;
  bool rows_done_ = false;
  std::int64_t running_max_ = INT64_MIN;
};

// Gaps and the bar grid, one bar at a time in time order (no duplicates):
// strict, a row off the grid or after a gap is an error; with repair the row
// is dropped or the gap filled with flat bars at the previous close, within
// kMaxGapFillBars per gap and `fill_limit` in all. Reports only when given a
// repair callback; emits bars only when given `on_bar`.
class BarGrid {
 public:
  BarGrid(const std::string& file, std::string time_field, bool repair, std::int64_t bar_ms,
          std::int64_t fill_limit)
      : file_(file),
        time_field_(std::move(time_field)),
        repair_(repair),
        bar_(bar_ms),
        fill_limit_(fill_limit) {}

  std::optional<Error> add(const Candle& c, const RepairFn* repaired, const BarFn* on_bar) {
    if (bar_ <= 0) return changed_while_read(file_);  // rows where the first pass saw too few to know the bar
    if (prev_) {
      const Candle prev = *prev_;
      const std::int64_t d = c.open_ms - prev.open_ms;
      if (d <= 0) return changed_while_read(file_);  // the first pass put these rows in order
      if (d % bar_ != 0) {
        std::string msg = "open time " + fmt_time(c.open_ms) + " is not on the " + std::to_string(bar_) +
                          " ms grid of line " + std::to_string(prev.line);
        if (!repair_) return row_error(file_, c.line, time_field_, msg);
        if (repaired) (*repaired)(c.line, "dropped row off the bar grid (" + msg + ")");
        return std::nullopt;
      }
      if (d > bar_) {
        const std::int64_t missing = d / bar_ - 1;
        const std::string msg = std::to_string(missing) + " missing bar" + (missing == 1 ? "" : "s") +
                                " from " + fmt_time(prev.open_ms + bar_) + " to " +
                                fmt_time(c.open_ms - bar_);
        const std::string after = " (after line " + std::to_string(prev.line) + ")";
        if (!repair_ || missing > kMaxGapFillBars)
          return row_error(
              file_, c.line, time_field_,
              std::string(repair_ ? "gap too long to fill (more than 1,000,000 bars): " : "gap: ") + msg +
                  after);
        if (filled_ + missing > fill_limit_)
          return row_error(file_, c.line, time_field_,
                           "gap fills over --repair's limit: filling " + msg + after + " would make " +
                               std::to_string(filled_ + missing) + " filled bars in all, more than " +
                               std::to_string(fill_limit_) +
                               " (1,000,000 plus one per data row of the file)");
        if (repaired)
          (*repaired)(c.line,
                      "filled gap of " + msg + " with the previous close " + format_decimal_raw(prev.close));
        filled_ += missing;
        if (on_bar) {
          Candle fill;
          fill.open = fill.high = fill.low = fill.close = prev.close;
          for (std::int64_t k = 1; k <= missing; ++k) {
            fill.open_ms = prev.open_ms + k * bar_;
            (*on_bar)(fill);
          }
        }
      }
    }
    prev_ = c;
    if (on_bar) (*on_bar)(c);
    return std::nullopt;
  }

 private:
  const std::string& file_;
  std::string time_field_;
  bool repair_;
  std::int64_t bar_, fill_limit_, filled_ = 0;
  std::optional<Candle> prev_;
};

// Strict mode: what BarGrid will say, known from the first pass. The rows are
// strictly increasing; with a known bar (given, or CoinAPI's) the first pair
// whose step differs from it fails. With an inferred bar (the smallest step)
// the first step fails when the bar turns out smaller than it, else the first
// pair whose step differs from the first step does.
struct StrictGridForecast {
  std::optional<std::pair<Candle, Candle>> first_pair, first_off_known, first_off_first;
  void add(const Candle& prev, const Candle& c, std::int64_t known_bar) {
    const std::int64_t d = c.open_ms - prev.open_ms;
    if (!first_pair) first_pair = {prev, c};
    if (known_bar != 0 && d != known_bar && !first_off_known) first_off_known = {prev, c};
    if (d != first_pair->second.open_ms - first_pair->first.open_ms && !first_off_first)
      first_off_first = {prev, c};
  }
  const std::optional<std::pair<Candle, Candle>>& failing(bool bar_known, std::int64_t bar) const {
    if (bar_known) return first_off_known;
    if (first_pair && bar < first_pair->second.open_ms - first_pair->first.open_ms) return first_pair;
    return first_off_first;
  }
};

// The passes of one candle import (import.hpp, "Memory and passes").
class CandleImport {
 public:
  CandleImport(std::istream& in, const std::string& file, const CandleOptions& opt, const ReportFn& report,
               ImportStats& stats)
      : in_(in),
        file_(file),
        opt_(opt),
        report_(report),
        stats_(stats),
        first_(in, file, opt, &report, stats) {
    repaired_ = [this](std::int64_t line, const std::string& what) {
      ++stats_.repairs;
      if (report_) report_(where(file_, line) + ": repaired: " + what);
    };
  }

  Status run(const BarFn& on_bar) {
    start_ = in_.tellg();
    if (start_ == std::streampos(-1))
      return make_file_error(ErrorKind::io, file_, "cannot be read more than once (give a regular file)");
    if (Status st = scan(); !st) return st;
    if (opt_.repair) {
      report_moved_rows();
      if (Status st = order_pass(); !st) return st;
    }
    if (bar_ == 0 && any_) {
      if (first_.row_failure()) return *first_.row_failure();
      return row_error(file_, first_row_line_, time_field_,
                       "cannot infer the bar length from a single row; give --bar-seconds");
    }
    stats_.bar_ms = bar_;
    stats_.layout = first_.layout();
    if (!opt_.repair) {
      if (std::optional<Error> e = strict_grid_failure()) return *e;
      if (first_.row_failure()) return *first_.row_failure();
    } else if (!grid_checked_) {
      if (Status st = check_pass(); !st) return st;
    }
    if (!any_) {
      stats_.bars = 0;
      return Status::success();
    }
    return emit_pass(on_bar);
  }

 private:
  // Pass 1: every row checked and reported (CandleRowReader); strict: the
  // order; repair: the late rows; the smallest step between in-order rows.
  Status scan() {
    Candle c, prev, s_last;
    bool have_s = false;
    std::int64_t running_max = INT64_MIN;
    std::optional<Error> order_failure;
    for (;;) {
      auto got = first_.next(c);
      if (!got) return got.error();
      if (!*got) break;
      if (opt_.repair) {
        if (c.open_ms < running_max) {
          late_.push_back(LateRow{c, prev.open_ms, c.open_ms < prev.open_ms});
        } else {
          if (have_s && c.open_ms != s_last.open_ms) note_step(c.open_ms - s_last.open_ms);
          s_last = c;
          have_s = true;
          running_max = c.open_ms;
        }
      } else if (any_ && !order_failure) {
        order_failure = strict_order(prev, c);
        if (!order_failure) {
          note_step(c.open_ms - prev.open_ms);
          forecast_.add(prev, c, opt_.bar_ms != 0 ? opt_.bar_ms : first_.coinapi_bar_ms());
        }
      }
      if (!any_) first_row_line_ = c.line;
      any_ = true;
      prev = c;
    }
    if (stats_.rows == 0) return no_data_rows(file_, first_.have_header_line());
    if (order_failure) return *order_failure;
    time_field_ = first_.time_field();
    fill_limit_ = fill_limit_bars(stats_.rows);
    bar_ = opt_.bar_ms != 0 ? opt_.bar_ms : first_.coinapi_bar_ms();
    bar_given_ = bar_ != 0;
    if (bar_ == 0 && late_.empty()) bar_ = min_step_;  // else the order pass finds it
    return Status::success();
  }

  void note_step(std::int64_t d) {
    if (min_step_ == 0 || d < min_step_) min_step_ = d;
  }

  std::optional<Error> strict_order(const Candle& prev, const Candle& c) const {
    if (c.open_ms == prev.open_ms)
      return row_error(file_, c.line, first_.time_field(),
                       "duplicate bar: same open time as line " + std::to_string(prev.line));
    if (c.open_ms < prev.open_ms)
      return row_error(file_, c.line, first_.time_field(),
                       "out of order: " + fmt_time(c.open_ms) + " is before line " +
                           std::to_string(prev.line) + "'s " + fmt_time(prev.open_ms));
    return std::nullopt;
  }

  // Repair: "moved" for every row below the one before it, in file order;
  // then the late rows in time order for the merges of later passes.
  void report_moved_rows() {
    for (const LateRow& r : late_)
      if (r.descent)
        repaired_(r.candle.line, "moved row into time order (" + fmt_time(r.candle.open_ms) + " after " +
                                     fmt_time(r.prev_open_ms) + ")");
    std::sort(late_.begin(), late_.end(),
              [](const LateRow& a, const LateRow& b) { return time_order(a.candle, b.candle); });
  }

  // Repair, pass 2: duplicates reported; the bar when late rows hid it; the
  // gaps checked when the bar is already known.
  Status order_pass() {
    const bool check_now = bar_ != 0;
    BarGrid check(file_, time_field_, true, bar_, fill_limit_);
    std::int64_t ordered_min_step = 0;
    Status st = each_in_time_order([&](const Candle& c, const Candle* kept) {
      if (kept && kept->open_ms == c.open_ms) {
        repaired_(c.line, "dropped duplicate of line " + std::to_string(kept->line) + " (kept the first)");
        return false;
      }
      if (kept && (ordered_min_step == 0 || c.open_ms - kept->open_ms < ordered_min_step))
        ordered_min_step = c.open_ms - kept->open_ms;
      if (check_now && !grid_failure_) grid_failure_ = check.add(c, nullptr, nullptr);
      return true;
    });
    if (!st) return st;
    if (bar_ == 0) bar_ = ordered_min_step;
    grid_checked_ = check_now;
    return Status::success();
  }

  // Repair, pass 3 (when pass 2 did not know the bar): the gaps checked.
  Status check_pass() {
    BarGrid check(file_, time_field_, true, bar_, fill_limit_);
    return each_in_time_order([&](const Candle& c, const Candle* kept) {
      if (kept && kept->open_ms == c.open_ms) return false;
      if (!grid_failure_) grid_failure_ = check.add(c, nullptr, nullptr);
      return true;
    });
  }

  // Strict: the gap or grid error the rows will meet, known from pass 1.
  std::optional<Error> strict_grid_failure() const {
    if (!any_) return std::nullopt;
    const auto& pair = forecast_.failing(bar_given_, bar_);
    if (!pair) return std::nullopt;
    BarGrid grid(file_, time_field_, false, bar_, fill_limit_);
    (void)grid.add(pair->first, nullptr, nullptr);
    std::optional<Error> e = grid.add(pair->second, nullptr, nullptr);
    LIQSIM_ASSERT(e.has_value(), "the forecast pair fails the bar grid");
    return e;
  }

  // The last pass: the bars, gap fills included, with the gap and grid
  // reports; when a check pass found a failing gap, only the reports up to it.
  Status emit_pass(const BarFn& on_bar) {
    BarGrid grid(file_, time_field_, opt_.repair, bar_, fill_limit_);
    std::int64_t bars = 0;
    const BarFn count_and_emit = [&](const Candle& b) {
      ++bars;
      on_bar(b);
    };
    const RepairFn* report_repairs = opt_.repair ? &repaired_ : nullptr;
    const BarFn* emit = grid_failure_ ? nullptr : &count_and_emit;
    std::optional<Error> failure;
    Status st = each_in_time_order(
        [&](const Candle& c, const Candle* kept) {
          if (kept && kept->open_ms == c.open_ms) return false;
          failure = grid.add(c, report_repairs, emit);
          return true;
        },
        &failure);
    if (failure) return *failure;
    if (!st) return st;
    if (grid_failure_) return *grid_failure_;  // (the pass above stops at it)
    stats_.bars = bars;
    return Status::success();
  }

  // One silent pass from the start: f(row, kept) for every row in time order
  // (strict: file order), `kept` the last row f kept (returned true for), or
  // null. Stops when *stop gets a value. Checks that it read the rows of pass 1.
  template <class F>
  Status each_in_time_order(F&& f, const std::optional<Error>* stop = nullptr) {
    in_.clear();
    in_.seekg(start_);
    if (!in_) return make_file_error(ErrorKind::io, file_, "cannot be read more than once (seek failed)");
    ImportStats scratch;  // what a later pass counts (again)
    CandleRowReader rows(in_, file_, opt_, nullptr, scratch);
    rows.expect(first_.accepted());
    TimeOrderedRows ordered(rows, late_);
    std::optional<Candle> kept;
    Candle c;
    for (;;) {
      auto got = opt_.repair ? ordered.next(c) : rows.next(c);
      if (!got) return got.error();
      if (!*got) break;
      if (f(c, kept ? &*kept : nullptr)) kept = c;
      if (stop && stop->has_value()) return Status::success();
    }
    if (!rows.same_rows_as(first_)) return changed_while_read(file_);
    return Status::success();
  }

  std::istream& in_;
  const std::string& file_;
  const CandleOptions& opt_;
  const ReportFn& report_;
  ImportStats& stats_;
  RepairFn repaired_;
  CandleRowReader first_;  // pass 1, which reports and counts
  std::streampos start_;
  bool any_ = false;  // any row survived the single-row checks
  std::int64_t first_row_line_ = 0;
  std::int64_t min_step_ = 0;    // the smallest step between consecutive in-order rows
  std::vector<LateRow> late_;    // repair: rows after a later bar (file order, then time order)
  StrictGridForecast forecast_;  // strict
  std::string time_field_;
  std::int64_t fill_limit_ = 0;
  std::int64_t bar_ = 0;
  bool bar_given_ = false;  // --bar-seconds or CoinAPI's bar length
  bool grid_checked_ = false;
  std::optional<Error> grid_failure_;  // repair: what a check pass found
};

}  // namespace

Status read_candles(std::istream& in, const std::string& file, const CandleOptions& opt,
                    const ReportFn& report, ImportStats& stats, const BarFn& on_bar) {
  CandleImport import(in, file, opt, report, stats);
  return import.run(on_bar);
}

Result<std::vector<Candle>> read_candles(std::istream& in, const std::string& file_name,
                                         const CandleOptions& options, const ReportFn& report,
                                         ImportStats& stats) {
  std::vector<Candle> bars;
  Status st =
      read_candles(in, file_name, options, report, stats, [&](const Candle& c) { bars.push_back(c); });
  if (!st) return st.error();
  return bars;
}

Status import_candles(std::istream& in, const std::string& file_name, const std::string& asset,
                      const CandleOptions& options, Symbols& symbols, const EventFn& emit,
                      const ReportFn& report, ImportStats& stats) {
  if (options.ticks_per_bar != 1 && options.ticks_per_bar != 2 && options.ticks_per_bar != 4)
    return make_error(ErrorKind::usage, "ticks per bar must be 1, 2 or 4", "--ticks-per-bar");
  if (Status st = check_price_asset(asset); !st) return st;
  const Sym sym = symbols.intern(asset);
  std::int64_t last_price = 0, events = 0;
  Status st = read_candles(in, file_name, options, report, stats, [&](const Candle& c) {
    for_each_tick(c, stats.bar_ms, options.ticks_per_bar, [&](std::int64_t ts, std::int64_t price) {
      if (!options.keep_repeats && price == last_price) return;
      last_price = price;
      ++events;
      emit(InputEvent{ts, PriceEvent{sym, Price::from_raw(price)}});
    });
  });
  if (!st) return st;
  stats.events = events;
  return Status::success();
}

Result<std::vector<InputEvent>> import_candles(std::istream& in, const std::string& file_name,
                                               const std::string& asset, const CandleOptions& options,
                                               Symbols& symbols, const ReportFn& report, ImportStats& stats) {
  std::vector<InputEvent> events;
  Status st = import_candles(
      in, file_name, asset, options, symbols, [&](const InputEvent& e) { events.push_back(e); }, report,
      stats);
  if (!st) return st.error();
  return events;
}

// ---- trades ----

namespace {

int find_any(const std::vector<std::string_view>& header, std::initializer_list<std::string_view> names) {
  for (auto n : names) {
    int i = find_col(header, n);
    if (i >= 0) return i;
  }
  return -1;
}

// Parses a numeric or RFC 3339 time; `unit` is fixed by the first row when
// auto: an integer part below 1e11 is seconds (to the year 5138), below 1e14
// milliseconds, else microseconds. Times are floored to the millisecond.
Result<std::int64_t> parse_trade_time(std::string_view t, TimeUnit& unit) {
  if (t.find_first_of("Tt-:") != std::string_view::npos) return parse_rfc3339_text(t);
  const std::size_t dot = t.find('.');
  const std::string_view whole_text = t.substr(0, dot);
  const std::string_view frac = dot == std::string_view::npos ? std::string_view{} : t.substr(dot + 1);
  Result<std::int64_t> whole_parsed = parse_uint64(whole_text);
  if (!whole_parsed || (dot != std::string_view::npos && !all_digits(frac)))
    return make_error(ErrorKind::input, "not a time (integer s, ms or us, decimal s, or RFC 3339)");
  const std::int64_t whole = *whole_parsed;
  std::int64_t ms = 0;
  if (unit == TimeUnit::auto_detect) {
    if (whole < 100'000'000'000)
      unit = TimeUnit::seconds;
    else if (whole < 100'000'000'000'000)
      unit = TimeUnit::millis;
    else
      unit = TimeUnit::micros;
  }
  switch (unit) {
    case TimeUnit::seconds: {
      if (whole > 9'000'000'000'000) return make_error(ErrorKind::input, "seconds out of range");
      std::int64_t millis = 0;
      for (std::size_t k = 0; k < 3; ++k) millis = millis * 10 + (k < frac.size() ? frac[k] - '0' : 0);
      ms = whole * 1000 + millis;
      break;
    }
    case TimeUnit::millis:
      ms = whole;
      break;
    case TimeUnit::micros:
      ms = whole / 1000;
      break;
    case TimeUnit::auto_detect:
      break;
  }
  return ms;
}

}  // namespace

Status import_trades(std::istream& in, const std::string& file, const std::string& asset,
                     const TradeOptions& opt, Symbols& symbols, const EventFn& emit, const ReportFn& report,
                     ImportStats& stats) {
  if (Status st = check_price_asset(asset); !st) return st;
  LineReader reader(in);
  std::string line;
  std::vector<std::string_view> fields;
  std::vector<std::string> names;
  int c_time = 0, c_price = 1, c_qty = -1;
  bool started = false;
  TimeUnit unit = opt.time_unit;
  std::int64_t last_ts = INT64_MIN, last_ts_line = 0, last_price = 0;
  const Sym sym = symbols.intern(asset);
  const bool named = !opt.time_column.empty() || !opt.price_column.empty() || !opt.qty_column.empty();

  for (;;) {
    const LineReader::Got got = reader.next(line);
    if (got == LineReader::Got::end) break;
    if (got == LineReader::Got::too_long && started) {  // a data row
      ++stats.rows;
      if (!opt.repair) return line_failure(file, reader, got);
      ++stats.repairs;
      if (report) report(where(file, reader.number()) + ": repaired: dropped row (" + kTooLong + ")");
      continue;
    }
    if (got != LineReader::Got::line) return line_failure(file, reader, got);
    if (is_blank(line)) continue;
    split_csv(line, fields);
    const std::int64_t ln = reader.number();
    if (!started) {
      started = true;
      TimeUnit probe_unit = unit;
      const bool header = !parse_trade_time(fields[0], probe_unit).ok();
      if (header) {
        for (auto f : fields) names.emplace_back(f);
        auto pick = [&](const std::string& wanted, std::initializer_list<std::string_view> aliases,
                        int fallback, const char* what) -> Result<int> {
          if (!wanted.empty()) {
            int i = find_col(fields, wanted);
            if (i < 0)
              return row_error(file, ln, wanted, std::string("no such column in the header (") + what + ")");
            return i;
          }
          int i = find_any(fields, aliases);
          return i >= 0 ? i : fallback;
        };
        auto t =
            pick(opt.time_column, {"time", "timestamp", "ts", "open_time_unix_s", "open_time"}, 0, "time");
        auto p = pick(opt.price_column, {"price", "px", "close"}, 1, "price");
        auto q = pick(opt.qty_column, {"qty", "quantity", "size", "amount", "volume"},
                      fields.size() >= 3 && opt.price_column.empty() ? 2 : -1, "qty");
        if (!t) return t.error();
        if (!p) return p.error();
        if (!q) return q.error();
        c_time = *t;
        c_price = *p;
        c_qty = *q;
        continue;
      }
      if (named) return row_error(file, ln, "", "column names given but the file has no header line");
      names = {"time", "price", "qty"};
      c_qty = fields.size() >= 3 ? 2 : -1;
    }
    ++stats.rows;
    auto name = [&](int i) {
      return static_cast<std::size_t>(i) < names.size() ? names[i] : "column " + std::to_string(i + 1);
    };
    std::optional<Error> bad;
    std::int64_t ts = 0, price = 0;
    const int need = std::max({c_time, c_price, c_qty}) + 1;
    if (static_cast<int>(fields.size()) < need) {
      bad = row_error(
          file, ln, name(static_cast<int>(fields.size())),
          "expected at least " + std::to_string(need) + " columns, found " + std::to_string(fields.size()));
    } else if (Result<std::int64_t> t = parse_trade_time(fields[c_time], unit); !t) {
      bad = row_error(file, ln, name(c_time), t.error().message);
    } else if (Result<std::int64_t> p = parse_price(fields[c_price]); !p) {
      bad = row_error(file, ln, name(c_price), p.error().message);
    } else {
      ts = *t;
      price = *p;
      if (c_qty >= 0) {
        Result<std::int64_t> qty = parse_decimal_raw(fields[c_qty]);
        if (!qty)
          bad = row_error(file, ln, name(c_qty), qty.error().message);
        else if (*qty <= 0)
          bad = row_error(file, ln, name(c_qty), "quantity must be positive");
      }
    }
    if (!bad) {
      ts += opt.shift_ms;
      if (ts < 0)
        bad = row_error(file, ln, name(c_time), "time before 1970-01-01 after the shift");
      else if (ts > limits::kMaxTimestampMs)
        bad = row_error(file, ln, name(c_time), "time after the event log's range (year 33658)");
    }
    if (!bad && ((opt.from_ms && ts < *opt.from_ms) || (opt.to_ms && ts >= *opt.to_ms))) {
      ++stats.filtered;
      continue;
    }
    if (!bad && ts < last_ts)
      bad = row_error(file, ln, name(c_time),
                      "time goes backwards: " + fmt_time(ts) + " is before line " +
                          std::to_string(last_ts_line) + "'s " + fmt_time(last_ts));
    if (bad) {
      if (!opt.repair) return *bad;
      ++stats.repairs;
      if (report)
        report(where(file, ln) + ": repaired: dropped row (" +
               bad->describe().substr(where(file, ln).size() + 2) + ")");
      continue;
    }
    last_ts = ts;
    last_ts_line = ln;
    if (!opt.keep_repeats && price == last_price) continue;
    last_price = price;
    ++stats.events;
    emit(InputEvent{ts, PriceEvent{sym, Price::from_raw(price)}});
  }
  if (stats.rows == 0) return no_data_rows(file, started);
  return Status::success();
}

}  // namespace liqsim::import
