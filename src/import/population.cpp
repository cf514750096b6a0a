// population.cpp — seeded account populations (see population.hpp).
#include "liqsim/population.hpp"

#include <cstdio>
#include <type_traits>
#include <variant>

#include "liqsim/import.hpp"
#include "liqsim/json.hpp"
#include "liqsim/jsonl.hpp"
#include "liqsim/splitmix64.hpp"

namespace liqsim::population {

namespace {

using i128 = __int128;
constexpr std::int64_t kPpm = 1'000'000;
constexpr i128 kTwo32 = i128(1) << 32;
constexpr std::int64_t kCent = kScale / 100;

std::int64_t units(std::int64_t v) { return v * kScale; }

std::string account_name(const PopulationParams& p, std::int64_t index) {
  int width = 6;
  for (std::int64_t n = p.accounts; n >= 1'000'000; n /= 10) ++width;
  std::string digits = std::to_string(index);
  std::string out = p.account_prefix;
  if (static_cast<int>(digits.size()) < width)
    out.append(static_cast<std::size_t>(width) - digits.size(), '0');
  out += digits;
  return out;
}

}  // namespace

std::uint64_t fnv1a64(std::string_view bytes, std::uint64_t hash) {
  for (unsigned char c : bytes) {
    hash ^= c;
    hash *= 0x100000001b3ull;
  }
  return hash;
}

QuantileTable::QuantileTable(std::vector<Knot> knots) : knots_(std::move(knots)) {
  LIQSIM_ASSERT(knots_.size() >= 2 && knots_.front().p_ppm == 0 && knots_.back().p_ppm == kPpm,
                "a quantile table spans p = 0 .. 1");
  for (std::size_t i = 1; i < knots_.size(); ++i)
    LIQSIM_ASSERT(knots_[i].p_ppm > knots_[i - 1].p_ppm && knots_[i].value_raw >= knots_[i - 1].value_raw,
                  "quantile knots increase");
}

std::int64_t QuantileTable::sample(std::uint32_t u) const {
  // Position in units of 2^-32 ppm: pos = u · 1e6, knot i sits at p_i · 2^32.
  const i128 pos = i128(u) * kPpm;
  std::size_t i = 0;
  while (i + 2 < knots_.size() && pos >= i128(knots_[i + 1].p_ppm) * kTwo32) ++i;
  const Knot& a = knots_[i];
  const Knot& b = knots_[i + 1];
  const i128 num = (pos - i128(a.p_ppm) * kTwo32) * (b.value_raw - a.value_raw);
  const i128 den = i128(b.p_ppm - a.p_ppm) * kTwo32;
  return a.value_raw + static_cast<std::int64_t>(num / den);
}

std::int64_t QuantileTable::mean_raw() const {
  i128 sum = 0;
  for (std::size_t i = 0; i + 1 < knots_.size(); ++i)
    sum += i128(knots_[i + 1].p_ppm - knots_[i].p_ppm) * (knots_[i].value_raw + knots_[i + 1].value_raw);
  return static_cast<std::int64_t>(sum / (2 * kPpm));
}

// Effective leverage of retail perpetual accounts (×). Median 5×, a quarter
// of accounts at 10× or more, a tenth at 20× or more, a tail to 100–125×
// (the historical maximum on Binance/Bybit/BitMEX). ASSUMPTION shaped after
// published aggregates; see tools/POPULATION.md for sources and caveats.
const QuantileTable& leverage_shape() {
  static const QuantileTable table({{0, units(1)},
                                    {100'000, units(2)},
                                    {250'000, units(3)},
                                    {500'000, units(5)},
                                    {750'000, units(10)},
                                    {900'000, units(20)},
                                    {970'000, units(50)},
                                    {995'000, units(100)},
                                    {1'000'000, units(125)}});
  return table;
}

// Account equity in USD: a heavy right tail (a few whales hold most of the
// margin). Median 2,000. ASSUMPTION; see tools/POPULATION.md.
const QuantileTable& equity_shape() {
  static const QuantileTable table({{0, units(100)},
                                    {250'000, units(700)},
                                    {500'000, units(2'000)},
                                    {750'000, units(7'000)},
                                    {900'000, units(25'000)},
                                    {990'000, units(250'000)},
                                    {1'000'000, units(2'000'000)}});
  return table;
}

bool bernoulli(std::uint32_t u, std::int64_t p_raw) { return i128(u) * kScale < i128(p_raw) * kTwo32; }

std::size_t weighted_pick(std::uint32_t u, const std::vector<std::int64_t>& weights_raw) {
  i128 total = 0;
  for (auto w : weights_raw) total += w;
  const i128 target = i128(u) * total / kTwo32;
  i128 running = 0;
  for (std::size_t i = 0; i < weights_raw.size(); ++i) {
    running += weights_raw[i];
    if (running > target) return i;
  }
  return weights_raw.size() - 1;
}

Status validate(const PopulationParams& p) {
  auto bad = [](const char* option, std::string msg) {
    return Status(make_error(ErrorKind::usage, std::move(msg), option));
  };
  if (p.accounts < 1 || p.accounts > 10'000'000) return bad("--accounts", "must be between 1 and 10000000");
  if (p.price_raw <= 0) return bad("--price", "must be positive");
  // Names are checked as every event decoder checks them, so that nothing is
  // written that replay or log convert would refuse.
  if (Status s = import::check_name_option(p.market, "--market"); !s) return s;
  if (Status s = import::check_name_option(p.asset, "--asset"); !s) return s;
  if (p.asset == "USD") return bad("--asset", "must name the market's underlying (not USD)");
  if (p.max_leverage_raw < kScale) return bad("--max-leverage", "must be at least 1");
  if (p.leverage_mean_raw < kScale || p.leverage_mean_raw > units(1000))
    return bad("--leverage-mean", "must be between 1 and 1000");
  if (p.equity_median_raw < kCent || p.equity_median_raw > units(1'000'000'000))
    return bad("--equity-median", "must be between 0.01 and 1e9");
  if (p.isolated_share_raw < 0 || p.isolated_share_raw > kScale)
    return bad("--isolated-share", "must be in [0, 1]");
  if (p.long_share_raw < 0 || p.long_share_raw > kScale) return bad("--long-share", "must be in [0, 1]");
  if (p.ts_ms < 0) return bad("--ts", "must not be before 1970");
  if (p.ts_ms > limits::kMaxTimestampMs)
    return bad("--ts", "after the event log's range (at most " + std::to_string(limits::kMaxTimestampMs) +
                           " ms, the year 33658)");
  // Account names are the prefix and a zero-padded number; the last is the longest.
  const std::string last_account = account_name(p, p.accounts);
  if (Status s = import::check_name_option(last_account, "--account-prefix"); !s)
    return bad("--account-prefix", "account names are the prefix and " +
                                       std::to_string(last_account.size() - p.account_prefix.size()) +
                                       " digits (" + std::to_string(last_account.size()) +
                                       " bytes for the last): " + s.error().message);
  for (std::size_t i = 0; i < p.collateral.size(); ++i) {
    const auto& c = p.collateral[i];
    if (Status s = import::check_name_option(c.asset, "--collateral"); !s) return s;
    if (c.weight_raw <= 0) return bad("--collateral", c.asset + ": weight must be positive");
    if (c.price_raw <= 0)
      return bad("--collateral", c.asset + ": no price (give --asset-price " + c.asset + ":P)");
    for (std::size_t j = 0; j < i; ++j)
      if (p.collateral[j].asset == c.asset) return bad("--collateral", c.asset + " is listed twice");
  }
  return Status::success();
}

namespace {

std::vector<CollateralShare> effective_collateral(const PopulationParams& p) {
  if (!p.collateral.empty()) return p.collateral;
  return {CollateralShare{"USD", kScale, kScale}};
}

}  // namespace

Status stream_population(const PopulationParams& p, PopulationStats& stats, const EventSinkFn& emit,
                         std::vector<AccountDraw>* draws) {
  if (Status s = validate(p); !s) return s.error();
  const auto collateral = effective_collateral(p);
  std::vector<std::int64_t> weights;
  i128 weight_total = 0;
  for (const auto& c : collateral) {
    weights.push_back(c.weight_raw);
    weight_total += c.weight_raw;
  }
  // Names are interned in a table of this function's own, started afresh every
  // kAccountsPerTable accounts, so it never holds more than that many account
  // names: memory does not grow with the number of accounts.
  constexpr std::int64_t kAccountsPerTable = 4096;
  Symbols table;
  std::vector<Sym> collateral_syms;
  Sym usd = kNoSym, market = kNoSym, asset = kNoSym;
  auto new_table = [&]() {
    table = Symbols();
    collateral_syms.clear();
    for (const auto& c : collateral) collateral_syms.push_back(table.intern(c.asset));
    usd = table.intern("USD");
    market = table.intern(p.market);
    asset = table.intern(p.asset);
  };
  new_table();
  const Price price = Price::from_raw(p.price_raw);
  const std::int64_t lev_shape_mean = leverage_shape().mean_raw();
  const std::int64_t eq_shape_median = equity_shape().sample(0x80000000u);

  std::int64_t events = 0;
  Status sink_status;
  auto put = [&](const InputEvent& e) {
    if (!sink_status) return;
    sink_status = emit(e, table);
    ++events;
  };
  if (p.with_price) put(InputEvent{p.ts_ms, PriceEvent{asset, price}});
  if (draws) draws->clear();

  SplitMix64 rng(p.seed);
  for (std::int64_t i = 1; i <= p.accounts && sink_status; ++i) {
    if (i > 1 && (i - 1) % kAccountsPerTable == 0) new_table();
    const std::uint32_t u_lev = rng.next_u32(), u_eq = rng.next_u32(), u_side = rng.next_u32(),
                        u_iso = rng.next_u32(), u_coll = rng.next_u32();
    AccountDraw d;
    // Leverage: the shape scaled to the requested mean, clipped to [1, max].
    std::int64_t lev = static_cast<std::int64_t>(i128(leverage_shape().sample(u_lev)) * p.leverage_mean_raw /
                                                 lev_shape_mean);
    lev = std::max<std::int64_t>(kScale, std::min(lev, p.max_leverage_raw));
    d.leverage_raw = lev;
    // Equity: the shape scaled to the requested median, floored to the cent.
    std::int64_t eq =
        static_cast<std::int64_t>(i128(equity_shape().sample(u_eq)) * p.equity_median_raw / eq_shape_median);
    eq = std::max(kCent, eq / kCent * kCent);
    d.equity_raw = eq;
    d.is_long = bernoulli(u_side, p.long_share_raw);
    d.isolated = bernoulli(u_iso, p.isolated_share_raw);
    d.collateral = weighted_pick(u_coll, weights);

    const Sym account = table.intern(account_name(p, i));
    Usd equity_value = Usd::zero();  // what the deposits are worth at their prices, floored
    auto deposit = [&](Sym a, std::int64_t amount_raw) {
      put(InputEvent{p.ts_ms, DepositEvent{account, a, Amount::from_raw(amount_raw)}});
    };
    auto deposit_value = [&](std::size_t k, std::int64_t value_raw) {
      const auto& c = collateral[k];
      if (c.asset == "USD") {
        deposit(usd, value_raw);
        equity_value += Usd::from_raw(value_raw);
        return;
      }
      Amount amount = div<Amount>(Usd::from_raw(value_raw), Price::from_raw(c.price_raw), Round::down);
      if (!amount.is_positive()) return;
      deposit(collateral_syms[k], amount.raw());
      equity_value += mul<Usd>(amount, Price::from_raw(c.price_raw), Round::down);
    };
    if (d.isolated) {
      // Isolated margin is USD moved from the USD balance (CONTRACT §2): USD only.
      deposit(usd, eq);
      equity_value = Usd::from_raw(eq);
    } else if (p.collateral_mode == CollateralMode::pick) {
      deposit_value(d.collateral, eq);
    } else {
      for (std::size_t k = 0; k < collateral.size(); ++k) {
        std::int64_t part = static_cast<std::int64_t>(i128(eq) * weights[k] / weight_total) / kCent * kCent;
        if (part > 0) deposit_value(k, part);
      }
    }
    // qty = equity × leverage / price, floored to 1e-8.
    Qty qty = equity_value.is_positive()
                  ? mul_div<Qty>(equity_value, Ratio::from_raw(lev), price, Round::down)
                  : Qty::zero();
    d.qty_raw = qty.raw();
    if (qty.is_positive()) {
      TradeEvent t;
      t.account = account;
      t.market = market;
      t.side = d.is_long ? Side::buy : Side::sell;
      t.qty = qty;
      t.price = price;
      if (d.isolated) {
        t.has_margin = true;
        t.margin = MarginMode::isolated;
        t.has_isolated_margin = true;
        t.isolated_margin = Usd::from_raw(eq);
      }
      put(InputEvent{p.ts_ms, t});
    } else {
      ++stats.zero_positions;
    }
    ++stats.accounts;
    stats.longs += d.is_long;
    stats.isolated += d.isolated;
    stats.leverage_sum_raw += lev;
    stats.equity_sum_raw += eq;
    if (draws) draws->push_back(d);
  }
  if (!sink_status) return sink_status;
  stats.events = events;
  return Status::success();
}

Result<std::vector<InputEvent>> generate_population(const PopulationParams& p, Symbols& symbols,
                                                    PopulationStats& stats, std::vector<AccountDraw>* draws) {
  if (Status s = validate(p); !s) return s.error();
  // The caller's table gets the names in the order they always had: the
  // collateral, USD, the market and its asset, then the accounts.
  for (const auto& c : effective_collateral(p)) symbols.intern(c.asset);
  symbols.intern("USD");
  symbols.intern(p.market);
  symbols.intern(p.asset);
  std::vector<InputEvent> out;
  out.reserve(static_cast<std::size_t>(p.accounts) * 3 + 1);
  Status st = stream_population(
      p, stats,
      [&](const InputEvent& e, const Symbols& names) {
        InputEvent copy = e;
        auto move = [&](Sym& s) { s = symbols.intern(names.name(s)); };
        std::visit(
            [&](auto& body) {
              using T = std::decay_t<decltype(body)>;
              if constexpr (std::is_same_v<T, PriceEvent>) {
                move(body.asset);
              } else if constexpr (std::is_same_v<T, DepositEvent>) {
                move(body.account);
                move(body.asset);
              } else if constexpr (std::is_same_v<T, TradeEvent>) {
                move(body.account);
                move(body.market);
              } else {
                LIQSIM_ASSERT(false, "a population holds prices, deposits and trades only");
              }
            },
            copy.body);
        out.push_back(std::move(copy));
        return Status::success();
      },
      draws);
  if (!st) return st.error();
  return out;
}

std::string meta_json(const PopulationParams& p, const PopulationStats& s, std::uint64_t events_fnv1a64) {
  auto q = [](std::string_view v) { return json_quote(v); };
  auto dec = [&](std::int64_t raw) { return q(format_decimal_raw(raw)); };
  std::string collateral = "[";
  for (std::size_t i = 0; i < p.collateral.size(); ++i) {
    const auto& c = p.collateral[i];
    if (i) collateral += ",";
    collateral += "{\"asset\":" + q(c.asset) + ",\"weight\":" + dec(c.weight_raw) +
                  ",\"price\":" + dec(c.price_raw) + "}";
  }
  collateral += "]";
  auto table = [&](const QuantileTable& t) {
    std::string out = "[";
    for (std::size_t i = 0; i < t.knots().size(); ++i) {
      if (i) out += ",";
      out += '[';
      out += dec(t.knots()[i].p_ppm * 100);
      out += ',';
      out += dec(t.knots()[i].value_raw);
      out += ']';
    }
    return out + "]";
  };
  char hash[17];
  std::snprintf(hash, sizeof hash, "%016llx", static_cast<unsigned long long>(events_fnv1a64));
  std::string o;
  o += "{\n";
  o += "  \"generator\": \"liqsim gen population\",\n";
  o += "  \"format_version\": " + std::to_string(kFormatVersion) + ",\n";
  o += "  \"rng\": \"splitmix64 (top 32 bits per draw; 5 draws per account: leverage, equity, side, "
       "isolated, collateral)\",\n";
  o += "  \"seed\": " + q(std::to_string(p.seed)) + ",\n";
  o += "  \"parameters\": {\n";
  o += "    \"accounts\": " + std::to_string(p.accounts) + ",\n";
  o += "    \"market\": " + q(p.market) + ",\n";
  o += "    \"asset\": " + q(p.asset) + ",\n";
  o += "    \"price\": " + dec(p.price_raw) + ",\n";
  o += "    \"ts\": " + std::to_string(p.ts_ms) + ",\n";
  o += "    \"leverage_mean\": " + dec(p.leverage_mean_raw) + ",\n";
  o += "    \"max_leverage\": " + dec(p.max_leverage_raw) + ",\n";
  o += "    \"equity_median\": " + dec(p.equity_median_raw) + ",\n";
  o += "    \"isolated_share\": " + dec(p.isolated_share_raw) + ",\n";
  o += "    \"long_share\": " + dec(p.long_share_raw) + ",\n";
  o += "    \"collateral\": " +
       (p.collateral.empty() ? std::string("[{\"asset\":\"USD\",\"weight\":\"1\",\"price\":\"1\"}]")
                             : collateral) +
       ",\n";
  o += std::string("    \"collateral_mode\": ") +
       (p.collateral_mode == CollateralMode::pick ? "\"pick\"" : "\"split\"") + ",\n";
  o += std::string("    \"with_price\": ") + (p.with_price ? "true" : "false") + ",\n";
  o += "    \"account_prefix\": " + q(p.account_prefix) + "\n";
  o += "  },\n";
  o += "  \"leverage_shape\": " + table(leverage_shape()) + ",\n";
  o += "  \"equity_shape\": " + table(equity_shape()) + ",\n";
  o += "  \"stats\": {\"accounts\": " + std::to_string(s.accounts) +
       ", \"longs\": " + std::to_string(s.longs) + ", \"isolated\": " + std::to_string(s.isolated) +
       ", \"zero_positions\": " + std::to_string(s.zero_positions) +
       ", \"events\": " + std::to_string(s.events) +
       ", \"leverage_mean\": " + dec(s.accounts ? s.leverage_sum_raw / s.accounts : 0) +
       ", \"equity_mean\": " + dec(s.accounts ? s.equity_sum_raw / s.accounts : 0) + "},\n";
  o += "  \"events_fnv1a64\": \"" + std::string(hash) + "\"\n";
  o += "}\n";
  return o;
}

}  // namespace liqsim::population
