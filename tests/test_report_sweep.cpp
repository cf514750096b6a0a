// The report of a sweep and of many runs: tests named like specifications.
// Each database is built here: real runs replayed into it (ResultsSink), then
// the sweeps and sweep_points rows of docs/RESULTS.md written with SQL.
#include <sqlite3.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <memory>
#include <regex>
#include <string>
#include <vector>

#include "liqsim/config.hpp"
#include "liqsim/jsonl.hpp"
#include "liqsim/replay.hpp"
#include "liqsim/replay_sinks.hpp"
#include "liqsim/results.hpp"
#include "temp_dir.hpp"

using namespace liqsim;

namespace {

// Two tiers whose second maintenance_amount is left out (computed for
// continuity), so an override of the first tier's ratio changes it.
const char* const kBaseConfig = R"({
  "assets": { "BTC": { "collateral_weight": "1" } },
  "markets": { "BTC-PERP": { "underlying": "BTC", "liquidation_fee_ratio": "0.01", "depth": "500",
    "tiers": [
      { "max_notional": "1000", "initial_margin_ratio": "0.1", "maintenance_margin_ratio": "0.05" },
      { "max_notional": "1000000", "initial_margin_ratio": "0.2", "maintenance_margin_ratio": "0.1" } ] } },
  "liquidation": { "insurance_fund": "100000", "adl": true }
})";

std::vector<std::string> events() {
  std::vector<std::string> lines = {
      R"({"type":"price","ts":0,"asset":"BTC","price":"100"})",
      R"({"type":"deposit","ts":0,"account":"mm","asset":"USD","amount":"1000000"})",
  };
  for (int d : {110, 120, 130, 140, 150}) {
    std::string a = "a" + std::to_string(d);
    lines.push_back(R"({"type":"deposit","ts":1000,"account":")" + a + R"(","asset":"USD","amount":")" +
                    std::to_string(d) + "\"}");
    lines.push_back(R"({"type":"trade","ts":1000,"account":")" + a +
                    R"(","market":"BTC-PERP","side":"buy","qty":"5","price":"100","counterparty":"mm"})");
  }
  lines.push_back(R"({"type":"price","ts":60000,"asset":"BTC","price":"80"})");
  lines.push_back(R"({"type":"price","ts":120000,"asset":"BTC","price":"85"})");
  return lines;
}

// Replays the events under the base configuration with `overrides` into the
// database as one run; returns its id.
std::int64_t replay_into(const std::string& db_path, const std::vector<std::string>& overrides,
                         const std::string& label) {
  auto doc = parse_json(kBaseConfig);
  REQUIRE(doc.ok());
  auto config = apply_overrides(*doc, overrides, "config.json");
  if (!config.ok()) FAIL(config.error().describe());
  Symbols symbols;
  std::vector<InputEvent> input;
  for (const std::string& l : events()) {
    auto ev = decode_event_line(l, symbols);
    if (!ev.ok()) FAIL(ev.error().describe());
    input.push_back(*ev);
  }
  auto db = ResultsDb::open(db_path);
  if (!db.ok()) FAIL(db.error().describe());
  RunInfo info;
  info.label = label;
  info.config_json = config->document.dump();
  info.events_path = "events.jsonl";
  info.events_sha256 = std::string(64, 'e');
  info.engine_version = "liqsim test";
  info.started_unix_ms = 1'700'000'000'000;
  ResultsSink sink(std::move(*db), info, symbols, [] { return std::int64_t{1'700'000'000'001}; });
  Replay replay(*config, symbols);
  replay.add_sink(sink);
  Status st = replay.run(input);
  if (!st.ok()) FAIL(st.error().describe());
  auto result = replay.finish();
  if (!result.ok()) FAIL(result.error().describe());
  REQUIRE(replay.publish().ok());
  std::int64_t id = 0;
  sqlite3* q = nullptr;
  REQUIRE(sqlite3_open(db_path.c_str(), &q) == SQLITE_OK);
  sqlite3_stmt* s = nullptr;
  REQUIRE(sqlite3_prepare_v2(q, "SELECT max(id) FROM runs", -1, &s, nullptr) == SQLITE_OK);
  REQUIRE(sqlite3_step(s) == SQLITE_ROW);
  id = sqlite3_column_int64(s, 0);
  sqlite3_finalize(s);
  sqlite3_close(q);
  return id;
}

void exec(const std::string& db_path, const std::string& sql) {
  sqlite3* q = nullptr;
  REQUIRE(sqlite3_open(db_path.c_str(), &q) == SQLITE_OK);
  char* message = nullptr;
  int rc = sqlite3_exec(q, sql.c_str(), nullptr, nullptr, &message);
  std::string what = message ? message : "";
  sqlite3_free(message);
  sqlite3_close(q);
  INFO(sql);
  REQUIRE(what == "");
  REQUIRE(rc == SQLITE_OK);
}

// The sweeps schema of docs/RESULTS.md ("Sweeps").
const char* const kSweepSchema = R"sql(
CREATE TABLE IF NOT EXISTS sweeps (
  id INTEGER PRIMARY KEY AUTOINCREMENT, label TEXT NOT NULL, sweep_key TEXT NOT NULL, grid_json TEXT NOT NULL,
  base_config_json TEXT NOT NULL, config_sha256 TEXT NOT NULL, events_path TEXT NOT NULL,
  events_sha256 TEXT NOT NULL, points INTEGER NOT NULL, at_seq INTEGER, prefix_run_id INTEGER,
  shard_index INTEGER NOT NULL, shard_count INTEGER NOT NULL, stored_rows TEXT NOT NULL,
  engine_version TEXT NOT NULL, started_ms INTEGER NOT NULL, finished_ms INTEGER);
CREATE TABLE IF NOT EXISTS sweep_points (
  sweep_id INTEGER NOT NULL REFERENCES sweeps(id), point INTEGER NOT NULL, axis INTEGER NOT NULL,
  run_id INTEGER NOT NULL REFERENCES runs(id), path TEXT NOT NULL, value TEXT NOT NULL, value_f REAL,
  PRIMARY KEY (sweep_id, point, axis));
)sql";

const std::string kFund = "liquidation.insurance_fund";
const std::string kMmr = "markets.BTC-PERP.tiers[0].maintenance_margin_ratio";

struct Axis {
  std::string path;
  std::vector<std::string> values;
};

// Replays every point of the product of `axes` (the last changes fastest)
// and records them as sweep `sweep_id`; returns the runs, in point order.
std::vector<std::int64_t> write_sweep(const std::string& db_path, const std::vector<Axis>& axes,
                                      int sweep_id = 1) {
  std::vector<std::vector<std::string>> points{{}};
  for (const Axis& a : axes) {
    std::vector<std::vector<std::string>> next;
    for (const auto& p : points)
      for (const auto& v : a.values) {
        next.push_back(p);
        next.back().push_back(v);
      }
    points = std::move(next);
  }
  std::vector<std::int64_t> runs;
  std::string rows;
  for (std::size_t p = 0; p < points.size(); ++p) {
    std::vector<std::string> overrides;
    for (std::size_t a = 0; a < axes.size(); ++a) overrides.push_back(axes[a].path + "=" + points[p][a]);
    runs.push_back(replay_into(db_path, overrides, "p" + std::to_string(p)));
    for (std::size_t a = 0; a < axes.size(); ++a)
      rows += "INSERT INTO sweep_points VALUES (" + std::to_string(sweep_id) + ", " + std::to_string(p) +
              ", " + std::to_string(a) + ", " + std::to_string(runs.back()) + ", '" + axes[a].path + "', '" +
              points[p][a] + "', " + points[p][a] + ");\n";
  }
  std::string grid = "{\"axes\":[";
  for (std::size_t a = 0; a < axes.size(); ++a) {
    grid += std::string(a ? "," : "") + "{\"path\":\"" + axes[a].path + "\",\"values\":[";
    for (std::size_t v = 0; v < axes[a].values.size(); ++v)
      grid += std::string(v ? "," : "") + "\"" + axes[a].values[v] + "\"";
    grid += "]}";
  }
  grid += "],\"zip\":false,\"at\":null}";
  auto doc = parse_json(kBaseConfig);
  REQUIRE(doc.ok());
  exec(db_path, std::string(kSweepSchema) +
                    "INSERT INTO sweeps (id, label, sweep_key, grid_json, base_config_json, config_sha256, "
                    "events_path, events_sha256, points, at_seq, prefix_run_id, shard_index, shard_count, "
                    "stored_rows, engine_version, started_ms, finished_ms) VALUES (" +
                    std::to_string(sweep_id) + ", 'test sweep', 'key-" + std::to_string(axes.size()) +
                    "', '" + grid + "', '" + doc->dump() + "', 'c', 'events.jsonl', '" +
                    std::string(64, 'e') + "', " + std::to_string(points.size()) +
                    ", NULL, NULL, 0, 1, 'all', 'liqsim test', 0, 1);\n" + rows);
  return runs;
}

std::size_t count(const std::string& h, const std::string& needle) {
  std::size_t n = 0;
  for (std::size_t p = h.find(needle); p != std::string::npos; p = h.find(needle, p + 1)) ++n;
  return n;
}

std::string render(const std::string& db_path, ReportOptions options = {}) {
  auto html = render_report(db_path, options);
  if (!html.ok()) FAIL(html.error().describe());
  return *html;
}

// The HTML of the table element with this id's prefix (its <div class="sortable" id=...>).
std::string table_of(const std::string& h, const std::string& id) {
  auto from = h.find("<div class=\"sortable\" id=\"" + id + "\"");
  REQUIRE(from != std::string::npos);
  auto to = h.find("</table>", from);
  REQUIRE(to != std::string::npos);
  return h.substr(from, to - from);
}

}  // namespace

TEST_CASE("a sweep of two axes is one sortable table row per point and a heatmap", "[report][sweep]") {
  test::TempDir dir("liqsim-report-sweep");
  const std::string db = dir.path("sweep.sqlite");
  auto runs = write_sweep(db, {{kFund, {"100000", "5"}}, {kMmr, {"0.05", "0.04", "0.03"}}});
  REQUIRE(runs.size() == 6);
  const std::string h = render(db);
  CHECK(h.find("Sweep: test sweep") != std::string::npos);
  const std::string points = table_of(h, "sweep1-table");
  CHECK(count(points, "<tr class=\"pt\"") == 6);  // one row per point
  // A scrolling container with a sticky header.
  CHECK(count(h, "<div class=\"sc\">") >= 2);
  CHECK(h.find(".sc{max-height:560px;overflow:auto") != std::string::npos);
  CHECK(h.find("table.st th{position:sticky;top:0") != std::string::npos);
  // Sortable without script: a pair of radios per sortable column, their
  // labels in the header, and each row's rank in every column.
  CHECK(count(h, "<script") == 0);
  const std::size_t sortable = 2 + 2 + 8 + 1;  // point, run, two axes, eight metrics, state hash
  CHECK(count(points, "<input type=\"radio\"") == 2 * sortable);
  CHECK(count(points, "<label for=\"sweep1-table-") == 2 * sortable);
  CHECK(h.find(".sa6:checked~.sc td{order:var(--k6)}") != std::string::npos);
  CHECK(h.find(".sd6:checked~.sc td{order:calc(-1*var(--k6))}") != std::string::npos);
  // Point 2 (fund 100000, ratio 0.03): third by point and run; by fund after
  // the three points of fund 5 and its two before it (rank 5); first by ratio
  // (0.03 of points 2 and 5, a stable sort).
  CHECK(points.find("--k0:2;--k1:2;--k2:5;--k3:0;") != std::string::npos);
  // The heatmap: two axes, one picture per metric behind CSS tabs, bad debt shown first.
  CHECK(count(h, "class=\"chart heatmap\"") == 8);
  CHECK(h.find("id=\"sweep1-heat2\" checked") != std::string::npos);
  CHECK(h.find("bad debt at each point") != std::string::npos);
  CHECK(h.find("<linearGradient id=\"grad-sweep1-heatmap-2\"") != std::string::npos);  // the colour legend
  CHECK(h.find("sweep1-line-") == std::string::npos);
  // The single-run report of the newest run is still there.
  CHECK(h.find("Liquidation replay: p5") != std::string::npos);
  CHECK(h.find("Summary and metrics") != std::string::npos);
  CHECK(h.find("Comparison of runs") == std::string::npos);  // every run is a point
}

TEST_CASE("a sweep of one axis has a line chart per metric against the swept value", "[report][sweep]") {
  test::TempDir dir("liqsim-report-sweep1");
  const std::string db = dir.path("sweep.sqlite");
  write_sweep(db, {{kFund, {"5", "1000", "100000"}}});
  const std::string h = render(db);
  CHECK(count(table_of(h, "sweep1-table"), "<tr class=\"pt\"") == 3);
  CHECK(count(h, "id=\"sweep1-line-") == 8);
  CHECK(h.find("bad debt vs liquidation.insurance_fund") != std::string::npos);
  CHECK(h.find("class=\"chart heatmap\"") == std::string::npos);
  // Numeric x: the tick labels are the values' numbers.
  CHECK(h.find(">100k</text>") != std::string::npos);
}

TEST_CASE("a sweep report shows each metric's difference from the baseline, exact and in percent",
          "[report][sweep]") {
  test::TempDir dir("liqsim-report-baseline");
  const std::string db = dir.path("sweep.sqlite");
  auto runs = write_sweep(db, {{kFund, {"100000", "5"}}});
  exec(db, "UPDATE runs SET bad_debt = '10.5', liquidations = 4 WHERE id = " + std::to_string(runs[0]) +
               "; UPDATE runs SET bad_debt = '12.00000001', liquidations = 3 WHERE id = " +
               std::to_string(runs[1]));
  // Default baseline: the first point's run.
  std::string h = render(db);
  CHECK(h.find("deltas against the baseline, run " + std::to_string(runs[0]) + " (p0)") != std::string::npos);
  CHECK(h.find("12.00000001<span class=\"d\">+1.50000001 (+14.29%)</span>") != std::string::npos);
  CHECK(h.find("3<span class=\"d\">-1 (-25.00%)</span>") != std::string::npos);
  CHECK(h.find("<span class=\"tag base\">baseline</span>") != std::string::npos);
  // --baseline: the other run.
  h = render(db, ReportOptions{0, runs[1]});
  CHECK(h.find("10.5<span class=\"d\">-1.50000001 (-12.50%)</span>") != std::string::npos);
  CHECK(h.find("4<span class=\"d\">+1 (+33.33%)</span>") != std::string::npos);
  // A baseline of 0: the difference, and no percent.
  exec(db, "UPDATE runs SET bad_debt = '0' WHERE id = " + std::to_string(runs[0]));
  h = render(db);
  CHECK(h.find("12.00000001<span class=\"d\">+12.00000001</span>") != std::string::npos);
}

TEST_CASE("a sweep report lists each point's changed configuration, computed tier amounts too",
          "[report][sweep]") {
  test::TempDir dir("liqsim-report-config");
  const std::string db = dir.path("sweep.sqlite");
  write_sweep(db, {{kMmr, {"0.05", "0.04"}}});
  const std::string h = render(db);
  const std::string config = table_of(h, "sweep1-config");
  // Point 0 is the base configuration; point 1 changes the ratio, and with it
  // the second tier's computed amount: 1000 × (0.1 − 0.04) = 60, not 50.
  CHECK(config.find("<span class=\"muted\">no change</span>") != std::string::npos);
  CHECK(config.find("<code>" + kMmr + "</code>: 0.05 → <b>0.04</b>") != std::string::npos);
  CHECK(config.find("<code>markets.BTC-PERP.tiers[1].maintenance_amount</code>: 50 → <b>60</b> <span "
                    "class=\"muted\">(computed)</span>") != std::string::npos);
}

TEST_CASE("a sweep of governance changes at an event lists each point's values as params at that event",
          "[report][sweep]") {
  test::TempDir dir("liqsim-report-at");
  const std::string db = dir.path("sweep.sqlite");
  write_sweep(db, {{kFund, {"100000", "5"}}});
  // The runs' configuration is the base one: the values came as param events.
  exec(db,
       "UPDATE runs SET config_json = (SELECT base_config_json FROM sweeps); UPDATE sweeps SET at_seq = 3");
  const std::string h = render(db);
  CHECK(h.find("overrides as a governance change before event 3") != std::string::npos);
  const std::string config = table_of(h, "sweep1-config");
  CHECK(count(config, "(param before event 3)") == 1);
  CHECK(config.find("<code>liquidation.insurance_fund</code>: 100000 → <b>5 (param before event 3)</b>") !=
        std::string::npos);
}

TEST_CASE("a rerun of an identical run is flagged, in a sweep and among runs", "[report][sweep]") {
  test::TempDir dir("liqsim-report-rerun");
  SECTION("a sweep stored twice") {
    const std::string db = dir.path("sweep.sqlite");
    auto runs = write_sweep(db, {{kFund, {"100000", "5"}}});
    auto again = write_sweep(db, {{kFund, {"100000", "5"}}}, 2);  // the same sweep_key: one table
    const std::string h = render(db);
    const std::string points = table_of(h, "sweep1-table");
    CHECK(count(points, "<tr class=\"pt\"") == 4);
    CHECK(count(points, "rerun of run ") == 2);
    CHECK(points.find("rerun of run " + std::to_string(runs[0])) != std::string::npos);
    CHECK(points.find("rerun of run " + std::to_string(runs[1])) != std::string::npos);
    CHECK(h.find("sweep2-table") == std::string::npos);
  }
  SECTION("runs outside a sweep") {
    const std::string db = dir.path("runs.sqlite");
    auto a = replay_into(db, {}, "base");
    replay_into(db, {kFund + "=5"}, "small fund");
    auto c = replay_into(db, {}, "base again");
    const std::string h = render(db);
    CHECK(h.find("Comparison of runs") != std::string::npos);
    const std::string rows = table_of(h, "comparison-table");
    CHECK(count(rows, "<tr style=") == 3);  // runs as rows
    CHECK(count(rows, "rerun of run ") == 1);
    CHECK(rows.find("rerun of run " + std::to_string(a)) != std::string::npos);
    CHECK(rows.find(std::to_string(c) + "</td><td>base again</td><td><span class=\"tag rerun\">") !=
          std::string::npos);
    CHECK(
        table_of(h, "comparison-config").find("<code>liquidation.insurance_fund</code>: 100000 → <b>5</b>") !=
        std::string::npos);
  }
}

TEST_CASE("the legend of the chart of many runs wraps below it, inside the picture", "[report]") {
  test::TempDir dir("liqsim-report-legend");
  const std::string db = dir.path("runs.sqlite");
  for (int i = 0; i < 12; ++i)
    replay_into(db, {kFund + "=" + std::to_string(1000 * (i + 1))},
                "a rather long label for run number " + std::to_string(i));
  const std::string h = render(db);
  auto from = h.find("<figure class=\"chart\" id=\"fund-overlay\">");
  REQUIRE(from != std::string::npos);
  const std::string svg = h.substr(from, h.find("</svg>", from) - from);
  std::smatch m;
  REQUIRE(std::regex_search(svg, m, std::regex("width=\"(\\d+)\" height=\"(\\d+)\"")));
  const double width = std::stod(m[1]), height = std::stod(m[2]);
  CHECK(height > 330);  // grown by the legend's rows
  std::size_t items = 0;
  const std::regex text("<text class=\"legend\" x=\"([0-9.]+)\" y=\"([0-9.]+)\">([^<]*)</text>");
  for (auto it = std::sregex_iterator(svg.begin(), svg.end(), text); it != std::sregex_iterator(); ++it) {
    const double x = std::stod((*it)[1]), y = std::stod((*it)[2]);
    const double end = x + 7.0 * static_cast<double>((*it)[3].length());
    INFO((*it)[3].str());
    CHECK(x >= 0);
    CHECK(end <= width);
    CHECK(y <= height);
    ++items;
  }
  CHECK(items == 12);
}

TEST_CASE("a --baseline that is not a complete run is a usage error naming the option, nothing written",
          "[report][sweep]") {
  test::TempDir dir("liqsim-report-nobase");
  const std::string db = dir.path("sweep.sqlite");
  write_sweep(db, {{kFund, {"100000", "5"}}});
  auto html = render_report(db, ReportOptions{0, 99});
  REQUIRE_FALSE(html.ok());
  CHECK(html.error().kind == ErrorKind::usage);
  CHECK(html.error().exit_code() == 2);
  CHECK(html.error().field == "--baseline");
  CHECK(html.error().message.find("99") != std::string::npos);
  Status st = write_report(db, dir.path("r.html"), ReportOptions{0, 99});
  CHECK_FALSE(st.ok());
  CHECK_FALSE(std::filesystem::exists(dir.path("r.html")));
}
