// engine.cpp — the public Engine and the input events (CONTRACT §2–§3).
//
// An event is applied (or rejected: a rejected event changes nothing but the
// rejection count), its accounts become candidates, and the rounds of
// liquidation.cpp follow. Every movement of value is a Ledger::transfer.
#include "liqsim/engine.hpp"

#include <algorithm>
#include <optional>

#include "impl.hpp"

namespace liqsim {

using namespace engine;

Engine::Impl::Impl(Config c, Symbols& s, EngineOptions o)
    : config(std::move(c)),
      symbols(s),
      options(o),
      ledger(config.assets.size()),
      index(config.markets.size(), config.assets.size()) {
  markets.resize(config.markets.size());
  assets.resize(config.assets.size());
  ledger.transfer(ledger.external(0), ledger.insurance(), config.liquidation.insurance_fund);
  totals.insurance_fund = ledger.insurance_balance();
  for (const auto& mc : config.markets) market_sym.push_back(symbols.intern(mc.name));
  for (const auto& ac : config.assets) asset_sym.push_back(symbols.intern(ac.name));
  asset_priced_before.assign(config.assets.size(), false);
}

void Engine::Impl::apply(const InputEvent& ev, std::int64_t event_seq, std::vector<DerivedEvent>& sink) {
  const bool later = ev.ts_ms > ts;
  ts = ev.ts_ms;
  seq = event_seq;
  out = &sink;
  ++totals.events;
  candidates.clear();
  checked.clear();
  evaluated.clear();
  new_event_risks();
  ++stamp;
  if (stamp == 0) {  // wrapped: clear every marker once
    for (Account& a : accounts) a.stamp = 0;
    stamp = 1;
  }
  for (std::uint32_t acct : pending) add_candidate(acct);
  pending.clear();
  if (later && !displaced.empty()) restore_marks();
  std::visit([&](const auto& body) { on(body); }, ev.body);
  settle();
  if (options.check_ledger) {
    Status st = check();
    LIQSIM_ASSERT(st.ok(), "ledger does not sum to zero");
  }
}

void Engine::Impl::on(const PriceEvent& e) {
  std::uint32_t asset = static_cast<std::uint32_t>(asset_index(e.asset));
  assets[asset].price = e.price;
  assets[asset].has_price = true;
  for (std::uint32_t m = 0; m < markets.size(); ++m) {
    if (config.markets[m].underlying_index != asset) continue;
    markets[m].mark = e.price;
    markets[m].has_mark = true;
  }
  if (options.reference_scan) {
    add_all_candidates();
    return;
  }
  if (!asset_priced_before[asset]) {
    // The first price of an asset: its holders' collateral value jumps from zero.
    asset_priced_before[asset] = true;
    for (std::uint32_t acct : assets[asset].holders) add_candidate(acct);
  }
  IndexHost h = host();
  index.collect(h, index.price_key(asset), assets[asset].price.raw());
  for (std::uint32_t m = 0; m < markets.size(); ++m)
    if (config.markets[m].underlying_index == asset)
      index.collect(h, index.mark_key(m), markets[m].mark.raw());
}

void Engine::Impl::on(const DepositEvent& e) {
  std::uint32_t acct = get_or_create_account(e.account);
  std::uint32_t asset = static_cast<std::uint32_t>(asset_index(e.asset));
  ledger.transfer(ledger.external(asset), balance(acct, asset), e.amount);
  touch(acct);
}

void Engine::Impl::on(const WithdrawEvent& e) {
  std::uint32_t acct = find_account(e.account);
  if (acct == kNone) return reject("unknown account '" + symbols.name(e.account) + "'");
  std::uint32_t asset = static_cast<std::uint32_t>(asset_index(e.asset));
  Amount holds = held(accounts[acct], asset);
  if (holds < e.amount)
    return reject("insufficient balance: holds " + holds.str() + " " + symbols.name(e.asset) +
                  ", withdrawal of " + e.amount.str());
  // The account as it would be after the withdrawal, on a copy: a check, not a movement.
  (void)balance_ref(acct, asset);  // the slot exists from here, accepted or not
  Account trial = accounts[acct];
  std::lower_bound(trial.balances.begin(), trial.balances.end(), asset,
                   [](const BalanceSlot& b, std::uint32_t x) { return b.asset < x; })
      ->amount -= e.amount;
  Risk after = cross_risk(trial);
  if (after.equity < after.im)
    return reject("below initial margin: equity " + after.equity.str() +
                  " after withdrawal, initial requirement " + after.im.str());
  ledger.transfer(balance(acct, asset), ledger.external(asset), e.amount);
  touch(acct);
}

// One side of a trade on a scratch copy of the account: nothing when
// acceptable, else the reason it is rejected.
std::optional<std::string> Engine::Impl::check_trade_side(const Account& a, std::uint32_t market,
                                                          MarginMode mode, Qty delta, Price price,
                                                          Usd iso_margin) const {
  Account copy = a;
  PositionSlot* slot = find_slot(copy, market);
  if (slot && slot->mode != mode && !slot->qty.is_zero())
    return std::string("margin mode mismatch: '") + symbols.name(a.name) + "' holds " +
           (slot->mode == MarginMode::isolated ? "an isolated" : "a cross") + " position in " +
           config.markets[market].name;
  if (!slot) {
    PositionSlot fresh;
    fresh.market = market;
    fresh.mode = mode;
    copy.positions.push_back(fresh);
    slot = &copy.positions.back();
  }
  slot->mode = mode;
  if (iso_margin.is_positive()) {
    Usd usd = usd_balance(copy);
    if (usd < iso_margin)
      return "insufficient USD for isolated_margin: holds " + usd.str() + ", needs " + iso_margin.str();
    copy.balances.front().amount -= same_units<Amount>(iso_margin);
    slot->wallet += iso_margin;
    Risk cross = cross_risk(copy);
    if (cross.equity < cross.im)
      return "moving isolated_margin leaves cross equity " + cross.equity.str() +
             " below its initial requirement " + cross.im.str();
  }
  Fill f = compute_fill(slot->qty, slot->entry, delta, price);
  if (!f.increases_risk) return std::nullopt;
  slot->qty = f.qty;
  slot->entry = f.entry;
  if (mode == MarginMode::isolated) {
    slot->wallet += f.realized;
    Risk r = iso_risk(*slot);
    if (r.equity < r.im)
      return "insufficient margin for '" + symbols.name(a.name) + "': isolated equity " + r.equity.str() +
             " below initial requirement " + r.im.str();
  } else {
    if (copy.balances.empty() || copy.balances.front().asset != 0) {
      BalanceSlot usd;
      copy.balances.insert(copy.balances.begin(), usd);
    }
    copy.balances.front().amount += same_units<Amount>(f.realized);
    Risk r = cross_risk(copy);
    if (r.equity < r.im)
      return "insufficient margin for '" + symbols.name(a.name) + "': equity " + r.equity.str() +
             " below initial requirement " + r.im.str();
  }
  return std::nullopt;
}

void Engine::Impl::apply_trade_side(std::uint32_t acct, std::uint32_t market, MarginMode mode, Qty delta,
                                    Price price, Usd iso_margin) {
  PositionSlot* slot = find_slot(accounts[acct], market);
  if (!slot) slot = &open_slot(acct, market, mode);
  slot->mode = mode;
  if (iso_margin.is_positive()) {
    ledger.transfer(balance(acct, 0), wallet(*slot), iso_margin);
    slot = find_slot(accounts[acct], market);  // balance_ref may not move positions, but stay safe
  }
  Fill f = compute_fill(slot->qty, slot->entry, delta, price);
  set_qty(*slot, f.qty);
  slot->entry = f.entry;
  settle_external(acct, *slot, f.realized);
  tidy_slot(acct, market);
}

// A trade that only reduces an existing position (no flip, no margin moved)
// applies to it in the position's own margin mode, whatever `margin` says
// or defaults to: reducing trades are always accepted (CONTRACT §2).
// Opening, increasing or flipping uses the stated mode, and a position held
// in the other mode is then a mismatch.
MarginMode Engine::Impl::trade_mode(const Account& a, std::uint32_t market, MarginMode stated, Qty delta,
                                    bool moves_margin) {
  const PositionSlot* p = find_slot(a, market);
  if (!p || p->qty.is_zero() || p->mode == stated || moves_margin) return stated;
  const bool reduces = p->qty.sign() != delta.sign() && delta.abs() <= p->qty.abs();
  return reduces ? p->mode : stated;
}

void Engine::Impl::on(const TradeEvent& e) {
  std::uint32_t market = static_cast<std::uint32_t>(market_index(e.market));
  // Accounts are created only when the trade is accepted: a rejected event
  // changes nothing but the rejection count.
  Account fresh_account, fresh_counterparty;
  fresh_account.name = e.account;
  fresh_counterparty.name = e.counterparty;
  std::uint32_t acct = find_account(e.account);
  std::uint32_t cp = e.counterparty == kNoSym ? kNone : find_account(e.counterparty);
  const Account& a = acct == kNone ? fresh_account : accounts[acct];
  const Account& c = cp == kNone ? fresh_counterparty : accounts[cp];
  Qty delta = e.side == Side::buy ? e.qty : -e.qty;
  Usd iso_margin = e.has_isolated_margin ? e.isolated_margin : Usd::zero();
  MarginMode mode = trade_mode(a, market, e.margin, delta, iso_margin.is_positive());
  std::optional<std::string> why = check_trade_side(a, market, mode, delta, e.price, iso_margin);
  MarginMode cp_mode = MarginMode::cross;
  if (!why && e.counterparty != kNoSym) {
    const PositionSlot* s = find_slot(c, market);
    if (s) cp_mode = s->mode;
    why = check_trade_side(c, market, cp_mode, -delta, e.price, Usd::zero());
  }
  if (why) return reject(std::move(*why));
  acct = get_or_create_account(e.account);
  if (e.counterparty != kNoSym) cp = get_or_create_account(e.counterparty);
  apply_trade_side(acct, market, mode, delta, e.price, iso_margin);
  touch(acct);
  if (cp != kNone) {
    apply_trade_side(cp, market, cp_mode, -delta, e.price, Usd::zero());
    touch(cp);
  }
}

void Engine::Impl::on(const FundingEvent& e) {
  std::uint32_t m = static_cast<std::uint32_t>(market_index(e.market));
  Price mk = mark(m);
  for (std::uint32_t acct : markets[m].holders) {
    PositionSlot& p = *find_slot(accounts[acct], m);
    settle_external(acct, p, -funding_payment(p.qty, mk, e.rate));
    touch(acct);
  }
}

void Engine::Impl::on(const ParamEvent& e) {
  auto scope = apply_param_in_place(config, e.path, e.value_json);
  LIQSIM_ASSERT(scope.ok(), "param was validated before the replay");
  if (e.path == "liquidation.insurance_fund" &&
      config.liquidation.insurance_fund != ledger.insurance_balance()) {
    // Governance sets the fund's balance to the value (whatever it has
    // collected or paid since): the difference comes from, or goes, outside.
    Usd change = config.liquidation.insurance_fund - ledger.insurance_balance();
    ledger.transfer(ledger.external(0), ledger.insurance(), change);
    insurance_move(change);
  }
  if (options.reference_scan) {
    add_all_candidates();  // the reference: every unit, whatever the key
    return;
  }
  add_param_candidates(*scope);
}

// The units a param can move across a state boundary (maintenance, margin
// call) become candidates: they are evaluated with the new configuration and
// banded again in the index (their old bands assumed the old one). A unit's
// state and its bands (BandIndex::refresh, unit_slack) depend on the
// configuration only through its maintenance requirement (a market's
// maintenance_margin_ratio or tiers), its collateral weights and the
// margin-call threshold. A market's initial_margin_ratio acts only when a
// trade or withdrawal is checked; its liquidation_fee_ratio, depth and
// impact_permanent_share, and the liquidation block's insurance_fund, adl,
// mode, step_ratio and max_cascade_rounds, only inside a liquidation or its
// resolution (units left over by max_cascade_rounds are candidates of the
// next event anyway). Any other market key is treated as a requirement.
void Engine::Impl::add_param_candidates(const ParamScope& s) {
  switch (s.section) {
    case ParamScope::Section::market:
      if (s.key == "initial_margin_ratio" || s.key == "liquidation_fee_ratio" || s.key == "depth" ||
          s.key == "impact_permanent_share")
        return;
      for (std::uint32_t acct : markets[s.index].holders) add_candidate(acct);  // cross and isolated
      return;
    case ParamScope::Section::asset:
      if (s.index == 0) return;  // USD's weight is always 1
      for (std::uint32_t acct : assets[s.index].holders) add_candidate(acct);
      return;
    case ParamScope::Section::liquidation:
      if (s.key == "margin_call_threshold") add_all_candidates();
      return;
  }
}

// New depth, written into the configuration document like a param, so a
// later param keeps it and the state hash covers it. Depth changes no
// unit's state: no candidates.
void Engine::Impl::on(const LiquidityEvent& e) {
  std::uint32_t m = static_cast<std::uint32_t>(market_index(e.market));
  auto scope = apply_param_in_place(config, "markets." + config.markets[m].name + ".depth",
                                    "\"" + e.depth.str() + "\"");
  LIQSIM_ASSERT(scope.ok(), "a positive depth is a valid configuration value");
}

// ---------------------------------------------------------------------------
// Engine

Engine::Engine(Config config, Symbols& symbols, EngineOptions options)
    : impl_(std::make_unique<Impl>(std::move(config), symbols, options)) {}
Engine::Engine(const Engine& other) : impl_(std::make_unique<Impl>(*other.impl_)) { impl_->out = nullptr; }
Engine::Engine(Engine&&) noexcept = default;

void Engine::assign(const Engine& other) {
  if (this == &other) return;
  *impl_ = *other.impl_;
  impl_->out = nullptr;
}
Engine::~Engine() = default;

Status Engine::apply(const InputEvent& event, std::int64_t seq, std::vector<DerivedEvent>& out) {
  if (impl_->failure) return *impl_->failure;
  try {
    impl_->apply(event, seq, out);
  } catch (const OverflowError& ex) {
    Error e = make_error(
        ErrorKind::input,
        std::string(ex.what()) +
            ": an amount of this event, or a balance or total it changes, is outside the fixed-point "
            "range of ±92233720368.54775807");
    e.seq = seq;
    impl_->failure = e;
    return e;
  }
  return {};
}

bool Engine::failed() const { return impl_->failure.has_value(); }

}  // namespace liqsim
