// import.hpp — market data (CSV) to `price` events.
//
// Owns the conversion of two kinds of public market data into the `price`
// events of CONTRACT §2:
//
// - OHLCV candles (`liqsim import candles`), in three layouts:
//     coinapi   period_start_utc,period_end_utc,first_trade_utc,last_trade_utc,
//               open,high,low,close,volume,trades_count   (RFC 3339 times; header required)
//     binanceus open_time_unix_s,open_time_utc,open,high,low,close,volume_btc
//               (header required; extra columns such as Kraken's trade_count are ignored)
//     kline     open_time,open,high,low,close,volume[,more...]  (the exchange kline
//               layout; open time in ms, or µs when it has 16+ digits as in Binance
//               spot files since 2025; header optional)
// - trade-by-trade or close-only series (`liqsim import trades`): columns
//   time, price[, qty]; time in s (may have a fraction), ms, µs or RFC 3339.
//
// How a candle becomes ticks (the "OHLC path assumption"). A bar of length L
// starting at t0 with ticks_per_bar = n yields ticks at t0 + k·⌊L/n⌋,
// k = 0..n-1, along the path
//     open → low → high → close    when close ≥ open (a bar that closes up)
//     open → high → low → close    when close <  open (a bar that closes down)
// This is the usual assumption of bar-based backtesters (e.g. MetaTrader's
// "OHLC" tester mode, Backtrader's and Zipline's bar fill models): a bar that
// closes up most plausibly dipped first and then rallied, and vice versa.
// The order matters for a liquidation simulator: the path inside the bar
// decides who is liquidated — a long and a short that both sit inside the
// bar's range are both liquidated, but which one goes first decides the
// insurance-fund balance the second one meets, and a bar that visits its
// high after its low lets a long that survived the dip stay alive.
// n = 4 is the full path; n = 2 is open then close (extremes dropped); n = 1
// is the close alone, stamped at the bar's start t0. Other n are refused.
//
// A tick whose price equals the previous emitted tick of the same import is
// dropped (it carries no information and would only lengthen the log), unless
// keep_repeats is set. A doji bar (O = H = L = C) equal to the previous close
// therefore yields no event at all.
//
// Strict by default. Each of these is an Error naming file, line and the
// column (field): a malformed line (wrong column count, not a number, not a
// timestamp), a non-positive price, high < max(open, close), low > min(open,
// close), a duplicate bar (same open time as an earlier row), a row out of
// time order, a gap (a missing bar), a row off the bar grid. For trades: a
// time that goes backwards (equal times are allowed), a non-positive price or
// quantity, a malformed line.
//
// With repair, every repair is reported as "file:line: repaired: ..." through
// the report callback and counted:
//   candles: malformed or non-positive rows are dropped (and the gap they
//            leave is filled, below); rows out of order are moved into time
//            order (stable sort); of duplicates the first in file order is
//            kept; an impossible high/low is widened to max/min(open, close);
//            a row off the grid is dropped; a gap is filled by carrying the
//            previous close forward (flat bars, which emit no tick).
//            A gap of more than kMaxGapFillBars (1,000,000) bars is an error,
//            and so is the gap that would bring the bars filled in all above
//            kMaxGapFillBars plus one per data row of the file
//            (fill_limit_bars): a typo in a timestamp, or a small file of far
//            apart rows, must not turn into millions of invented bars. The
//            error names the line of the row after that gap.
//   trades:  malformed rows, non-positive prices or quantities and rows whose
//            time goes backwards are dropped (trade files are streamed, not
//            sorted: a late print is usually a correction, not a lost trade).
//
// Optional filters: a time window [from, to) on the bar's open time (or the
// trade's time), and a wick filter max_move: a bar's high is clipped to at
// most max(open, close) × (1 + max_move) and its low to at least
// min(open, close) × (1 − max_move), each clip reported like a repair (made
// for one-minute wicks on thin books such as Binance.US BTCUSDC's 31,000 at
// 2023-03-14T14:24Z with a close of 26,050).
//
// A file that yields no data row at all (empty, only a header line, or a
// single line of binary garbage taken for a header) is an input error naming
// the file ("no data rows"); a UTF-8 byte order mark before the first line is
// ignored. Rows that exist but fall outside [from, to) are not an error.
//
// The asset must be a name every event decoder accepts (1 to 256 bytes of
// well-formed UTF-8) and not USD, whose price is always 1: a usage Error
// naming --asset (check_price_asset), checked before any input is read.
//
// Prices are read exactly (parse_decimal_raw), never through double.
//
// Memory and passes. Candles are streamed. The input is read up to four
// times — a scan that checks and reports every row and finds the bar length;
// with repair, an ordering pass that reports duplicates and, when the bar is
// known by then, checks the gaps; a pass that checks the gaps if not yet; and
// the pass that emits — keeping O(1) state (the previous bar, counters) and
// no row, bar or event in memory. Every check has passed before the first
// bar is emitted, so an input that fails emits nothing, with one exception:
// each later pass checks that it reads the very rows of the first (count and
// fingerprint), and an input that changed in between is an io Error, found at
// the latest at the end of the pass that emits. The one thing held per row is
// a row that comes after a later bar (repair mode moves it into time order:
// a stable sort cannot be streamed): about 64 bytes per such row, so memory
// grows with the rows out of order, not with the file (2,000,000 rows in
// reverse order: 136 MB). Because it is read more than once, the input must
// be seekable (a regular file, a string stream): anything else is an io
// Error before a row is read. Trades are read once.
//
// Lines. A line longer than kMaxLineBytes (1 MiB, without its newline) is
// never held: it is skipped to its end and is a bad row (strict: an input
// Error naming its line; repair: a malformed row, dropped and reported), or,
// as the first line, an input Error. A read error is an io Error, never an
// early end of file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <istream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "liqsim/error.hpp"
#include "liqsim/events.hpp"

namespace liqsim::import {

// --repair fills one gap with at most this many bars, and all gaps together
// with at most this many plus one per data row (fill_limit_bars).
inline constexpr std::int64_t kMaxGapFillBars = 1'000'000;
constexpr std::int64_t fill_limit_bars(std::int64_t data_rows) { return kMaxGapFillBars + data_rows; }
// The longest CSV line read (without its newline).
inline constexpr std::size_t kMaxLineBytes = std::size_t{1} << 20;

enum class CandleLayout : std::uint8_t { auto_detect, coinapi, binanceus, kline };
const char* candle_layout_name(CandleLayout layout);
// Parses "auto", "coinapi", "binanceus", "kline".
std::optional<CandleLayout> parse_candle_layout(std::string_view text);

enum class TimeUnit : std::uint8_t { auto_detect, seconds, millis, micros };
std::optional<TimeUnit> parse_time_unit(std::string_view text);

// Called once per repair or clip with "file:line: repaired: what".
using ReportFn = std::function<void(const std::string&)>;

struct CandleOptions {
  CandleLayout layout = CandleLayout::auto_detect;
  bool repair = false;
  int ticks_per_bar = 4;                     // 1, 2 or 4
  std::int64_t bar_ms = 0;                   // 0: inferred (CoinAPI: end − start; else the
                                             // smallest positive step between rows)
  std::optional<std::int64_t> from_ms;       // keep bars with open time >= from
  std::optional<std::int64_t> to_ms;         // ... and < to
  std::optional<std::int64_t> max_move_raw;  // wick filter ratio (1e-8 units), > 0
  bool keep_repeats = false;
};

struct TradeOptions {
  bool repair = false;
  TimeUnit time_unit = TimeUnit::auto_detect;  // for numeric times
  std::string time_column;                     // header name; empty: time|timestamp|ts|... or column 1
  std::string price_column;                    // empty: price|close|px or column 2
  std::string qty_column;     // empty: qty|quantity|size|amount|volume or column 3 if present
  std::int64_t shift_ms = 0;  // added to every time (e.g. to stamp a bar close at its close tick)
  std::optional<std::int64_t> from_ms;
  std::optional<std::int64_t> to_ms;
  bool keep_repeats = false;
};

// One parsed candle (raw 1e-8 prices).
struct Candle {
  std::int64_t open_ms = 0;
  std::int64_t open = 0, high = 0, low = 0, close = 0;
  std::int64_t line = 0;  // source line (0 for a gap-filling bar)
};

struct ImportStats {
  std::int64_t rows = 0;                            // data rows read (excluding header and blank lines)
  std::int64_t bars = 0;                            // bars after filtering and repair (including filled gaps)
  std::int64_t events = 0;                          // price events emitted
  std::int64_t repairs = 0;                         // repairs made (repair mode)
  std::int64_t clipped = 0;                         // wicks clipped by max_move
  std::int64_t filtered = 0;                        // rows outside [from, to)
  std::int64_t bar_ms = 0;                          // the bar length used (candles)
  CandleLayout layout = CandleLayout::auto_detect;  // the layout used (candles)
};

// The ticks of one bar, in path order, as (ts_ms, price_raw) pairs; no
// deduplication (that is the caller's). bar_ms > 0, ticks_per_bar ∈ {1,2,4}.
std::vector<std::pair<std::int64_t, std::int64_t>> candle_ticks(const Candle& c, std::int64_t bar_ms,
                                                                int ticks_per_bar);

using BarFn = std::function<void(const Candle&)>;
using EventFn = std::function<void(const InputEvent&)>;

// Reads and checks a whole candle CSV (strict or repaired, filtered), then
// calls `on_bar` for every bar, gap-free and in time order, gap fills
// included — only once the whole input has passed (see "Memory and passes":
// `in` is read more than once and must be seekable). stats.bar_ms and
// stats.layout are set before the first bar.
Status read_candles(std::istream& in, const std::string& file_name, const CandleOptions& options,
                    const ReportFn& report, ImportStats& stats, const BarFn& on_bar);
// The same, collecting the bars (for tests and small inputs).
Result<std::vector<Candle>> read_candles(std::istream& in, const std::string& file_name,
                                         const CandleOptions& options, const ReportFn& report,
                                         ImportStats& stats);

// read_candles, then candle_ticks for every bar, as price events of `asset`,
// streamed to `emit` in order (nothing is emitted for an input that fails).
Status import_candles(std::istream& in, const std::string& file_name, const std::string& asset,
                      const CandleOptions& options, Symbols& symbols, const EventFn& emit,
                      const ReportFn& report, ImportStats& stats);
// The same, collecting the events (for tests and small inputs).
Result<std::vector<InputEvent>> import_candles(std::istream& in, const std::string& file_name,
                                               const std::string& asset, const CandleOptions& options,
                                               Symbols& symbols, const ReportFn& report, ImportStats& stats);

// Streams a trade CSV; calls `emit` for every price event in order.
Status import_trades(std::istream& in, const std::string& file_name, const std::string& asset,
                     const TradeOptions& options, Symbols& symbols, const EventFn& emit,
                     const ReportFn& report, ImportStats& stats);

// A name given on the command line for events (an asset, a market, an
// account), checked by the very rules the event decoders apply to names
// (validate_event, event_rules.hpp: 1 to 256 bytes of well-formed UTF-8), so that
// nothing is written that `replay` or `log convert` would refuse. On failure a
// usage Error naming `option` (the name itself is not echoed: it may be long
// or not printable).
Status check_name_option(std::string_view name, const std::string& option);
// The asset of imported price events: check_name_option, and not USD (the
// numeraire: replay refuses a price event for it).
Status check_price_asset(std::string_view asset, const std::string& option = "--asset");

// A timestamp as in CONTRACT §1 (integer ms or RFC 3339): the milliseconds, or
// an input Error whose message (no field) says what is wrong; the caller adds
// the option.
Result<std::int64_t> parse_time_arg(std::string_view text);

}  // namespace liqsim::import
