// validate.cpp — see validate.hpp.
#include "liqsim/validate.hpp"

namespace liqsim {

Status validate_events(const Config& config, const Symbols& symbols, const std::vector<InputEvent>& events) {
  Config current = config;
  std::vector<bool> priced(config.assets.size(), false);
  priced[0] = true;
  auto fail = [](std::int64_t seq, std::string field, std::string message) {
    Error e = make_error(ErrorKind::input, std::move(message), std::move(field));
    e.seq = seq;
    return e;
  };
  for (std::size_t i = 0; i < events.size(); ++i) {
    auto seq = static_cast<std::int64_t>(i);
    const EventBody& body = events[i].body;
    auto asset_of = [&](Sym s) { return current.asset_index(symbols.name(s)); };
    auto market_of = [&](Sym s) { return current.market_index(symbols.name(s)); };
    if (const auto* p = std::get_if<PriceEvent>(&body)) {
      int a = asset_of(p->asset);
      if (a < 0)
        return fail(seq, "asset",
                    "asset '" + symbols.name(p->asset) + "' is not defined in the configuration");
      if (a == 0) return fail(seq, "asset", "USD is the numeraire; its price is always 1");
      priced[static_cast<std::size_t>(a)] = true;
    } else if (const auto* d = std::get_if<DepositEvent>(&body)) {
      const int a = asset_of(d->asset);
      if (a < 0)
        return fail(seq, "asset",
                    "asset '" + symbols.name(d->asset) + "' is not defined in the configuration");
      // Collateral is valued by its latest price (CONTRACT §1): before the
      // first one it has no value, cannot be sold in a liquidation, and would
      // outlive a bankruptcy it could have covered.
      if (!priced[static_cast<std::size_t>(a)])
        return fail(seq, "asset", "deposit of '" + symbols.name(d->asset) + "' before its first price");
    } else if (const auto* w = std::get_if<WithdrawEvent>(&body)) {
      if (asset_of(w->asset) < 0)
        return fail(seq, "asset",
                    "asset '" + symbols.name(w->asset) + "' is not defined in the configuration");
    } else if (const auto* t = std::get_if<TradeEvent>(&body)) {
      int m = market_of(t->market);
      if (m < 0)
        return fail(seq, "market",
                    "market '" + symbols.name(t->market) + "' is not defined in the configuration");
      if (!priced[current.markets[static_cast<std::size_t>(m)].underlying_index])
        return fail(seq, "market",
                    "trade in '" + symbols.name(t->market) + "' before its underlying '" +
                        current.markets[static_cast<std::size_t>(m)].underlying + "' has a price");
    } else if (const auto* f = std::get_if<FundingEvent>(&body)) {
      int m = market_of(f->market);
      if (m < 0)
        return fail(seq, "market",
                    "market '" + symbols.name(f->market) + "' is not defined in the configuration");
      if (!priced[current.markets[static_cast<std::size_t>(m)].underlying_index])
        return fail(seq, "market",
                    "funding in '" + symbols.name(f->market) + "' before its underlying has a price");
      if (f->rate.abs() > Ratio::one()) return fail(seq, "rate", "a funding rate beyond ±1 per interval");
    } else if (const auto* pa = std::get_if<ParamEvent>(&body)) {
      auto scope = apply_param_in_place(current, pa->path, pa->value_json);
      if (!scope) {
        Error e = scope.error();
        e.seq = seq;
        return e;
      }
    } else if (const auto* l = std::get_if<LiquidityEvent>(&body)) {
      if (market_of(l->market) < 0)
        return fail(seq, "market",
                    "market '" + symbols.name(l->market) + "' is not defined in the configuration");
    }
  }
  return {};
}

}  // namespace liqsim
