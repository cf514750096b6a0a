// Metrics at the cost of what an event changed (issue 12): open interest and
// the other running metrics are 128-bit, so a state the engine accepts is
// never refused by the metrics; the leverage snapshot at the peak of open
// interest, kept up to date from the accounts the events name, reports
// exactly what a snapshot of every account (the former implementation, kept
// here as the reference) reports.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdio>
#include <map>

#include "liqsim/config.hpp"
#include "liqsim/engine.hpp"
#include "liqsim/jsonl.hpp"
#include "liqsim/metrics.hpp"
#include "liqsim/replay.hpp"
#include "liqsim/workload.hpp"

using namespace liqsim;

namespace {

Config config_of(const std::string& text) {
  auto doc = parse_json(text);
  REQUIRE(doc.ok());
  auto cfg = parse_config(*doc, "config.json");
  if (!cfg.ok()) FAIL(cfg.error().describe());
  return *cfg;
}

const char* kBtcConfig = R"({
  "assets": { "BTC": { "collateral_weight": "1" } },
  "markets": { "BTC-PERP": { "underlying": "BTC", "initial_margin_ratio": "0.1",
                             "maintenance_margin_ratio": "0.05", "liquidation_fee_ratio": "0.01" } },
  "liquidation": { "insurance_fund": "100000" }
})";

// `pairs` longs of 300 000 BTC at 100 000 (3e10 USD each, inside the 64-bit
// range the engine works in) against as many counterparties, each with 1e10 USD:
// open interest pairs × 3e10 USD, beyond the 9.2e10 of one 64-bit Usd from 4 pairs on.
std::vector<std::string> whale_events(int pairs, const std::string& last_price) {
  std::vector<std::string> lines = {R"({"type":"price","ts":0,"asset":"BTC","price":"100000"})"};
  for (int i = 0; i < pairs; ++i) {
    std::string l = "l" + std::to_string(i), s = "s" + std::to_string(i);
    for (const std::string& a : {l, s})
      lines.push_back(R"({"type":"deposit","ts":0,"account":")" + a +
                      R"(","asset":"USD","amount":"10000000000"})");
    lines.push_back(R"({"type":"trade","ts":0,"account":")" + l +
                    R"(","market":"BTC-PERP","side":"buy","qty":"300000","price":"100000","counterparty":")" +
                    s + "\"}");
  }
  lines.push_back(R"({"type":"price","ts":1000,"asset":"BTC","price":")" + last_price + "\"}");
  return lines;
}

struct Run {
  Symbols symbols;
  std::unique_ptr<Replay> replay;
  std::map<std::string, std::string> fields;
  std::string json;
};

void run_lines(Run& r, const Config& config, const std::vector<std::string>& lines) {
  r.replay = std::make_unique<Replay>(config, r.symbols);
  for (const auto& l : lines) {
    auto ev = decode_event_line(l, r.symbols);
    if (!ev.ok()) FAIL(l + ": " + ev.error().describe());
    Status st = r.replay->apply(*ev);
    if (!st.ok()) FAIL(st.error().describe());
  }
  auto result = r.replay->finish();
  if (!result.ok()) FAIL(result.error().describe());
  r.json = result->json();
  for (const auto& [k, v] : result->fields) r.fields[k] = v;
}

std::string fixed4(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.4f", v);
  std::string s = buf;
  if (s.find_first_not_of("-0.") == std::string::npos) s = "0.0000";
  return s;
}

double percentile(const std::vector<double>& sorted, int p) {
  std::size_t n = sorted.size();
  std::size_t rank = (static_cast<std::size_t>(p) * n + 99) / 100;
  rank = std::clamp<std::size_t>(rank, 1, n);
  return sorted[rank - 1];
}

// The former implementation: every account's view, sorted, at each snapshot.
std::string reference_leverage(const Engine& engine) {
  std::vector<double> v;
  std::int64_t with_isolated = 0;
  for (const Engine::AccountView& a : engine.account_views()) {
    if (!a.gross_notional.is_positive()) continue;
    if (a.isolated_positions != 0) ++with_isolated;
    v.push_back(effective_leverage(a));
  }
  std::sort(v.begin(), v.end());
  std::string out =
      "\"accounts\":" + std::to_string(v.size()) + ",\"with_isolated\":" + std::to_string(with_isolated);
  if (v.empty()) return out + ",\"p50\":\"0\",\"p90\":\"0\",\"p99\":\"0\",\"max\":\"0\"}";
  return out + ",\"p50\":\"" + fixed4(percentile(v, 50)) + "\",\"p90\":\"" + fixed4(percentile(v, 90)) +
         "\",\"p99\":\"" + fixed4(percentile(v, 99)) + "\",\"max\":\"" + fixed4(v.back()) + "\"}";
}

// The former peak rule over market_views, with a snapshot of every account.
struct ReferencePeak {
  UsdSum peak;
  bool have = false;
  double snapshot_oi = 0;
  std::string snapshot = "null";
  std::int64_t work = 0, events = 0, accounts = 0;
  std::vector<bool> seen;
  std::int64_t snapshots = 0;

  void see(Sym s) {
    if (s == kNoSym) return;
    if (s >= seen.size()) seen.resize(s + 1, false);
    if (!seen[s]) {
      seen[s] = true;
      ++accounts;
    }
  }
  void observe(const InputEvent& ev, std::int64_t seq, const std::vector<DerivedEvent>& derived,
               const Engine& engine) {
    ++events;
    if (const auto* d = std::get_if<DepositEvent>(&ev.body)) see(d->account);
    if (const auto* t = std::get_if<TradeEvent>(&ev.body)) {
      see(t->account);
      see(t->counterparty);
    }
    bool changed = std::holds_alternative<PriceEvent>(ev.body) || std::holds_alternative<TradeEvent>(ev.body);
    for (const DerivedEvent& d : derived)
      if (std::holds_alternative<LiquidationEvent>(d.body) || std::holds_alternative<AdlEvent>(d.body))
        changed = true;
    if (!changed) return;
    UsdSum oi;
    for (const Engine::MarketView& m : engine.market_views())
      oi += mul<Usd>(max_of(m.open_interest_long, m.open_interest_short), m.mark, Round::down);
    if (!(oi > peak)) return;
    peak = oi;
    bool grew = !have || oi.to_double() > snapshot_oi * 1.001;
    if (grew && work + accounts <= 4 * events + 100'000) {
      work += accounts;
      ++snapshots;
      have = true;
      snapshot_oi = oi.to_double();
      snapshot = "{\"seq\":" + std::to_string(seq) + ",\"ts\":" + std::to_string(ev.ts_ms) +
                 ",\"open_interest_usd\":" + json_quote(oi.str()) + "," + reference_leverage(engine);
    }
  }
};

}  // namespace

TEST_CASE("open interest beyond the 64-bit USD range is summed in 128 bits, not refused",
          "[results][metrics][issue12]") {
  // Four pairs: 1.2e11 USD of open interest, which the former 64-bit
  // product-and-sum refused ("arithmetic outside the representable range
  // (multiply)") although every position fits the engine.
  Run r;
  run_lines(r, config_of(kBtcConfig), whale_events(4, "101000"));
  CHECK(r.fields["peak_open_interest_usd"] == "\"121200000000\"");
  CHECK(r.fields["leverage_at_peak_open_interest"] ==
        "{\"seq\":13,\"ts\":1000,\"open_interest_usd\":\"121200000000\",\"accounts\":8,\"with_isolated\":0,"
        "\"p50\":\"2.9417\",\"p90\":\"3.1237\",\"p99\":\"3.1237\",\"max\":\"3.1237\"}");
  CHECK(r.json.find("\"peak_open_interest_usd\":\"121200000000\"") != std::string::npos);
}

TEST_CASE("one event's liquidated notional in one market beyond the 64-bit range is exact",
          "[results][metrics][issue12]") {
  // Five longs of 3e10 USD liquidated by one tick to 68 000: 1.02e11 USD of
  // fills in one cascade record.
  Run r;
  run_lines(r, config_of(kBtcConfig), whale_events(5, "68000"));
  const auto& cascades = r.replay->metrics().cascades();
  REQUIRE(cascades.size() == 1);
  CHECK(cascades[0].liquidations == 5);
  CHECK(cascades[0].notional.str() == "102000000000");
  CHECK(r.fields["peak_open_interest_usd"] == "\"150000000000\"");
  CHECK(r.fields["fees_collected"] == "\"1020000000\"");
}

TEST_CASE("the leverage snapshot kept from what changed equals a snapshot of every account",
          "[results][metrics][issue12]") {
  // Seeded workloads with everything that can change an account it does not
  // name: prices of markets and collateral, funding, params, liquidity,
  // liquidation impact, ADL, socialized loss; and set-ups that only deposit
  // and trade (the accounts named are all that change).
  std::int64_t snapshots = 0, compared = 0;
  for (std::uint64_t seed = 1; seed <= 8; ++seed) {
    WorkloadSpec spec;
    spec.seed = seed;
    spec.accounts = 150 + 40 * static_cast<std::uint32_t>(seed);
    spec.ticks = seed % 3 == 0 ? 0 : 300;
    spec.volatility_bp = 60;
    spec.crash_at = seed % 2 == 0 ? 100 : 0;
    spec.crash_ticks = 30;
    spec.crash_bp = 3000;
    spec.activity_ppm = 20000;
    spec.param_every = seed % 4 == 1 ? 37 : 0;
    spec.liquidation_fees = seed % 3 != 1;
    Symbols symbols;
    Workload w = make_workload(spec, symbols);
    Replay replay(w.config, symbols);
    ReferencePeak ref;
    for (std::size_t i = 0; i < w.events.size(); ++i) {
      std::int64_t seq = replay.next_seq();
      REQUIRE(replay.apply(w.events[i]).ok());
      ref.observe(w.events[i], seq, replay.derived(), replay.engine());
      // At some points along the way: what the summary would say now.
      if (i % 97 == 0 || i + 1 == w.events.size()) {
        std::map<std::string, std::string> f;
        for (const auto& [k, v] : replay.metrics().summary_fields(replay.engine())) f[k] = v;
        INFO("seed " << seed << " event " << i);
        REQUIRE(f["leverage_at_peak_open_interest"] == ref.snapshot);
        REQUIRE(f["peak_open_interest_usd"] == json_quote(ref.peak.str()));
        REQUIRE(f["leverage_end"] == "{" + reference_leverage(replay.engine()));
        ++compared;
      }
    }
    snapshots += ref.snapshots;
  }
  CHECK(compared > 50);
  CHECK(snapshots > 100);
}

TEST_CASE("a fork's leverage cache is its own", "[results][metrics][issue12]") {
  WorkloadSpec spec;
  spec.seed = 11;
  spec.accounts = 200;
  spec.ticks = 200;
  spec.activity_ppm = 20000;
  Symbols symbols;
  Workload w = make_workload(spec, symbols);
  std::size_t k = w.events.size() / 2;
  Replay whole(w.config, symbols);
  REQUIRE(whole.run(w.events).ok());
  auto a = whole.finish();
  REQUIRE(a.ok());
  Replay prefix(w.config, symbols);
  REQUIRE(prefix.run(w.events, 0, k).ok());
  Replay fork(prefix);
  REQUIRE(fork.run(w.events, k).ok());
  REQUIRE(prefix.run(w.events, k).ok());  // the original goes on too, independently
  auto b = fork.finish();
  auto c = prefix.finish();
  REQUIRE(b.ok());
  REQUIRE(c.ok());
  CHECK(b->json() == a->json());
  CHECK(c->json() == a->json());
}
