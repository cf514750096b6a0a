// import.cpp — candle and trade CSVs to price events (see import.hpp).
#include "liqsim/import.hpp"

#include <algorithm>
#include <cstring>
#include <string_view>

#include "liqsim/fixed.hpp"
#include "liqsim/json.hpp"
#include "liqsim/jsonl.hpp"
#include "liqsim/log.hpp"

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
    std::string_view f = line.substr(begin, comma == std::string_view::npos ? std::string_view::npos
                                                                            : comma - begin);
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
// CSV; left in place it would become part of the first column's name).
class LineReader {
 public:
  explicit LineReader(std::istream& in) : in_(in) {}
  bool next(std::string& line) {
    if (!std::getline(in_, line)) return false;
    ++number_;
    if (number_ == 1 && line.compare(0, kBom.size(), kBom) == 0) line.erase(0, kBom.size());
    if (!line.empty() && line.back() == '\r') line.pop_back();
    return true;
  }
  std::int64_t number() const { return number_; }

 private:
  static constexpr std::string_view kBom = "\xEF\xBB\xBF";
  std::istream& in_;
  std::int64_t number_ = 0;
};

bool is_blank(std::string_view s) {
  return s.find_first_not_of(" \t") == std::string_view::npos;
}

bool all_digits(std::string_view s) {
  return !s.empty() && s.find_first_not_of("0123456789") == std::string_view::npos;
}

Error row_error(const std::string& file, std::int64_t line, std::string field, std::string message) {
  Error e = make_error(ErrorKind::input, std::move(message), std::move(field));
  e.file = file;
  e.line = line;
  return e;
}

// A file with nothing to import is refused rather than turned into an empty
// log that looks like a successful import.
Error no_data_rows(const std::string& file, bool had_header) {
  return make_file_error(ErrorKind::input, file,
                         had_header ? "no data rows (only one line, read as the header)" : "no data rows (the file is empty)");
}

std::string where(const std::string& file, std::int64_t line) {
  return file + ":" + std::to_string(line);
}

// RFC 3339 without a zero millisecond part, for messages.
std::string fmt_time(std::int64_t ms) {
  std::string s = format_rfc3339(ms);
  if (s.size() > 5 && s.compare(s.size() - 5, 5, ".000Z") == 0) s.replace(s.size() - 5, 5, "Z");
  return s;
}

std::string parse_rfc3339_text(std::string_view text, std::int64_t& ms) {
  JsonValue v;
  v.kind = JsonValue::Kind::string;
  v.text = std::string(text);
  return parse_timestamp(v, ms);
}

std::string parse_uint64(std::string_view text, std::int64_t& out) {
  if (!all_digits(text)) return "not a non-negative integer";
  if (text.size() > 18) return "integer out of range";
  std::int64_t v = 0;
  for (char c : text) v = v * 10 + (c - '0');
  out = v;
  return {};
}

std::string parse_price(std::string_view text, std::int64_t& raw) {
  std::string err = parse_decimal_raw(text, raw);
  if (!err.empty()) return err;
  if (raw <= 0) return "price must be positive (got " + std::string(text) + ")";
  return {};
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
    wants = {{&c.time, "period_start_utc"}, {&c.time_end, "period_end_utc"}, {&c.open, "open"},
             {&c.high, "high"}, {&c.low, "low"}, {&c.close, "close"}, {&c.volume, "volume"}};
  } else {
    wants = {{&c.time, "open_time_unix_s"}, {&c.time_check, "open_time_utc"}, {&c.open, "open"},
             {&c.high, "high"}, {&c.low, "low"}, {&c.close, "close"}};
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

// --repair fills a gap with at most this many bars; a longer one is an error
// (a typo in a timestamp must not turn into millions of invented ticks).
constexpr std::int64_t kMaxGapFillBars = 1'000'000;

// The name of column i for messages; a header shorter than the layout's
// column indexes (a malformed first line) must not be read out of bounds.
std::string column_name(const Columns& cols, int i) {
  if (i >= 0 && static_cast<std::size_t>(i) < cols.names.size()) return cols.names[static_cast<std::size_t>(i)];
  return "column " + std::to_string(i + 1);
}

// Parses one data row into a candle; `bar_end_ms` gets CoinAPI's period end.
Result<Candle> parse_candle_row(CandleLayout layout, const Columns& cols,
                                const std::vector<std::string_view>& f, const std::string& file,
                                std::int64_t line, std::int64_t& bar_end_ms) {
  auto name = [&](int i) { return column_name(cols, i); };
  auto err = [&](int i, std::string msg) { return row_error(file, line, name(i), std::move(msg)); };
  if (f.size() < cols.min_columns || (cols.header && layout != CandleLayout::kline && f.size() != cols.min_columns))
    return row_error(file, line, f.size() < cols.min_columns ? name(static_cast<int>(f.size())) : "",
                     "expected " + std::to_string(cols.min_columns) + " columns, found " + std::to_string(f.size()));
  Candle c;
  c.line = line;
  std::string e;
  std::string_view t = f[cols.time];
  if (layout == CandleLayout::coinapi) {
    if (!(e = parse_rfc3339_text(t, c.open_ms)).empty()) return err(cols.time, e);
    if (!(e = parse_rfc3339_text(f[cols.time_end], bar_end_ms)).empty()) return err(cols.time_end, e);
  } else if (layout == CandleLayout::binanceus) {
    std::int64_t secs = 0;
    if (!(e = parse_uint64(t, secs)).empty()) return err(cols.time, e);
    if (secs > 253402300799) return err(cols.time, "seconds beyond the year 9999");
    c.open_ms = secs * 1000;
    std::int64_t check = 0;
    if (!(e = parse_rfc3339_text(f[cols.time_check], check)).empty()) return err(cols.time_check, e);
    if (check != c.open_ms)
      return err(cols.time_check, "disagrees with " + name(cols.time) + " (" + fmt_time(c.open_ms) + ")");
  } else {
    std::int64_t v = 0;
    if (!(e = parse_uint64(t, v)).empty()) return err(cols.time, e);
    if (t.size() >= 16) {  // microseconds (Binance spot klines since 2025)
      if (v % 1000 != 0) return err(cols.time, "microsecond open time not on a millisecond");
      v /= 1000;
    }
    c.open_ms = v;
    if (c.open_ms > 253'402'300'799'999) return err(cols.time, "open time beyond the year 9999");
  }
  if (!(e = parse_price(f[cols.open], c.open)).empty()) return err(cols.open, e);
  if (!(e = parse_price(f[cols.high], c.high)).empty()) return err(cols.high, e);
  if (!(e = parse_price(f[cols.low], c.low)).empty()) return err(cols.low, e);
  if (!(e = parse_price(f[cols.close], c.close)).empty()) return err(cols.close, e);
  if (cols.volume >= 0 && static_cast<std::size_t>(cols.volume) < f.size() && !is_plain_decimal(f[cols.volume]))
    return err(cols.volume, "not a non-negative number");
  return c;
}

}  // namespace

const char* candle_layout_name(CandleLayout layout) {
  switch (layout) {
    case CandleLayout::auto_detect: return "auto";
    case CandleLayout::coinapi: return "coinapi";
    case CandleLayout::binanceus: return "binanceus";
    case CandleLayout::kline: return "kline";
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
    return make_error(ErrorKind::usage, "USD is the numeraire; its price is always 1 (replay refuses a price event for it)",
                      option);
  return Status::success();
}

std::string parse_time_arg(std::string_view text, std::int64_t& ms_out) {
  if (all_digits(text)) return parse_uint64(text, ms_out);
  return parse_rfc3339_text(text, ms_out);
}

std::vector<std::pair<std::int64_t, std::int64_t>> candle_ticks(const Candle& c, std::int64_t bar_ms,
                                                                int ticks_per_bar) {
  LIQSIM_ASSERT(bar_ms > 0, "bar length must be positive");
  const std::int64_t step = bar_ms / ticks_per_bar;
  std::vector<std::pair<std::int64_t, std::int64_t>> out;
  switch (ticks_per_bar) {
    case 1:
      out.emplace_back(c.open_ms, c.close);
      break;
    case 2:
      out.emplace_back(c.open_ms, c.open);
      out.emplace_back(c.open_ms + step, c.close);
      break;
    case 4: {
      // close >= open: the bar dipped first, then rallied (low before high).
      const bool up = c.close >= c.open;
      out.emplace_back(c.open_ms, c.open);
      out.emplace_back(c.open_ms + step, up ? c.low : c.high);
      out.emplace_back(c.open_ms + 2 * step, up ? c.high : c.low);
      out.emplace_back(c.open_ms + 3 * step, c.close);
      break;
    }
    default:
      LIQSIM_ASSERT(false, "ticks per bar must be 1, 2 or 4");
  }
  return out;
}

Result<std::vector<Candle>> read_candles(std::istream& in, const std::string& file,
                                         const CandleOptions& opt, const ReportFn& report,
                                         ImportStats& stats) {
  auto repaired = [&](std::int64_t line, const std::string& what) {
    ++stats.repairs;
    if (report) report(where(file, line) + ": repaired: " + what);
  };
  LineReader reader(in);
  std::string line;
  std::vector<std::string_view> fields;
  CandleLayout layout = opt.layout;
  Columns cols;
  bool have_cols = false;
  std::vector<Candle> rows;
  std::int64_t coinapi_bar_ms = 0;
  std::int64_t coinapi_bar_line = 0;
  std::optional<Error> row_failure;  // strict mode: the first bad row (reading stops there)

  while (reader.next(line)) {
    if (is_blank(line)) continue;
    split_csv(line, fields);
    const std::int64_t ln = reader.number();
    if (!have_cols) {
      have_cols = true;
      const bool numeric_first = all_digits(fields[0]);
      if (layout == CandleLayout::auto_detect) {
        if (fields[0] == "period_start_utc") layout = CandleLayout::coinapi;
        else if (fields[0] == "open_time_unix_s") layout = CandleLayout::binanceus;
        else layout = CandleLayout::kline;
      }
      if (layout == CandleLayout::kline) {
        cols = kline_columns(numeric_first ? nullptr : &fields);
        if (!numeric_first) continue;  // a header line
      } else {
        if (numeric_first)
          return row_error(file, ln, "",
                           std::string("the ") + candle_layout_name(layout) + " layout needs its header line");
        auto c = columns_from_header(layout, fields, file, ln);
        if (!c) return c.error();
        cols = std::move(*c);
        continue;
      }
    }
    ++stats.rows;
    std::int64_t bar_end_ms = 0;
    auto candle = parse_candle_row(layout, cols, fields, file, ln, bar_end_ms);
    if (!candle) {
      if (!opt.repair) {
        row_failure = candle.error();
        break;
      }
      repaired(ln, "dropped malformed row (" + candle.error().describe().substr(where(file, ln).size() + 2) + ")");
      continue;
    }
    Candle c = *candle;
    if ((opt.from_ms && c.open_ms < *opt.from_ms) || (opt.to_ms && c.open_ms >= *opt.to_ms)) {
      ++stats.filtered;
      continue;
    }
    if (layout == CandleLayout::coinapi) {
      std::int64_t len = bar_end_ms - c.open_ms;
      std::string msg;
      if (len <= 0) msg = "period end is not after period start";
      else if (coinapi_bar_ms != 0 && len != coinapi_bar_ms)
        msg = "bar length " + std::to_string(len) + " ms differs from " + std::to_string(coinapi_bar_ms) +
              " ms at line " + std::to_string(coinapi_bar_line);
      else if (opt.bar_ms != 0 && len != opt.bar_ms)
        msg = "bar length " + std::to_string(len) + " ms differs from --bar-seconds";
      if (!msg.empty()) {
        Error e = row_error(file, ln, column_name(cols, cols.time_end), msg);
        if (!opt.repair) {
          row_failure = e;
          break;
        }
        repaired(ln, "dropped row (" + msg + ")");
        continue;
      }
      if (coinapi_bar_ms == 0) {
        coinapi_bar_ms = len;
        coinapi_bar_line = ln;
      }
    }
    // Impossible high / low.
    const std::int64_t hi_min = std::max(c.open, c.close), lo_max = std::min(c.open, c.close);
    if (c.high < hi_min || c.low > lo_max) {
      const bool bad_high = c.high < hi_min;
      const std::string field = column_name(cols, bad_high ? cols.high : cols.low);
      const std::string msg = bad_high ? "high " + format_decimal_raw(c.high) + " is below max(open, close) " +
                                             format_decimal_raw(hi_min)
                                       : "low " + format_decimal_raw(c.low) + " is above min(open, close) " +
                                             format_decimal_raw(lo_max);
      if (!opt.repair) {
        row_failure = row_error(file, ln, field, msg);
        break;
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
    if (opt.max_move_raw) {
      const i128 m = *opt.max_move_raw;
      const std::int64_t hi_cap = static_cast<std::int64_t>(i128(hi_min) * (kScale + m) / kScale);
      const std::int64_t lo_floor_raw = static_cast<std::int64_t>((i128(lo_max) * (kScale - m) + kScale - 1) / kScale);
      const std::int64_t lo_floor = std::max<std::int64_t>(lo_floor_raw, 1);
      if (c.high > hi_cap) {
        ++stats.clipped;
        if (report)
          report(where(file, ln) + ": clipped: high " + format_decimal_raw(c.high) + " to " + format_decimal_raw(hi_cap) +
                 " (--max-move)");
        c.high = hi_cap;
      }
      if (c.low < lo_floor) {
        ++stats.clipped;
        if (report)
          report(where(file, ln) + ": clipped: low " + format_decimal_raw(c.low) + " to " + format_decimal_raw(lo_floor) +
                 " (--max-move)");
        c.low = lo_floor;
      }
    }
    rows.push_back(c);
  }
  if (stats.rows == 0) return no_data_rows(file, have_cols);

  // Time order, duplicates and the bar grid.
  std::optional<Error> order_failure;
  auto time_field = [&]() { return cols.names.empty() ? std::string("time") : column_name(cols, cols.time); };
  if (opt.repair) {
    for (std::size_t i = 1; i < rows.size(); ++i)
      if (rows[i].open_ms < rows[i - 1].open_ms)
        repaired(rows[i].line, "moved row into time order (" + fmt_time(rows[i].open_ms) + " after " +
                                   fmt_time(rows[i - 1].open_ms) + ")");
    std::stable_sort(rows.begin(), rows.end(),
                     [](const Candle& a, const Candle& b) { return a.open_ms < b.open_ms; });
    std::vector<Candle> unique;
    unique.reserve(rows.size());
    for (const Candle& c : rows) {
      if (!unique.empty() && unique.back().open_ms == c.open_ms) {
        repaired(c.line, "dropped duplicate of line " + std::to_string(unique.back().line) + " (kept the first)");
        continue;
      }
      unique.push_back(c);
    }
    rows = std::move(unique);
  } else {
    for (std::size_t i = 1; i < rows.size() && !order_failure; ++i) {
      if (rows[i].open_ms == rows[i - 1].open_ms)
        order_failure = row_error(file, rows[i].line, time_field(),
                                  "duplicate bar: same open time as line " + std::to_string(rows[i - 1].line));
      else if (rows[i].open_ms < rows[i - 1].open_ms)
        order_failure = row_error(file, rows[i].line, time_field(),
                                  "out of order: " + fmt_time(rows[i].open_ms) + " is before line " +
                                      std::to_string(rows[i - 1].line) + "'s " + fmt_time(rows[i - 1].open_ms));
    }
  }
  if (order_failure) return *order_failure;

  std::int64_t bar = opt.bar_ms != 0 ? opt.bar_ms : coinapi_bar_ms;
  if (bar == 0) {
    for (std::size_t i = 1; i < rows.size(); ++i) {
      std::int64_t d = rows[i].open_ms - rows[i - 1].open_ms;
      if (d > 0 && (bar == 0 || d < bar)) bar = d;
    }
  }
  if (bar == 0 && !rows.empty()) {
    if (row_failure) return *row_failure;
    return row_error(file, rows[0].line, time_field(),
                     "cannot infer the bar length from a single row; give --bar-seconds");
  }
  stats.bar_ms = bar;
  stats.layout = layout;

  std::vector<Candle> out;
  out.reserve(rows.size());
  for (const Candle& c : rows) {
    if (!out.empty()) {
      const Candle prev = out.back();  // a copy: filling a gap below grows `out`
      const std::int64_t d = c.open_ms - prev.open_ms;
      if (d % bar != 0) {
        std::string msg = "open time " + fmt_time(c.open_ms) + " is not on the " + std::to_string(bar) +
                          " ms grid of line " + std::to_string(prev.line);
        if (!opt.repair) {
          order_failure = row_error(file, c.line, time_field(), msg);
          break;
        }
        repaired(c.line, "dropped row off the bar grid (" + msg + ")");
        continue;
      }
      if (d > bar) {
        const std::int64_t missing = d / bar - 1;
        std::string msg = std::to_string(missing) + " missing bar" + (missing == 1 ? "" : "s") + " from " +
                          fmt_time(prev.open_ms + bar) + " to " + fmt_time(c.open_ms - bar);
        if (!opt.repair || missing > kMaxGapFillBars) {
          order_failure = row_error(file, c.line, time_field(),
                                    std::string(opt.repair ? "gap too long to fill (more than 1,000,000 bars): "
                                                           : "gap: ") +
                                        msg + " (after line " + std::to_string(prev.line) + ")");
          break;
        }
        repaired(c.line, "filled gap of " + msg + " with the previous close " + format_decimal_raw(prev.close));
        Candle fill;
        fill.open = fill.high = fill.low = fill.close = prev.close;
        for (std::int64_t k = 1; k <= missing; ++k) {
          fill.open_ms = prev.open_ms + k * bar;
          out.push_back(fill);
        }
      }
    }
    out.push_back(c);
  }
  if (order_failure) return *order_failure;
  if (row_failure) return *row_failure;
  stats.bars = static_cast<std::int64_t>(out.size());
  return out;
}

Result<std::vector<InputEvent>> import_candles(std::istream& in, const std::string& file_name,
                                               const std::string& asset, const CandleOptions& options,
                                               Symbols& symbols, const ReportFn& report,
                                               ImportStats& stats) {
  if (options.ticks_per_bar != 1 && options.ticks_per_bar != 2 && options.ticks_per_bar != 4)
    return make_error(ErrorKind::usage, "ticks per bar must be 1, 2 or 4", "--ticks-per-bar");
  if (Status st = check_price_asset(asset); !st) return st.error();
  auto bars = read_candles(in, file_name, options, report, stats);
  if (!bars) return bars.error();
  const Sym sym = symbols.intern(asset);
  std::vector<InputEvent> events;
  events.reserve(bars->size() * static_cast<std::size_t>(options.ticks_per_bar));
  std::int64_t last_price = 0;
  for (const Candle& c : *bars) {
    for (auto [ts, price] : candle_ticks(c, stats.bar_ms, options.ticks_per_bar)) {
      if (!options.keep_repeats && price == last_price) continue;
      last_price = price;
      events.push_back(InputEvent{ts, PriceEvent{sym, Price::from_raw(price)}});
    }
  }
  stats.events = static_cast<std::int64_t>(events.size());
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
std::string parse_trade_time(std::string_view t, TimeUnit& unit, std::int64_t& ms) {
  if (t.find_first_of("Tt-:") != std::string_view::npos) return parse_rfc3339_text(t, ms);
  const std::size_t dot = t.find('.');
  const std::string_view whole_text = t.substr(0, dot);
  const std::string_view frac = dot == std::string_view::npos ? std::string_view{} : t.substr(dot + 1);
  const char* bad = "not a time (integer s, ms or us, decimal s, or RFC 3339)";
  std::int64_t whole = 0;
  if (!parse_uint64(whole_text, whole).empty() || (dot != std::string_view::npos && !all_digits(frac))) return bad;
  if (unit == TimeUnit::auto_detect) {
    if (whole < 100'000'000'000) unit = TimeUnit::seconds;
    else if (whole < 100'000'000'000'000) unit = TimeUnit::millis;
    else unit = TimeUnit::micros;
  }
  switch (unit) {
    case TimeUnit::seconds: {
      if (whole > 9'000'000'000'000) return "seconds out of range";
      std::int64_t millis = 0;
      for (std::size_t k = 0; k < 3; ++k) millis = millis * 10 + (k < frac.size() ? frac[k] - '0' : 0);
      ms = whole * 1000 + millis;
      break;
    }
    case TimeUnit::millis: ms = whole; break;
    case TimeUnit::micros: ms = whole / 1000; break;
    case TimeUnit::auto_detect: break;
  }
  return {};
}

}  // namespace

Status import_trades(std::istream& in, const std::string& file, const std::string& asset,
                     const TradeOptions& opt, Symbols& symbols,
                     const std::function<void(const InputEvent&)>& emit, const ReportFn& report,
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

  while (reader.next(line)) {
    if (is_blank(line)) continue;
    split_csv(line, fields);
    const std::int64_t ln = reader.number();
    if (!started) {
      started = true;
      std::int64_t probe = 0;
      TimeUnit probe_unit = unit;
      const bool header = !parse_trade_time(fields[0], probe_unit, probe).empty();
      if (header) {
        for (auto f : fields) names.emplace_back(f);
        auto pick = [&](const std::string& wanted, std::initializer_list<std::string_view> aliases,
                        int fallback, const char* what) -> Result<int> {
          if (!wanted.empty()) {
            int i = find_col(fields, wanted);
            if (i < 0) return row_error(file, ln, wanted, std::string("no such column in the header (") + what + ")");
            return i;
          }
          int i = find_any(fields, aliases);
          return i >= 0 ? i : fallback;
        };
        auto t = pick(opt.time_column, {"time", "timestamp", "ts", "open_time_unix_s", "open_time"}, 0, "time");
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
      bad = row_error(file, ln, name(static_cast<int>(fields.size())),
                      "expected at least " + std::to_string(need) + " columns, found " + std::to_string(fields.size()));
    } else if (std::string e = parse_trade_time(fields[c_time], unit, ts); !e.empty()) {
      bad = row_error(file, ln, name(c_time), e);
    } else if (std::string e2 = parse_price(fields[c_price], price); !e2.empty()) {
      bad = row_error(file, ln, name(c_price), e2);
    } else if (c_qty >= 0) {
      std::int64_t qty = 0;
      std::string e3 = parse_decimal_raw(fields[c_qty], qty);
      if (!e3.empty()) bad = row_error(file, ln, name(c_qty), e3);
      else if (qty <= 0) bad = row_error(file, ln, name(c_qty), "quantity must be positive");
    }
    if (!bad) {
      ts += opt.shift_ms;
      if (ts < 0) bad = row_error(file, ln, name(c_time), "time before 1970-01-01 after the shift");
      else if (ts > limits::kMaxTimestampMs)
        bad = row_error(file, ln, name(c_time), "time after the event log's range (year 33658)");
    }
    if (!bad && ((opt.from_ms && ts < *opt.from_ms) || (opt.to_ms && ts >= *opt.to_ms))) {
      ++stats.filtered;
      continue;
    }
    if (!bad && ts < last_ts)
      bad = row_error(file, ln, name(c_time),
                      "time goes backwards: " + fmt_time(ts) + " is before line " + std::to_string(last_ts_line) +
                          "'s " + fmt_time(last_ts));
    if (bad) {
      if (!opt.repair) return *bad;
      ++stats.repairs;
      if (report) report(where(file, ln) + ": repaired: dropped row (" + bad->describe().substr(where(file, ln).size() + 2) + ")");
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
