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

namespace {
template <class Tag>
void put(std::string& s, Fixed<Tag> v) {
  append_decimal_raw(s, v.raw());
}
template <class Tag>
void put(std::string& s, const Sum<Tag>& v) {
  s += v.str();
}
void put(std::string& s, std::string_view v) { s.append(v); }
void put(std::string& s, std::int64_t v) { s += std::to_string(v); }
template <class... T>
void line(std::string& s, const T&... parts) {
  (put(s, parts), ...);
  s += '\n';
}

// Whether two accounts have the same canonical text: every field it shows.
bool same_text(const Account& a, const Account& b) {
  if (a.name != b.name || a.state != b.state || a.balances.size() != b.balances.size() ||
      a.positions.size() != b.positions.size())
    return false;
  for (std::size_t k = 0; k < a.balances.size(); ++k)
    if (a.balances[k].asset != b.balances[k].asset || a.balances[k].amount != b.balances[k].amount)
      return false;
  for (std::size_t k = 0; k < a.positions.size(); ++k) {
    const PositionSlot& x = a.positions[k];
    const PositionSlot& y = b.positions[k];
    if (x.market != y.market || x.mode != y.mode || x.iso_state != y.iso_state || x.qty != y.qty ||
        x.entry != y.entry || x.wallet != y.wallet)
      return false;
  }
  return true;
}
}  // namespace

const std::vector<std::uint32_t>& Engine::Impl::accounts_by_name() const {
  // Accounts are only ever appended and never renamed: the ones added since
  // the last call are sorted and merged into the order kept so far.
  std::vector<std::uint32_t>& order = canonical_order;
  const std::size_t known = order.size();
  if (known == accounts.size()) return order;
  for (std::size_t i = known; i < accounts.size(); ++i) order.push_back(static_cast<std::uint32_t>(i));
  auto by_name = [&](std::uint32_t x, std::uint32_t y) {
    return symbols.name(accounts[x].name) < symbols.name(accounts[y].name);
  };
  std::sort(order.begin() + static_cast<std::ptrdiff_t>(known), order.end(), by_name);
  std::inplace_merge(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(known), order.end(), by_name);
  return order;
}

void Engine::Impl::append_account(std::string& s, const Account& a, std::string& lines,
                                  std::vector<std::pair<std::size_t, std::size_t>>& spans) const {
  line(s, "account ", symbols.name(a.name), " ", risk_state_name(a.state));
  // An account's lines are sorted as text: they are written apart and
  // appended in order of their offsets (most accounts have one or two).
  lines.clear();
  spans.clear();
  for (const BalanceSlot& b : a.balances) {  // a zero balance is the same state as none
    if (b.amount.is_zero()) continue;
    const std::size_t from = lines.size();
    line(lines, " balance ", config.assets[b.asset].name, " ", b.amount);
    spans.emplace_back(from, lines.size() - from);
  }
  for (const PositionSlot& p : a.positions) {
    const std::size_t from = lines.size();
    line(lines, " position ", config.markets[p.market].name, " ", margin_mode_name(p.mode), " ", p.qty, " @ ",
         p.entry, " wallet ", p.wallet, " ", risk_state_name(p.iso_state));
    spans.emplace_back(from, lines.size() - from);
  }
  // Compared without their newline: the order of the lines as text.
  std::sort(spans.begin(), spans.end(), [&](const auto& x, const auto& y) {
    return std::string_view(lines).substr(x.first, x.second - 1) <
           std::string_view(lines).substr(y.first, y.second - 1);
  });
  for (const auto& [from, n] : spans) s.append(lines, from, n);
}

void Engine::keep_account_text() {
  auto kept = std::make_shared<Impl::AccountText>();
  kept->accounts = impl_->accounts;
  kept->blocks.resize(impl_->accounts.size());
  std::vector<std::pair<std::size_t, std::size_t>> spans;
  std::string lines;
  for (std::uint32_t i : impl_->accounts_by_name()) {
    const std::size_t from = kept->text.size();
    impl_->append_account(kept->text, impl_->accounts[i], lines, spans);
    kept->blocks[i] = {from, kept->text.size() - from};
  }
  impl_->account_text = std::move(kept);
}

void Engine::Impl::write_canonical(Sha256* sha, std::string& s) const {
  // One buffer, written in place: this text is hashed at the end of every
  // run and every stress path, so it is built without temporaries. With a
  // hash, the buffer goes to it every 64 KiB and the text is never whole
  // (at 1e6 accounts it is 150 MB).
  constexpr std::size_t kChunk = 64 * 1024;
  auto flush = [&] {
    if (sha != nullptr && s.size() >= kChunk) {
      sha->update(s.data(), s.size());
      s.clear();
    }
  };
  // The configuration as parsed, in canonical form: what it means, not how
  // its source spelled it (config.hpp, canonical_config).
  s += "liqsim-state-v2\n";
  s += canonical_config(config);
  line(s, "insurance ", ledger.insurance_balance());
  line(s, "socialized ", ledger.socialized_balance());
  std::vector<std::pair<std::string_view, std::size_t>> order;
  for (std::size_t i = 0; i < config.assets.size(); ++i) order.emplace_back(config.assets[i].name, i);
  std::sort(order.begin(), order.end());
  for (const auto& [name, i] : order) {
    s += "asset ";
    s += name;
    s += " price ";
    if (assets[i].has_price)
      put(s, assets[i].price);
    else
      s += '-';
    line(s, " external ", ledger.external_balance(static_cast<std::uint32_t>(i)));
  }
  order.clear();
  for (std::size_t i = 0; i < config.markets.size(); ++i) order.emplace_back(config.markets[i].name, i);
  std::sort(order.begin(), order.end());
  for (const auto& [name, i] : order) {
    s += "market ";
    s += name;
    s += " mark ";
    if (markets[i].has_mark)
      put(s, markets[i].mark);
    else
      s += '-';
    line(s, " oi ", markets[i].open_interest_long, "/", markets[i].open_interest_short);
  }
  std::vector<std::pair<std::size_t, std::size_t>> spans;
  std::string lines;
  const AccountText* kept = account_text.get();
  // Kept blocks follow each other in the kept text as they do here: a run of
  // unchanged accounts goes to the hash straight from it, in one piece.
  std::size_t run_from = 0, run_to = 0;
  auto end_run = [&] {
    if (run_to == run_from) return;
    if (sha != nullptr) {
      sha->update(s.data(), s.size());
      s.clear();
      sha->update(kept->text.data() + run_from, run_to - run_from);
    } else {
      s.append(kept->text, run_from, run_to - run_from);
    }
    run_from = run_to = 0;
  };
  for (std::uint32_t i : accounts_by_name()) {
    if (kept != nullptr && i < kept->accounts.size() && same_text(accounts[i], kept->accounts[i])) {
      const auto [from, n] = kept->blocks[i];
      if (run_to != run_from && from != run_to) end_run();
      if (run_to == run_from) run_from = run_to = from;
      run_to += n;
      continue;
    }
    end_run();
    append_account(s, accounts[i], lines, spans);
    flush();
  }
  end_run();
  const Summary& t = totals;
  line(s, "totals ", t.events, " ", t.rejected, " ", t.margin_calls, " ", t.liquidations, " ",
       t.liquidated_notional, " ", t.liquidation_fees, " ", t.bad_debt, " ", t.adl_events, " ",
       t.socialized_loss);
  if (sha != nullptr) {
    sha->update(s.data(), s.size());
    s.clear();
  }
}

std::string Engine::Impl::canonical() const {
  std::string s;
  s.reserve(canonical_bytes + 64);
  write_canonical(nullptr, s);
  canonical_bytes = s.size();
  return s;
}

std::string Engine::Impl::canonical_hash() const {
  Sha256 sha;
  std::string buffer;
  buffer.reserve(128 * 1024);
  write_canonical(&sha, buffer);
  return sha.hex();
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
std::string Engine::state_hash() const { return impl_->canonical_hash(); }
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

__int128 Engine::account_equity(std::size_t i) const {
  const Account& a = impl_->accounts[i];
  __int128 cross = impl_->valuation().cross_equity(a).raw();
  __int128 isolated = 0;
  for (const PositionSlot& p : a.positions)
    if (!p.qty.is_zero() && p.mode == MarginMode::isolated) isolated += impl_->iso_risk(p).equity.raw();
  return cross + isolated;
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
