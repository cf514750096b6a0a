// views.cpp — what the engine shows of its state: the canonical text the
// state hash is taken over, the ledger's zero-sum check, the summary and the
// read-only views for sinks and metrics. Nothing here changes the state.
#include <algorithm>

#include "impl.hpp"

namespace liqsim {

using namespace engine;

Status Engine::Impl::check() const {
  std::vector<__int128> held(assets.size(), 0);
  for (const Account& a : accounts) {
    for (const BalanceSlot& b : a.balances) held[b.asset] += b.amount.raw();
    for (const PositionSlot& p : a.positions) held[0] += p.wallet.raw();
  }
  return ledger.check(
      held, [&](std::size_t i) { return config.assets[i].name; }, seq);
}

std::string Engine::Impl::canonical() const {
  // The configuration as parsed, in canonical form: what it means, not how
  // its source spelled it (config.hpp, canonical_config).
  std::string s = "liqsim-state-v2\n" + canonical_config(config);
  s += "insurance " + ledger.insurance_balance().str() + "\nsocialized " + ledger.socialized_balance().str() +
       "\n";
  std::vector<std::pair<std::string, std::size_t>> order;
  for (std::size_t i = 0; i < config.assets.size(); ++i) order.emplace_back(config.assets[i].name, i);
  std::sort(order.begin(), order.end());
  for (const auto& [name, i] : order)
    s += "asset " + name + " price " + (assets[i].has_price ? assets[i].price.str() : "-") + " external " +
         ledger.external_balance(static_cast<std::uint32_t>(i)).str() + "\n";
  order.clear();
  for (std::size_t i = 0; i < config.markets.size(); ++i) order.emplace_back(config.markets[i].name, i);
  std::sort(order.begin(), order.end());
  for (const auto& [name, i] : order)
    s += "market " + name + " mark " + (markets[i].has_mark ? markets[i].mark.str() : "-") + " oi " +
         markets[i].open_interest_long.str() + "/" + markets[i].open_interest_short.str() + "\n";
  order.clear();
  for (std::size_t i = 0; i < accounts.size(); ++i) order.emplace_back(symbols.name(accounts[i].name), i);
  std::sort(order.begin(), order.end());
  for (const auto& [name, i] : order) {
    const Account& a = accounts[i];
    s += "account " + name + " " + risk_state_name(a.state) + "\n";
    std::vector<std::string> lines;
    for (const BalanceSlot& b : a.balances)  // a zero balance is the same state as none
      if (!b.amount.is_zero())
        lines.push_back(" balance " + config.assets[b.asset].name + " " + b.amount.str());
    for (const PositionSlot& p : a.positions)
      lines.push_back(" position " + config.markets[p.market].name + " " + margin_mode_name(p.mode) + " " +
                      p.qty.str() + " @ " + p.entry.str() + " wallet " + p.wallet.str() + " " +
                      risk_state_name(p.iso_state));
    std::sort(lines.begin(), lines.end());
    for (const auto& l : lines) s += l + "\n";
  }
  const Summary& t = totals;
  s += "totals " + std::to_string(t.events) + " " + std::to_string(t.rejected) + " " +
       std::to_string(t.margin_calls) + " " + std::to_string(t.liquidations) + " " +
       t.liquidated_notional.str() + " " + t.liquidation_fees.str() + " " + t.bad_debt.str() + " " +
       std::to_string(t.adl_events) + " " + t.socialized_loss.str() + "\n";
  return s;
}

Summary Engine::totals() const {
  Summary s = impl_->totals;
  s.insurance_fund = impl_->ledger.insurance_balance();
  s.accounts = static_cast<std::int64_t>(impl_->accounts.size());
  return s;
}

Summary Engine::summary() const {
  Summary s = totals();
  s.state_hash = state_hash();
  return s;
}

std::string Engine::canonical_state() const { return impl_->canonical(); }
std::string Engine::state_hash() const { return sha256_hex(impl_->canonical()); }
Status Engine::check_ledger() const { return impl_->check(); }
const Config& Engine::config() const { return impl_->config; }
Usd Engine::insurance_fund() const { return impl_->ledger.insurance_balance(); }

std::vector<Engine::AccountView> Engine::account_views() const {
  std::vector<AccountView> v;
  v.reserve(impl_->accounts.size());
  for (const Account& a : impl_->accounts) {
    AccountView av;
    av.name = impl_->symbols.name(a.name);
    Risk r = impl_->cross_risk(a);
    av.cross_equity = r.equity;
    av.maintenance_requirement = r.mm;
    av.initial_requirement = r.im;
    for (const BalanceSlot& b : a.balances) av.collateral_value += impl_->balance_value(b);
    for (const PositionSlot& p : a.positions) {
      if (p.qty.is_zero()) continue;
      av.gross_notional += impl_->notional(p);
      ++av.positions;
      if (p.mode == MarginMode::isolated) {
        Risk ir = impl_->iso_risk(p);
        ++av.isolated_positions;
        av.isolated_equity += ir.equity;
        av.maintenance_requirement += ir.mm;
        av.initial_requirement += ir.im;
      }
    }
    av.state = risk_state_name(a.state);
    v.push_back(std::move(av));
  }
  return v;
}

std::vector<Engine::MarketView> Engine::market_views() const {
  std::vector<MarketView> v;
  for (std::size_t i = 0; i < impl_->markets.size(); ++i)
    v.push_back(MarketView{impl_->config.markets[i].name, impl_->markets[i].mark,
                           impl_->markets[i].open_interest_long, impl_->markets[i].open_interest_short});
  return v;
}

std::size_t Engine::market_count() const { return impl_->markets.size(); }
Price Engine::mark(std::size_t m) const { return impl_->markets[m].mark; }
Qty Engine::open_interest_long(std::size_t m) const { return impl_->markets[m].open_interest_long; }
Qty Engine::open_interest_short(std::size_t m) const { return impl_->markets[m].open_interest_short; }
std::size_t Engine::account_count() const { return impl_->accounts.size(); }

std::optional<Price> Engine::asset_price(std::size_t a) const {
  if (a == 0) return Price::from_raw(kScale);
  if (a >= impl_->assets.size() || !impl_->assets[a].has_price) return std::nullopt;
  return impl_->assets[a].price;
}

Engine::Liquidatable Engine::liquidatable_at(std::size_t asset, Price price) const {
  const Impl& e = *impl_;
  std::vector<AssetState> assets = e.assets;
  std::vector<MarketState> markets = e.markets;
  assets[asset].price = price;
  assets[asset].has_price = true;
  for (std::size_t m = 0; m < markets.size(); ++m)
    if (e.config.markets[m].underlying_index == asset) {
      markets[m].mark = price;
      markets[m].has_mark = true;
    }
  const Valuation v{e.config, markets, assets};
  Liquidatable out;
  for (const Account& a : e.accounts) {
    if (a.positions.empty()) continue;
    const Risk cross = v.cross_risk_mm(a);
    if (cross.liquidatable()) {
      bool any = false;
      for (const PositionSlot& p : a.positions)
        if (p.mode == MarginMode::cross && !p.qty.is_zero()) {
          const Usd n = v.notional(p);
          out.notional += n.is_negative() ? Usd::from_raw(-n.raw()) : n;
          any = true;
        }
      if (any) {
        ++out.units;
        if (cross.equity.is_negative()) out.deficit -= cross.equity;
      }
    }
    for (const PositionSlot& p : a.positions) {
      if (p.mode != MarginMode::isolated || p.qty.is_zero()) continue;
      const Risk r = v.iso_risk_mm(p);
      if (!r.liquidatable()) continue;
      ++out.units;
      const Usd n = v.notional(p);
      out.notional += n.is_negative() ? Usd::from_raw(-n.raw()) : n;
      if (r.equity.is_negative()) out.deficit -= r.equity;
    }
  }
  return out;
}

Engine::AccountExposure Engine::account_exposure(std::size_t i) const {
  const Account& a = impl_->accounts[i];
  AccountExposure x;
  x.name = a.name;
  x.cross_equity = impl_->cross_risk(a).equity.raw();
  for (const PositionSlot& p : a.positions) {
    if (p.qty.is_zero()) continue;
    x.gross_notional += impl_->notional(p).raw();
    ++x.positions;
    if (p.mode == MarginMode::isolated) {
      ++x.isolated_positions;
      x.isolated_equity += impl_->iso_risk(p).equity.raw();
    }
  }
  return x;
}

std::size_t Engine::account_index(Sym name) const {
  std::uint32_t i = impl_->find_account(name);
  return i == engine::kNone ? impl_->accounts.size() : i;
}

std::vector<std::pair<std::string, UsdSum>> Engine::collateral_by_asset() const {
  std::vector<UsdSum> sums(impl_->assets.size());
  for (const Account& a : impl_->accounts)
    for (const BalanceSlot& b : a.balances)
      if (b.amount.is_positive()) sums[b.asset] += impl_->balance_value(b);
  std::vector<std::pair<std::string, UsdSum>> v;
  for (std::size_t i = 0; i < sums.size(); ++i) v.emplace_back(impl_->config.assets[i].name, sums[i]);
  return v;
}

}  // namespace liqsim
