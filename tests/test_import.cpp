#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "liqsim/import.hpp"
#include "liqsim/jsonl.hpp"

using namespace liqsim;
using namespace liqsim::import;

namespace {

const std::string kData = std::string(LIQSIM_SOURCE_ROOT) + "/data";

std::string data_file(const std::string& rel) {
  // The raw crisis data is committed under data/ (data/README.md).
  return kData + "/" + rel;
}

struct CandleRun {
  Result<std::vector<InputEvent>> events = std::vector<InputEvent>{};
  std::vector<std::string> reports;
  ImportStats stats;
  Symbols symbols;
  std::vector<std::string> lines() const {
    std::vector<std::string> out;
    for (const auto& e : *events) out.push_back(encode_event(e, symbols));
    return out;
  }
};

CandleRun run_candles(const std::string& text, CandleOptions opt = {}, const std::string& name = "c.csv") {
  CandleRun r;
  std::istringstream in(text);
  r.events = import_candles(
      in, name, "ETH", opt, r.symbols, [&](const std::string& s) { r.reports.push_back(s); }, r.stats);
  return r;
}

std::vector<std::pair<std::int64_t, std::string>> ticks(const CandleRun& r) {
  std::vector<std::pair<std::int64_t, std::string>> out;
  for (const auto& e : *r.events) out.emplace_back(e.ts_ms, std::get<PriceEvent>(e.body).price.str());
  return out;
}

const std::string kKlineHeader = "open_time,open,high,low,close,volume\n";

// 1-minute kline rows starting 2023-03-09T00:00Z.
std::string kline_row(int minute, const char* o, const char* h, const char* l, const char* c) {
  return std::to_string(1678320000000LL + minute * 60000LL) + "," + o + "," + h + "," + l + "," + c +
         ",1.5\n";
}

void check_error(const CandleRun& r, std::int64_t line, const std::string& field, const std::string& text) {
  REQUIRE_FALSE(r.events.ok());
  const Error& e = r.events.error();
  INFO(e.describe());
  CHECK(e.file == "c.csv");
  CHECK(e.line == line);
  CHECK(e.field == field);
  CHECK(e.message.find(text) != std::string::npos);
}

}  // namespace

TEST_CASE("a bar that closes up visits low before high", "[import]") {
  Candle c{0, 100'00000000, 110'00000000, 90'00000000, 105'00000000, 1};
  auto t = candle_ticks(c, 60000, 4);
  REQUIRE(t.size() == 4);
  CHECK(t[0] == std::make_pair<std::int64_t, std::int64_t>(0, 100'00000000));
  CHECK(t[1] == std::make_pair<std::int64_t, std::int64_t>(15000, 90'00000000));
  CHECK(t[2] == std::make_pair<std::int64_t, std::int64_t>(30000, 110'00000000));
  CHECK(t[3] == std::make_pair<std::int64_t, std::int64_t>(45000, 105'00000000));
}

TEST_CASE("a bar that closes down visits high before low", "[import]") {
  Candle c{600000, 100'00000000, 110'00000000, 90'00000000, 95'00000000, 1};
  auto t = candle_ticks(c, 600000, 4);
  REQUIRE(t.size() == 4);
  CHECK(t[1].second == 110'00000000);
  CHECK(t[2].second == 90'00000000);
  CHECK(t[1].first == 750000);
  CHECK(t[3].first == 1050000);
}

TEST_CASE("a bar that closes flat is treated as closing up", "[import]") {
  Candle c{0, 100'00000000, 101'00000000, 99'00000000, 100'00000000, 1};
  auto t = candle_ticks(c, 60000, 4);
  CHECK(t[1].second == 99'00000000);
  CHECK(t[2].second == 101'00000000);
}

TEST_CASE("two ticks per bar are open and close, one tick is the close at the bar start", "[import]") {
  Candle c{0, 100'00000000, 110'00000000, 90'00000000, 95'00000000, 1};
  auto two = candle_ticks(c, 60000, 2);
  REQUIRE(two.size() == 2);
  CHECK(two[1] == std::make_pair<std::int64_t, std::int64_t>(30000, 95'00000000));
  auto one = candle_ticks(c, 60000, 1);
  REQUIRE(one.size() == 1);
  CHECK(one[0] == std::make_pair<std::int64_t, std::int64_t>(0, 95'00000000));
}

TEST_CASE("a tick equal to the previous one is dropped unless repeats are kept", "[import]") {
  std::string csv =
      kKlineHeader + kline_row(0, "100", "100", "100", "100") + kline_row(1, "100", "101", "100", "101");
  auto r = run_candles(csv);
  REQUIRE(r.events.ok());
  CHECK(ticks(r) ==
        std::vector<std::pair<std::int64_t, std::string>>{{1678320000000, "100"}, {1678320090000, "101"}});
  CandleOptions keep;
  keep.keep_repeats = true;
  auto k = run_candles(csv, keep);
  REQUIRE(k.events.ok());
  CHECK(k.events->size() == 8);
}

TEST_CASE("the CoinAPI layout of the ETH crisis days is parsed exactly", "[import]") {
  std::ifstream in(data_file("eth_crisis_days_2020-03-12_2021-05-19/eth_usd_10min_2020-03-12.csv"));
  REQUIRE(in);
  Symbols s;
  ImportStats stats;
  auto ev = import_candles(in, "eth.csv", "ETH", {}, s, nullptr, stats);
  REQUIRE(ev.ok());
  CHECK(stats.layout == CandleLayout::coinapi);
  CHECK(stats.rows == 144);
  CHECK(stats.bars == 144);
  CHECK(stats.bar_ms == 600000);
  // First bar 195.21 / 195.43 / 194.38 / 194.52 closes down: open, high, low, close.
  CHECK(encode_event((*ev)[0], s) == R"({"type":"price","ts":1583971200000,"asset":"ETH","price":"195.21"})");
  CHECK(encode_event((*ev)[1], s) == R"({"type":"price","ts":1583971350000,"asset":"ETH","price":"195.43"})");
  CHECK(encode_event((*ev)[2], s) == R"({"type":"price","ts":1583971500000,"asset":"ETH","price":"194.38"})");
  CHECK(encode_event((*ev)[3], s) == R"({"type":"price","ts":1583971650000,"asset":"ETH","price":"194.52"})");
  // The day's low (README: 101.01 at 23:20Z) is among the ticks.
  Price low = Price::max();
  for (const auto& e : *ev) low = min_of(low, std::get<PriceEvent>(e.body).price);
  CHECK(low.str() == "101.01");
}

TEST_CASE("the Binance.US layout is parsed and its two time columns must agree", "[import]") {
  std::ifstream in(data_file("btc_1m_usdc_depeg_2023-03/binanceus_BTCUSD_1m_2023-03-09_2023-03-14.csv"));
  REQUIRE(in);
  Symbols s;
  ImportStats stats;
  auto ev = import_candles(in, "btc.csv", "BTC", {}, s, nullptr, stats);
  REQUIRE(ev.ok());
  CHECK(stats.layout == CandleLayout::binanceus);
  CHECK(stats.rows == 8640);
  CHECK(stats.bar_ms == 60000);
  CHECK((*ev)[0].ts_ms == 1678320000000);
  CHECK(std::get<PriceEvent>((*ev)[0].body).price.str() == "21702.13");

  auto bad = run_candles(
      "open_time_unix_s,open_time_utc,open,high,low,close,volume_btc\n"
      "1678320000,2023-03-09T00:00:00Z,1,1,1,1,0.5\n"
      "1678320060,2023-03-09T00:02:00Z,1,1,1,1,1e-05\n");
  check_error(bad, 3, "open_time_utc", "disagrees");
}

TEST_CASE("the kline layout is read with or without a header, in ms or µs", "[import]") {
  std::string rows = kline_row(0, "10", "12", "9", "11") + kline_row(1, "11", "11", "10", "10.5");
  auto with = run_candles(kKlineHeader + rows);
  auto without = run_candles(rows);
  REQUIRE(with.events.ok());
  REQUIRE(without.events.ok());
  CHECK(with.lines() == without.lines());
  CHECK(with.stats.layout == CandleLayout::kline);
  // Binance's full kline row (12 columns), open time in microseconds.
  auto micro = run_candles(
      "1678320000000000,10,12,9,11,1.5,1678320059999999,16.5,3,1,11,0\n"
      "1678320060000000,11,11,10,10.5,1,1678320119999999,10.5,2,1,11,0\n");
  REQUIRE(micro.events.ok());
  CHECK(micro.lines() == without.lines());
}

TEST_CASE("a gap is an error naming the row after it", "[import]") {
  auto r = run_candles(kKlineHeader + kline_row(0, "1", "1", "1", "1") + kline_row(1, "1", "1", "1", "1") +
                       kline_row(4, "1", "1", "1", "1"));
  check_error(r, 4, "open_time", "gap: 2 missing bars");
}

TEST_CASE("a duplicate bar is an error", "[import]") {
  auto r = run_candles(kKlineHeader + kline_row(0, "1", "1", "1", "1") + kline_row(1, "1", "1", "1", "1") +
                       kline_row(1, "2", "2", "2", "2"));
  check_error(r, 4, "open_time", "duplicate bar: same open time as line 3");
}

TEST_CASE("a row out of time order is an error", "[import]") {
  auto r = run_candles(kKlineHeader + kline_row(0, "1", "1", "1", "1") + kline_row(2, "1", "1", "1", "1") +
                       kline_row(1, "1", "1", "1", "1"));
  check_error(r, 4, "open_time", "out of order");
}

TEST_CASE("a non-positive price is an error naming its column", "[import]") {
  check_error(run_candles(kKlineHeader + kline_row(0, "1", "1", "1", "1") + kline_row(1, "1", "1", "0", "1")),
              3, "low", "price must be positive");
  check_error(run_candles(kKlineHeader + kline_row(0, "-1", "1", "1", "1")), 2, "open",
              "price must be positive");
}

TEST_CASE("an impossible high or low is an error", "[import]") {
  check_error(
      run_candles(kKlineHeader + kline_row(0, "10", "11", "9", "10") + kline_row(1, "10", "10.5", "9", "11")),
      3, "high", "below max(open, close)");
  check_error(run_candles(kKlineHeader + kline_row(0, "10", "11", "9.5", "9")), 2, "low",
              "above min(open, close)");
}

TEST_CASE("a malformed line is an error naming the column", "[import]") {
  check_error(run_candles(kKlineHeader + kline_row(0, "1", "1", "1", "1") + "1678320060000,1,1x,1,1,1\n"), 3,
              "high", "not a decimal");
  check_error(run_candles(kKlineHeader + kline_row(0, "1", "1", "1", "1") + "1678320060000,1,1,1\n"), 3,
              "close", "expected 6 columns, found 4");
  check_error(run_candles(kKlineHeader + "2023-03-09,1,1,1,1,1\n" + kline_row(1, "1", "1", "1", "1")), 2,
              "open_time", "integer");
  check_error(run_candles(kKlineHeader + kline_row(0, "1.000000001", "2", "1", "1")), 2, "open",
              "8 fractional");
  // CoinAPI: a bad RFC 3339 time names its column.
  auto coin = run_candles(
      "period_start_utc,period_end_utc,first_trade_utc,last_trade_utc,open,high,low,close,volume,trades_"
      "count\n"
      "2020-03-12T00:00:00Z,2020-03-12T00:10:00Z,,,1,1,1,1,1,1\n"
      "2020-03-12T00:10:00Z,2020-03-12T00:20:0Z,,,1,1,1,1,1,1\n");
  check_error(coin, 3, "period_end_utc", "RFC 3339");
}

TEST_CASE("a layout that needs a header says so", "[import]") {
  CandleOptions opt;
  opt.layout = CandleLayout::coinapi;
  check_error(run_candles(kline_row(0, "1", "1", "1", "1"), opt), 1, "", "needs its header");
  opt.layout = CandleLayout::binanceus;
  check_error(run_candles("open_time_unix_s,open,high,low,close\n", opt), 1, "open_time_utc",
              "missing column");
}

TEST_CASE("repair mode fills gaps, keeps the first duplicate, sorts, widens and drops, reporting each",
          "[import]") {
  CandleOptions opt;
  opt.repair = true;
  std::string csv =
      kKlineHeader +                           // line 1
      kline_row(0, "10", "11", "9", "10") +    // 2
      kline_row(2, "10", "10", "9", "9") +     // 3 (after a moved row)
      kline_row(1, "10", "10", "10", "10") +   // 4 out of order → moved
      kline_row(2, "50", "50", "50", "50") +   // 5 duplicate of line 3 → dropped
      "1678320180000,1,x,1,1,1\n" +            // 6 malformed → dropped (gap at minute 3)
      kline_row(4, "9", "8", "8", "9.5") +     // 7 high below close → widened
      kline_row(5, "9.5", "9.5", "0", "9.5");  // 8 non-positive → dropped, then trailing nothing
  auto r = run_candles(csv, opt);
  REQUIRE(r.events.ok());
  for (const auto& s : r.reports) INFO(s);
  REQUIRE(r.reports.size() == 6);
  CHECK(r.reports[0] == "c.csv:6: repaired: dropped malformed row (field 'high': not a decimal number)");
  CHECK(r.reports[1] == "c.csv:7: repaired: widened high 8 to 9.5");
  CHECK(r.reports[2] ==
        "c.csv:8: repaired: dropped malformed row (field 'low': price must be positive (got 0))");
  CHECK(r.reports[3].rfind("c.csv:4: repaired: moved row into time order", 0) == 0);
  CHECK(r.reports[4] == "c.csv:5: repaired: dropped duplicate of line 3 (kept the first)");
  CHECK(r.reports[5] ==
        "c.csv:7: repaired: filled gap of 1 missing bar from 2023-03-09T00:03:00Z to 2023-03-09T00:03:00Z "
        "with the "
        "previous close 9");
  CHECK(r.stats.repairs == 6);
  CHECK(r.stats.bars == 5);  // minutes 0,1,2,3(filled),4
  auto t = ticks(r);
  // minute 1 is flat 10 (no new tick); minute 2 closes down: open 10, high 10, low 9, close 9;
  // minute 3 is the carried 9 (no tick); minute 4 opens at 9 (no tick), low 8, high 9.5.
  std::vector<std::pair<std::int64_t, std::string>> want = {
      {1678320000000, "10"}, {1678320015000, "9"}, {1678320030000, "11"}, {1678320045000, "10"},
      {1678320150000, "9"},  {1678320255000, "8"}, {1678320270000, "9.5"}};
  CHECK(t == want);
}

TEST_CASE("from and to keep bars in the half-open window", "[import]") {
  CandleOptions opt;
  opt.from_ms = 1678320060000;
  opt.to_ms = 1678320180000;
  opt.ticks_per_bar = 1;
  auto r = run_candles(kKlineHeader + kline_row(0, "1", "1", "1", "1") + kline_row(1, "2", "2", "2", "2") +
                           kline_row(2, "3", "3", "3", "3") + kline_row(3, "4", "4", "4", "4"),
                       opt);
  REQUIRE(r.events.ok());
  CHECK(ticks(r) ==
        std::vector<std::pair<std::int64_t, std::string>>{{1678320060000, "2"}, {1678320120000, "3"}});
  CHECK(r.stats.filtered == 2);
}

TEST_CASE("max-move clips a one-minute wick and reports it", "[import]") {
  CandleOptions opt;
  opt.max_move_raw = 10'000'000;  // 0.1
  // The BTCUSDC wick of 2023-03-14T14:24Z: high 31,000 on a close of 26,050.
  auto r = run_candles(kKlineHeader + kline_row(0, "26000", "31000", "25990", "26050") +
                           kline_row(1, "26050", "26060", "20000", "26040"),
                       opt);
  REQUIRE(r.events.ok());
  REQUIRE(r.reports.size() == 2);
  CHECK(r.reports[0] == "c.csv:2: clipped: high 31000 to 28655 (--max-move)");
  CHECK(r.reports[1] == "c.csv:3: clipped: low 20000 to 23436 (--max-move)");
  CHECK(r.stats.clipped == 2);
  CHECK(r.stats.repairs == 0);
}

TEST_CASE("the bar length can be given and must then match", "[import]") {
  CandleOptions opt;
  opt.bar_ms = 30000;
  auto r =
      run_candles(kKlineHeader + kline_row(0, "1", "1", "1", "1") + kline_row(1, "1", "1", "1", "1"), opt);
  check_error(r, 3, "open_time", "gap: 1 missing bar");
  auto one = run_candles(kKlineHeader + kline_row(0, "1", "1", "1", "1"));
  check_error(one, 2, "open_time", "--bar-seconds");
}

// ---- trades ----

namespace {

struct TradeRun {
  Status status;
  std::vector<std::pair<std::int64_t, std::string>> ticks;
  std::vector<std::string> reports;
  ImportStats stats;
};

TradeRun run_trades(const std::string& text, TradeOptions opt = {}) {
  TradeRun r;
  Symbols s;
  std::istringstream in(text);
  r.status = import_trades(
      in, "t.csv", "BTC", opt, s,
      [&](const InputEvent& e) { r.ticks.emplace_back(e.ts_ms, std::get<PriceEvent>(e.body).price.str()); },
      [&](const std::string& m) { r.reports.push_back(m); }, r.stats);
  return r;
}

void check_trade_error(const TradeRun& r, std::int64_t line, const std::string& field,
                       const std::string& text) {
  REQUIRE_FALSE(r.status.ok());
  const Error& e = r.status.error();
  INFO(e.describe());
  CHECK(e.file == "t.csv");
  CHECK(e.line == line);
  CHECK(e.field == field);
  CHECK(e.message.find(text) != std::string::npos);
}

}  // namespace

TEST_CASE("trade times may be seconds, milliseconds or RFC 3339, with or without a header", "[import]") {
  auto secs = run_trades("1678320000,20000,0.1\n1678320000.25,20001,0.2\n");
  auto ms = run_trades("time,price,qty\n1678320000000,20000,0.1\n1678320000250,20001,0.2\n");
  auto rfc = run_trades("2023-03-09T00:00:00Z,20000,0.1\n2023-03-09T00:00:00.250Z,20001,0.2\n");
  REQUIRE(secs.status.ok());
  REQUIRE(ms.status.ok());
  REQUIRE(rfc.status.ok());
  std::vector<std::pair<std::int64_t, std::string>> want = {{1678320000000, "20000"},
                                                            {1678320000250, "20001"}};
  CHECK(secs.ticks == want);
  CHECK(ms.ticks == want);
  CHECK(rfc.ticks == want);
}

TEST_CASE("equal trade times are allowed, a time going backwards is an error", "[import]") {
  auto eq = run_trades("time,price,qty\n1000000000000,1,1\n1000000000000,2,1\n");
  REQUIRE(eq.status.ok());
  CHECK(eq.ticks.size() == 2);
  check_trade_error(run_trades("time,price,qty\n1000000000001,1,1\n1000000000000,2,1\n"), 3, "time",
                    "time goes backwards");
}

TEST_CASE("a bad trade row names its line and column", "[import]") {
  check_trade_error(run_trades("time,price,qty\n1000000000000,0,1\n"), 2, "price", "positive");
  check_trade_error(run_trades("time,price,qty\n1000000000000,1,0\n"), 2, "qty", "positive");
  check_trade_error(run_trades("time,price,qty\n1000000000000,1,1\n1000000000000,abc,1\n"), 3, "price",
                    "decimal");
  check_trade_error(run_trades("time,price,qty\n1000000000000\n"), 2, "price", "expected at least 3 columns");
  check_trade_error(run_trades("time,price,qty\nyesterday,1,1\n"), 2, "time", "RFC 3339");
  check_trade_error(run_trades("time,price,qty\n12x4,1,1\n"), 2, "time", "not a time");
}

TEST_CASE("trade repair drops bad and backward rows and reports them", "[import]") {
  TradeOptions opt;
  opt.repair = true;
  auto r = run_trades(
      "time,price,qty\n1000000000000,1,1\n999999999999,5,1\n1000000000001,-2,1\n1000000000002,3,1\n", opt);
  REQUIRE(r.status.ok());
  CHECK(r.ticks ==
        std::vector<std::pair<std::int64_t, std::string>>{{1000000000000, "1"}, {1000000000002, "3"}});
  REQUIRE(r.reports.size() == 2);
  CHECK(r.reports[0].rfind("t.csv:3: repaired: dropped row (field 'time': time goes backwards", 0) == 0);
  CHECK(r.reports[1].rfind("t.csv:4: repaired: dropped row (field 'price'", 0) == 0);
  CHECK(r.stats.repairs == 2);
}

TEST_CASE("a close-only series imports by column name with a time shift", "[import]") {
  TradeOptions opt;
  opt.time_column = "open_time_unix_s";
  opt.price_column = "implied_usdc_usd";
  opt.shift_ms = 45000;
  std::ifstream in(data_file("btc_1m_usdc_depeg_2023-03/derived_implied_usdc_usdt_usd_1m.csv"));
  REQUIRE(in);
  Symbols s;
  ImportStats stats;
  std::int64_t first_ts = -1;
  Price low = Price::max();
  std::int64_t low_ts = 0;
  Status st = import_trades(
      in, "derived.csv", "USDC", opt, s,
      [&](const InputEvent& e) {
        if (first_ts < 0) first_ts = e.ts_ms;
        Price p = std::get<PriceEvent>(e.body).price;
        if (p < low) {
          low = p;
          low_ts = e.ts_ms;
        }
      },
      nullptr, stats);
  REQUIRE(st.ok());
  CHECK(stats.rows == 8640);
  CHECK(first_ts == 1678320045000);
  // README: implied USDC/USD min 0.8748 at 2023-03-11T07:50Z.
  CHECK(low.str().rfind("0.8748", 0) == 0);
  CHECK(format_rfc3339(low_ts) == "2023-03-11T07:50:45.000Z");
}

TEST_CASE("a column name that is not in the header is an error", "[import]") {
  TradeOptions opt;
  opt.price_column = "nope";
  check_trade_error(run_trades("time,price\n1000000000000,1\n", opt), 1, "nope", "no such column");
}

// Found by fuzz/fuzz_import (fuzz/regressions/import/crash-*): a first line too
// short for the layout's column indexes was read out of bounds for the error's
// field name.
TEST_CASE("a header shorter than the layout names columns by number, never reads past it", "[import]") {
  CandleOptions opt;
  opt.layout = CandleLayout::kline;
  // Two header names, six columns of data, and a high below the open.
  CandleRun r = run_candles("t,o\n1678320000000,100.5,100,99,100.5,1\n", opt);
  REQUIRE_FALSE(r.events.ok());
  INFO(r.events.error().describe());
  CHECK(r.events.error().line == 2);
  CHECK(r.events.error().field == "column 3");
  CHECK(r.events.error().message.find("high 100 is below") != std::string::npos);
}

// Found by fuzz/fuzz_import (fuzz/regressions/import/ts-range-*): a trade time
// the event log cannot hold must be refused at import, not written.
TEST_CASE("a trade time beyond the event log's range is an import error", "[import]") {
  std::istringstream in("time,price\n1678320000000,5\n16783200000001000,6\n");
  Symbols symbols;
  ImportStats stats;
  TradeOptions opt;
  opt.time_unit = TimeUnit::millis;
  std::vector<InputEvent> out;
  Status st = import_trades(
      in, "t.csv", "BTC", opt, symbols, [&](const InputEvent& e) { out.push_back(e); }, nullptr, stats);
  REQUIRE_FALSE(st.ok());
  INFO(st.error().describe());
  CHECK(st.error().line == 3);
  CHECK(st.error().message.find("range") != std::string::npos);
}

// ---- the asset, a leading byte order mark, files without data ----

TEST_CASE("an asset name that replay would refuse is a usage error naming --asset, before any row is read",
          "[import]") {
  const std::string rows =
      kKlineHeader + kline_row(0, "100", "101", "99", "100.5") + kline_row(1, "100.5", "102", "100", "101");
  const std::string bad_names[] = {"", std::string(limits::kMaxNameBytes + 1, 'A'), "\xff", "ET\xc3", "USD"};
  for (const std::string& asset : bad_names) {
    INFO("asset of " << asset.size() << " bytes");
    Status st = check_price_asset(asset);
    REQUIRE_FALSE(st.ok());
    CHECK(st.error().kind == ErrorKind::usage);
    CHECK(st.error().field == "--asset");
    Symbols s;
    ImportStats stats;
    std::istringstream candles(rows);
    auto events = import_candles(candles, "c.csv", asset, {}, s, nullptr, stats);
    REQUIRE_FALSE(events.ok());
    CHECK(events.error().field == "--asset");
    CHECK(stats.rows == 0);
    std::istringstream trades("time,price\n1678320000000,5\n");
    int emitted = 0;
    Status t = import_trades(
        trades, "t.csv", asset, {}, s, [&](const InputEvent&) { ++emitted; }, nullptr, stats);
    REQUIRE_FALSE(t.ok());
    CHECK(t.error().field == "--asset");
    CHECK(emitted == 0);
  }
  CHECK(check_price_asset("USD").error().message.find("numeraire") != std::string::npos);
  CHECK(check_price_asset(std::string(limits::kMaxNameBytes + 1, 'A')).error().message.find("256 bytes") !=
        std::string::npos);
  CHECK(check_price_asset("\xff").error().message.find("UTF-8") != std::string::npos);
  // The edges that are valid stay valid: 256 bytes, and multi-byte UTF-8.
  CHECK(check_price_asset(std::string(limits::kMaxNameBytes, 'A')).ok());
  CHECK(check_price_asset("\xc3\xa9th").ok());
  CHECK(check_name_option("USD", "--collateral").ok());  // USD is a valid name, only not a priced asset
}

TEST_CASE("a UTF-8 byte order mark before the header line is ignored", "[import]") {
  const std::string bom = "\xEF\xBB\xBF";
  // CoinAPI is recognised by its first column's name, which the mark would hide.
  const std::string coinapi =
      "period_start_utc,period_end_utc,first_trade_utc,last_trade_utc,open,high,low,close,volume,trades_"
      "count\n"
      "2020-03-12T00:00:00Z,2020-03-12T00:10:00Z,2020-03-12T00:00:01Z,2020-03-12T00:09:59Z,195,196,194,195.5,"
      "10,5\n"
      "2020-03-12T00:10:00Z,2020-03-12T00:20:00Z,2020-03-12T00:10:01Z,2020-03-12T00:19:59Z,195.5,197,195,196,"
      "10,5\n";
  CandleRun plain = run_candles(coinapi);
  CandleRun marked = run_candles(bom + coinapi);
  REQUIRE(plain.events.ok());
  INFO((marked.events.ok() ? std::string() : marked.events.error().describe()));
  REQUIRE(marked.events.ok());
  CHECK(marked.stats.layout == CandleLayout::coinapi);
  CHECK(marked.lines() == plain.lines());
  // Trades find their columns by name in the header.
  TradeOptions opt;
  opt.price_column = "price";
  auto t = run_trades(bom + "time,price\n1678320000000,5\n", opt);
  INFO((t.status.ok() ? std::string() : t.status.error().describe()));
  REQUIRE(t.status.ok());
  CHECK(t.ticks == std::vector<std::pair<std::int64_t, std::string>>{{1678320000000, "5"}});
  // Only a mark at the very start of the file is skipped.
  check_trade_error(run_trades("time,price\n" + bom + "1678320000000,5\n"), 2, "time", "not a time");
}

TEST_CASE("a file without data rows is an input error naming the file", "[import]") {
  auto check_no_rows = [](const Error& e, const std::string& file) {
    INFO(e.describe());
    CHECK(e.kind == ErrorKind::input);
    CHECK(e.file == file);
    CHECK(e.line == 0);
    CHECK(e.message.find("no data rows") != std::string::npos);
  };
  std::string garbage;
  for (int i = 0; i < 300; ++i)
    garbage.push_back(static_cast<char>((i * 73 + 11) % 256 == '\n' ? 0 : (i * 73 + 11) % 256));
  for (const std::string& text : {std::string(), std::string("\n\n"), kKlineHeader, garbage}) {
    CandleRun r = run_candles(text);
    REQUIRE_FALSE(r.events.ok());
    check_no_rows(r.events.error(), "c.csv");
    TradeRun t = run_trades(text);
    REQUIRE_FALSE(t.status.ok());
    check_no_rows(t.status.error(), "t.csv");
  }
  CandleOptions coinapi;
  coinapi.layout = CandleLayout::coinapi;
  CandleRun header_only = run_candles(
      "period_start_utc,period_end_utc,first_trade_utc,last_trade_utc,open,high,low,close,volume,trades_"
      "count\n",
      coinapi);
  REQUIRE_FALSE(header_only.events.ok());
  check_no_rows(header_only.events.error(), "c.csv");
  CHECK(header_only.events.error().message.find("header") != std::string::npos);
  CHECK(run_trades("time,price,qty\n").status.error().message.find("header") != std::string::npos);
  // Rows that exist but fall outside --from/--to are not "no data".
  CandleOptions window;
  window.from_ms = 1678320000000LL + 3600000;
  window.bar_ms = 60000;
  CandleRun filtered = run_candles(kKlineHeader + kline_row(0, "100", "101", "99", "100.5"), window);
  INFO((filtered.events.ok() ? std::string() : filtered.events.error().describe()));
  REQUIRE(filtered.events.ok());
  CHECK(filtered.stats.filtered == 1);
  CHECK(filtered.events->empty());
}
