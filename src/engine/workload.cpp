#include "liqsim/workload.hpp"

#include <algorithm>
#include <initializer_list>
#include <string>

#include "liqsim/error.hpp"
#include "liqsim/json.hpp"
#include "liqsim/splitmix64.hpp"

namespace liqsim {

namespace {

struct MarketSpec {
  const char* market;
  const char* asset;
  std::int64_t price_units;
  std::int64_t max_leverage;  // below 1 / initial margin ratio
};
const MarketSpec kMarkets[3] = {
    {"BTC-PERP", "BTC", 60000, 50},
    {"ETH-PERP", "ETH", 3000, 19},
    {"SOL-PERP", "SOL", 150, 9},
};

std::string config_text(const WorkloadSpec& s) {
  std::string btc_fee = s.liquidation_fees ? "0.005" : "0", alt_fee = s.liquidation_fees ? "0.01" : "0";
  // 20,000 USD of depth per account, within what a configuration amount can
  // hold (±92233720368.54775807): from 4.6 million accounts on, the cap.
  constexpr std::int64_t kMaxDepth = 90'000'000'000;
  std::int64_t depth = std::clamp<std::int64_t>(std::int64_t(s.accounts) * 20'000, 1'000'000, kMaxDepth);
  std::string d = std::to_string(depth);
  std::string markets = R"("BTC-PERP": { "underlying": "BTC", "liquidation_fee_ratio": ")" + btc_fee +
                        R"(", "tiers": [
          { "max_notional": "50000", "initial_margin_ratio": "0.01", "maintenance_margin_ratio": "0.004", "maintenance_amount": "0" },
          { "max_notional": "250000", "initial_margin_ratio": "0.02", "maintenance_margin_ratio": "0.005", "maintenance_amount": "50" },
          { "max_notional": "1000000", "initial_margin_ratio": "0.05", "maintenance_margin_ratio": "0.01", "maintenance_amount": "1300" },
          { "max_notional": "10000000", "initial_margin_ratio": "0.1", "maintenance_margin_ratio": "0.025", "maintenance_amount": "16300" } ])" +
                        (s.impact ? std::string(R"(, "depth": ")") + d + "\"" : std::string()) + " }";
  if (s.markets >= 2)
    markets +=
        R"(, "ETH-PERP": { "underlying": "ETH", "initial_margin_ratio": "0.05", "maintenance_margin_ratio": "0.025", "liquidation_fee_ratio": ")" +
        alt_fee + "\"" +
        (s.impact ? std::string(R"(, "depth": ")") + std::to_string(depth / 2) + "\"" : std::string()) + " }";
  if (s.markets >= 3)
    markets +=
        R"(, "SOL-PERP": { "underlying": "SOL", "initial_margin_ratio": "0.1", "maintenance_margin_ratio": "0.05", "liquidation_fee_ratio": ")" +
        alt_fee + "\"" +
        (s.impact ? std::string(R"(, "depth": ")") + std::to_string(depth / 5) + "\"" : std::string()) + " }";
  return R"({ "assets": { "BTC": { "collateral_weight": "0.95" }, "ETH": { "collateral_weight": "0.9" },
                 "SOL": { "collateral_weight": "0.8" }, "USDC": { "collateral_weight": "0.98" } },
       "markets": { )" +
         markets + R"( },
       "liquidation": { "insurance_fund": ")" +
         std::to_string(s.insurance_fund >= 0 ? s.insurance_fund : std::int64_t(s.accounts) * 50) +
         R"(", "adl": true } })";
}

class Builder {
 public:
  Builder(const WorkloadSpec& spec, Symbols& symbols, std::vector<InputEvent>& out)
      : spec_(spec),
        sym_(symbols),
        out_(out),
        rng_(spec.seed),
        param_rng_(spec.seed ^ 0x5eed'9a7a'0000'0000ull) {
    n_markets_ = std::min<std::uint32_t>(std::max<std::uint32_t>(spec.markets, 1), 3);
    for (std::uint32_t m = 0; m < n_markets_; ++m) {
      market_sym_[m] = sym_.intern(kMarkets[m].market);
      asset_sym_[m] = sym_.intern(kMarkets[m].asset);
      price_[m] = Price::from_units(kMarkets[m].price_units);
    }
    usd_ = sym_.intern("USD");
    usdc_ = sym_.intern("USDC");
    eth_ = sym_.intern("ETH");
  }

  void run() {
    for (std::uint32_t m = 0; m < n_markets_; ++m) emit(PriceEvent{asset_sym_[m], price_[m]});
    emit(PriceEvent{usdc_, Price::one()});
    if (n_markets_ < 2) emit(PriceEvent{eth_, Price::from_units(3000)});
    accounts_.reserve(spec_.accounts);
    for (std::uint32_t i = 0; i < spec_.accounts; ++i) open_account(i);
    for (std::uint32_t t = 0; t < spec_.ticks; ++t) {
      ts_ += spec_.tick_ms;
      tick(t);
      activity(t);
    }
  }

 private:
  void emit(EventBody body) { out_.push_back(InputEvent{ts_, std::move(body)}); }

  void open_account(std::uint32_t i) {
    char name[32];
    std::snprintf(name, sizeof name, "acct-%07u", i);
    Sym acct = sym_.intern(name);
    accounts_.push_back(acct);
    std::int64_t usd_units = rng_.between(100, 100000);
    emit(DepositEvent{acct, usd_, Amount::from_units(usd_units)});
    std::int64_t collateral_units = usd_units;
    if (spec_.multi_collateral && rng_.chance(300'000)) {
      if (rng_.chance(500'000)) {
        emit(DepositEvent{acct, usdc_, Amount::from_units(rng_.between(100, 50000))});
      } else {
        emit(DepositEvent{acct, eth_, Amount::from_raw(rng_.between(10'000'000, 1'000'000'000))});
      }
    }
    std::uint32_t m = static_cast<std::uint32_t>(rng_.below(n_markets_));
    std::int64_t max_lev = std::min<std::int64_t>(spec_.max_leverage, kMarkets[m].max_leverage);
    std::int64_t lev = rng_.between(1, std::max<std::int64_t>(1, max_lev));
    TradeEvent t;
    t.account = acct;
    t.market = market_sym_[m];
    t.side = rng_.chance(500'000) ? Side::buy : Side::sell;
    t.price = price_[m];
    std::int64_t margin_units = collateral_units;
    if (spec_.isolated && rng_.chance(250'000)) {
      t.has_margin = true;
      t.margin = MarginMode::isolated;
      t.has_isolated_margin = true;
      margin_units = collateral_units / 2;
      t.isolated_margin = Usd::from_units(margin_units);
    }
    // qty = margin × leverage / price, cut to 4 decimals (round down).
    Usd notional = Usd::from_units(margin_units * lev);
    Qty q = div<Qty>(notional, t.price, Round::down);
    q = Qty::from_raw(q.raw() / 10000 * 10000);
    if (!q.is_positive()) q = Qty::parse_or_throw("0.0001");
    t.qty = q;
    if (spec_.counterparties && accounts_.size() > 1 && t.margin == MarginMode::cross && rng_.chance(200'000))
      t.counterparty = accounts_[rng_.below(accounts_.size() - 1)];
    emit(t);
  }

  void tick(std::uint32_t t) {
    std::uint32_t m = t % n_markets_;
    std::int64_t step = rng_.between(-static_cast<std::int64_t>(spec_.volatility_bp), spec_.volatility_bp);
    if (spec_.crash_bp && t >= spec_.crash_at && t < spec_.crash_at + spec_.crash_ticks)
      step -= static_cast<std::int64_t>(spec_.crash_bp /
                                        std::max<std::uint32_t>(1, spec_.crash_ticks / n_markets_));
    Price from = spec_.mean_revert ? Price::from_units(kMarkets[m].price_units) : price_[m];
    __int128 raw = __int128(from.raw()) * (10000 + step) / 10000;
    if (raw < kScale / 100) raw = kScale / 100;
    price_[m] = Price::from_raw(static_cast<std::int64_t>(raw));
    emit(PriceEvent{asset_sym_[m], price_[m]});
  }

  void activity(std::uint32_t t) {
    if (spec_.activity_ppm == 0 || accounts_.empty()) return;
    if (rng_.chance(spec_.activity_ppm)) {  // a trade: open more or reduce
      std::uint32_t m = static_cast<std::uint32_t>(rng_.below(n_markets_));
      TradeEvent tr;
      tr.account = accounts_[rng_.below(accounts_.size())];
      tr.market = market_sym_[m];
      tr.side = rng_.chance(500'000) ? Side::buy : Side::sell;
      tr.price = price_[m];
      tr.qty = div<Qty>(Usd::from_units(rng_.between(100, 20000)), price_[m], Round::down);
      tr.qty = Qty::from_raw(std::max<std::int64_t>(tr.qty.raw() / 10000 * 10000, 10000));
      if (rng_.chance(300'000)) tr.counterparty = accounts_[rng_.below(accounts_.size())];
      if (tr.counterparty == tr.account) tr.counterparty = kNoSym;
      emit(tr);
    }
    if (rng_.chance(spec_.activity_ppm))
      emit(DepositEvent{accounts_[rng_.below(accounts_.size())], usd_,
                        Amount::from_units(rng_.between(10, 5000))});
    if (rng_.chance(spec_.activity_ppm))
      emit(WithdrawEvent{accounts_[rng_.below(accounts_.size())], rng_.chance(800'000) ? usd_ : usdc_,
                         Amount::from_units(rng_.between(10, 5000))});
    if (t % 60 == 59) {
      std::uint32_t m = static_cast<std::uint32_t>(rng_.below(n_markets_));
      emit(FundingEvent{market_sym_[m], Ratio::from_raw(rng_.between(-20000, 20000))});
    }
    if (spec_.params && t % 500 == 250) {
      ParamEvent p;
      if (rng_.chance(500'000)) {
        p.path = "liquidation.margin_call_threshold";
        p.value_json = rng_.chance(500'000) ? "\"0.7\"" : "\"0.8\"";
      } else {
        p.path = "assets.ETH.collateral_weight";
        p.value_json = rng_.chance(500'000) ? "\"0.85\"" : "\"0.9\"";
      }
      emit(p);
    }
    if (spec_.param_every > 0 && t % spec_.param_every == spec_.param_every / 2) any_param();
    if (spec_.params && spec_.impact && t % 300 == 150) {
      std::uint32_t m = static_cast<std::uint32_t>(rng_.below(n_markets_));
      emit(LiquidityEvent{market_sym_[m], Usd::from_units(rng_.between(100'000, 10'000'000))});
    }
  }

  // A param of any configuration key, valid whatever came before: the
  // values keep maintenance ≤ initial in every market (ETH-PERP's initial
  // ratio stays ≥ 0.05 ≥ its maintenance, SOL-PERP's ≥ 0.1), BTC-PERP's tiers
  // are the workload's scaled by ½, 1 or 2 (still continuous, still below the
  // tiers' initial ratios). Drawn from its own stream, so the other events
  // are those of the same spec without it.
  void any_param() {
    SplitMix64& r = param_rng_;
    auto pick = [&](std::initializer_list<const char*> values) {
      return std::string(values.begin()[r.below(values.size())]);
    };
    auto quoted = [](const std::string& v) { return "\"" + v + "\""; };
    ParamEvent p;
    const std::uint64_t kind = r.below(100);
    if (kind < 45) {  // a market key
      const std::uint32_t m = static_cast<std::uint32_t>(r.below(n_markets_));
      const std::string base = std::string("markets.") + kMarkets[m].market + ".";
      const std::uint64_t key = r.below(6);
      if (key <= 1) {
        if (m == 0) {
          const std::int64_t num = std::int64_t(1) << r.below(3), den = 2;  // ½, 1, 2
          auto scaled = [&](const char* mmr) {
            const Result<std::int64_t> raw = parse_decimal_raw(mmr);
            LIQSIM_ASSERT(raw.ok(), "a workload ratio constant is a decimal");
            return format_decimal_raw(*raw * num / den);
          };
          p.path = base + "tiers";
          p.value_json =
              R"([{"max_notional":"50000","initial_margin_ratio":"0.01","maintenance_margin_ratio":")" +
              scaled("0.004") + R"(","maintenance_amount":"0"},)" +
              R"({"max_notional":"250000","initial_margin_ratio":"0.02","maintenance_margin_ratio":")" +
              scaled("0.005") + R"(","maintenance_amount":")" + scaled("50") + R"("},)" +
              R"({"max_notional":"1000000","initial_margin_ratio":"0.05","maintenance_margin_ratio":")" +
              scaled("0.01") + R"(","maintenance_amount":")" + scaled("1300") + R"("},)" +
              R"({"max_notional":"10000000","initial_margin_ratio":"0.1","maintenance_margin_ratio":")" +
              scaled("0.025") + R"(","maintenance_amount":")" + scaled("16300") + R"("}])";
        } else if (key == 0) {
          p.path = base + "maintenance_margin_ratio";
          p.value_json = quoted(m == 1 ? pick({"0.01", "0.02", "0.025", "0.04", "0.05"})
                                       : pick({"0.03", "0.05", "0.07", "0.1"}));
        } else {
          p.path = base + "initial_margin_ratio";
          p.value_json = quoted(m == 1 ? pick({"0.05", "0.06", "0.08"}) : pick({"0.1", "0.12", "0.15"}));
        }
      } else if (key == 2) {
        p.path = base + "liquidation_fee_ratio";
        p.value_json = quoted(pick({"0", "0.005", "0.01", "0.02"}));
      } else if (key == 3) {
        p.path = base + "depth";
        p.value_json = quoted(pick({"200000", "1000000", "5000000", "20000000"}));
      } else {
        p.path = base + "impact_permanent_share";
        p.value_json = quoted(pick({"0", "0.2", "0.5", "0.9", "1"}));
      }
    } else if (kind < 65) {  // a collateral weight
      p.path = "assets." + pick({"BTC", "ETH", "SOL", "USDC", "USD"}) + ".collateral_weight";
      p.value_json =
          p.path == "assets.USD.collateral_weight" ? "\"1\"" : quoted(pick({"0", "0.5", "0.8", "0.9", "1"}));
    } else {  // the liquidation block
      const std::uint64_t key = r.below(7);
      if (key == 0) {
        p.path = "liquidation.margin_call_threshold";
        p.value_json = quoted(pick({"0.5", "0.7", "0.8", "0.95", "1"}));
      } else if (key == 1) {
        p.path = "liquidation.insurance_fund";
        p.value_json = quoted(pick({"0", "1000", "100000", "10000000"}));
      } else if (key == 2) {
        p.path = "liquidation.adl";
        p.value_json = pick({"true", "false"});
      } else if (key == 3) {
        p.path = "liquidation.mode";
        p.value_json = quoted(pick({"full", "partial"}));
      } else if (key == 4) {
        p.path = "liquidation.step_ratio";
        p.value_json = quoted(pick({"0.1", "0.25", "0.5", "1"}));
      } else if (key == 5) {
        p.path = "liquidation.max_cascade_rounds";
        p.value_json = pick({"1", "2", "5", "1000"});
      } else {
        p.path = "liquidation.socialize";
        p.value_json = quoted(pick({"none", "profitable", "open_interest"}));
      }
    }
    emit(p);
  }

  const WorkloadSpec& spec_;
  Symbols& sym_;
  std::vector<InputEvent>& out_;
  SplitMix64 rng_;
  SplitMix64 param_rng_;
  std::uint32_t n_markets_ = 1;
  Sym market_sym_[3] = {kNoSym, kNoSym, kNoSym};
  Sym asset_sym_[3] = {kNoSym, kNoSym, kNoSym};
  Price price_[3];
  Sym usd_, usdc_, eth_;
  std::vector<Sym> accounts_;
  std::int64_t ts_ = 1'600'000'000'000;
};

}  // namespace

Workload make_workload(const WorkloadSpec& spec, Symbols& symbols) {
  Workload w;
  auto doc = parse_json(config_text(spec));
  LIQSIM_ASSERT(doc.ok(), "workload config is JSON");
  auto cfg = parse_config(*doc, "workload");
  if (!cfg) std::fprintf(stderr, "%s\n", cfg.error().describe().c_str());
  LIQSIM_ASSERT(cfg.ok(), "workload config is valid");
  w.config = std::move(*cfg);
  std::size_t per_account = 3;
  w.events.reserve(spec.accounts * per_account + spec.ticks * (spec.activity_ppm ? 2 : 1) + 16);
  Builder(spec, symbols, w.events).run();
  return w;
}

}  // namespace liqsim
