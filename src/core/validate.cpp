// validate.cpp — see validate.hpp.
#include "liqsim/validate.hpp"

namespace liqsim {

namespace {

Error fail(std::int64_t seq, std::string field, std::string message) {
  Error e = make_error(ErrorKind::input, std::move(message), std::move(field));
  e.seq = seq;
  return e;
}

constexpr int kNotLookedUp = -2;

int cached(std::vector<int>& cache, Sym s, auto lookup) {
  if (s >= cache.size()) cache.resize(static_cast<std::size_t>(s) + 1, kNotLookedUp);
  int& slot = cache[s];
  if (slot == kNotLookedUp) slot = lookup();
  return slot;
}

}  // namespace

EventValidator::EventValidator(const Config& config, const Symbols& symbols)
    : current_(config), symbols_(symbols), priced_(config.assets.size(), false) {
  priced_[0] = true;
}

int EventValidator::asset_of(Sym s) {
  if (s < asset_index_.size() && asset_index_[s] != kNotLookedUp) return asset_index_[s];
  return cached(asset_index_, s, [&] { return current_.asset_index(symbols_.name(s)); });
}

int EventValidator::market_of(Sym s) {
  if (s < market_index_.size() && market_index_[s] != kNotLookedUp) return market_index_[s];
  return cached(market_index_, s, [&] { return current_.market_index(symbols_.name(s)); });
}

Status EventValidator::check(const InputEvent& event, std::int64_t seq) {
  const EventBody& body = event.body;
  auto not_defined = [&](const char* field, const char* what, Sym s) {
    return fail(seq, field,
                std::string(what) + " '" + symbols_.name(s) + "' is not defined in the configuration");
  };
  if (const auto* p = std::get_if<PriceEvent>(&body)) {
    const int a = asset_of(p->asset);
    if (a < 0) return not_defined("asset", "asset", p->asset);
    if (a == 0) return fail(seq, "asset", "USD is the numeraire; its price is always 1");
    priced_[static_cast<std::size_t>(a)] = true;
  } else if (const auto* d = std::get_if<DepositEvent>(&body)) {
    const int a = asset_of(d->asset);
    if (a < 0) return not_defined("asset", "asset", d->asset);
    // Collateral is valued by its latest price (CONTRACT §1): before the
    // first one it has no value, cannot be sold in a liquidation, and would
    // outlive a bankruptcy it could have covered.
    if (!priced_[static_cast<std::size_t>(a)])
      return fail(seq, "asset", "deposit of '" + symbols_.name(d->asset) + "' before its first price");
  } else if (const auto* w = std::get_if<WithdrawEvent>(&body)) {
    if (asset_of(w->asset) < 0) return not_defined("asset", "asset", w->asset);
  } else if (const auto* t = std::get_if<TradeEvent>(&body)) {
    const int m = market_of(t->market);
    if (m < 0) return not_defined("market", "market", t->market);
    const MarketConfig& mc = current_.markets[static_cast<std::size_t>(m)];
    if (!priced_[mc.underlying_index])
      return fail(seq, "market",
                  "trade in '" + symbols_.name(t->market) + "' before its underlying '" + mc.underlying +
                      "' has a price");
  } else if (const auto* f = std::get_if<FundingEvent>(&body)) {
    const int m = market_of(f->market);
    if (m < 0) return not_defined("market", "market", f->market);
    if (!priced_[current_.markets[static_cast<std::size_t>(m)].underlying_index])
      return fail(seq, "market",
                  "funding in '" + symbols_.name(f->market) + "' before its underlying has a price");
    if (f->rate.abs() > Ratio::one()) return fail(seq, "rate", "a funding rate beyond ±1 per interval");
  } else if (const auto* pa = std::get_if<ParamEvent>(&body)) {
    auto scope = apply_param_in_place(current_, pa->path, pa->value_json);
    if (!scope) {
      Error e = scope.error();
      e.seq = seq;
      return e;
    }
  } else if (const auto* l = std::get_if<LiquidityEvent>(&body)) {
    if (market_of(l->market) < 0) return not_defined("market", "market", l->market);
  }
  return {};
}

Status validate_events(const Config& config, const Symbols& symbols, const std::vector<InputEvent>& events) {
  EventValidator validator(config, symbols);
  for (std::size_t i = 0; i < events.size(); ++i)
    if (Status st = validator.check(events[i], static_cast<std::int64_t>(i)); !st) return st;
  return {};
}

}  // namespace liqsim
