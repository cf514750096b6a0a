// impl.hpp — the engine's state and the operations its parts share (not a public header).
//
// Engine::Impl owns the whole replay state. Its member functions are
// defined by responsibility:
//   engine.cpp       the public Engine API and the input events (prices,
//                    deposits, withdrawals, trades, funding, params, liquidity);
//   liquidation.cpp  the rounds after an event: liquidation, collateral sale,
//                    bankruptcy, insurance, ADL, socialized loss, margin calls,
//                    and the risk-state lifecycle;
//   views.cpp        the state hash's canonical text, the ledger check and the
//                    read-only views.
// The arithmetic they use is in margin.hpp, a unit's risk at the current
// marks in risk.hpp, the ledgers in ledger.hpp, and the band index (who to
// look at after a price change) in band_index.hpp, which sees the engine
// only through IndexHost. What every part calls on a
// hot path (lookups, valuation, risk, candidates) is inline here.
#pragma once

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "band_index.hpp"
#include "ledger.hpp"
#include "liqsim/engine.hpp"
#include "liqsim/sha256.hpp"
#include "margin.hpp"
#include "risk.hpp"
#include "state.hpp"

namespace liqsim {

namespace engine {

struct ClosedLeg {
  std::uint32_t market;
  Side side;  // side of the closing fill
  Qty qty;
  Usd filled;  // Σ qty × price of its fills (each rounded down)
  // At bankruptcy (Engine::Impl::liquidate): the leg's share of the deficit,
  // pro rata to `filled`, and its bankruptcy price; at resolution, the part
  // of that share the insurance fund left for ADL (`open`).
  Usd deficit, open;
  Price bankruptcy;
};

struct Bankrupt {
  Unit unit;
  Usd deficit;
  boost::container::small_vector<ClosedLeg, 2> legs;
};

// ADL's counterparties for one market and side (Engine::Impl::adl_books).
struct AdlEntry {
  engine::AdlScore score;
  std::uint32_t acct;
  std::uint32_t version;
};
struct AdlBook {
  std::uint32_t market;
  bool want_short;
  std::vector<AdlEntry> heap;
};
}  // namespace engine

// The engine's symbol table, held by pointer so that a whole Impl can be
// assigned from another (Engine::assign); every engine of one run shares it.
class SymbolsRef {
 public:
  explicit SymbolsRef(Symbols& s) : p_(&s) {}
  Sym intern(std::string_view name) const { return p_->intern(name); }
  const std::string& name(Sym id) const { return p_->name(id); }
  std::size_t size() const { return p_->size(); }

 private:
  Symbols* p_;
};

struct Engine::Impl {
  using Account = engine::Account;
  using AssetState = engine::AssetState;
  using BalanceSlot = engine::BalanceSlot;
  using Bankrupt = engine::Bankrupt;
  using BandIndex = engine::BandIndex;
  using Ledger = engine::Ledger;
  using MarketState = engine::MarketState;
  using PositionSlot = engine::PositionSlot;
  using Risk = engine::Risk;
  using RiskState = engine::RiskState;
  using Unit = engine::Unit;
  static constexpr std::uint32_t kNone = engine::kNone;
  static constexpr std::uint32_t kCross = engine::kCross;

  Config config;
  SymbolsRef symbols;
  EngineOptions options;

  std::vector<Account> accounts;
  std::vector<MarketState> markets;
  std::vector<AssetState> assets;
  std::vector<std::uint32_t> account_of_sym;  // Sym → account index or kNone
  std::vector<std::int32_t> market_of_sym;    // Sym → market index, -1 unknown, -2 unresolved
  std::vector<std::int32_t> asset_of_sym;
  std::vector<Sym> market_sym;  // market index → its interned name
  std::vector<Sym> asset_sym;
  std::vector<bool> asset_priced_before;  // for the index: a first price is a jump from zero

  Ledger ledger;  // the venue's ledgers: the outside world, insurance, bad debt, socialized loss
  Summary totals;
  BandIndex index;

  // Scratch, reused across events (no per-event allocation once warm).
  std::uint32_t stamp = 0;
  std::vector<std::uint32_t> candidates;
  std::vector<std::uint32_t> checked;       // every account checked during this event, once per round
  std::vector<std::uint32_t> evaluated;     // every account checked during this event, once
  std::vector<std::uint32_t> sort_scratch;  // evaluate_margin_calls' radix sort
  std::vector<std::uint32_t> pending;       // liquidatable units left when max rounds was reached
  std::vector<std::uint32_t> impacted_markets;
  std::vector<std::uint32_t> displaced;       // markets whose mark liquidation impact moved
  std::vector<std::uint32_t> adl_candidates;  // counterparties ADL changed this round
  std::vector<std::pair<Risk, Unit>> liquidatable;
  std::vector<Bankrupt> bankrupts;
  // ADL's ranking of counterparties, one heap per market and side, built at
  // the first bankrupt leg that needs it in a resolve_bankruptcies pass and
  // kept for the pass: an account ADL changes is re-scored (a new entry with
  // a newer version; its older entries are skipped). Nothing else changes a
  // counterparty's score within a pass, so each leg sees the order a fresh
  // ranking gives, without scanning the market's holders once per leg.
  std::vector<engine::AdlBook> adl_books;
  std::unordered_map<std::uint32_t, std::uint32_t>
      adl_versions;  // accounts ADL changed this pass (lookups only)
  RiskState scratch_state = RiskState::bankrupt;
  std::int64_t ts = 0;
  std::int64_t seq = 0;
  std::vector<DerivedEvent>* out = nullptr;
  std::optional<Error> failure;  // set by an event that left the range; every later apply returns it

  Impl(Config c, Symbols& s, EngineOptions o);

  // ---- lookups ----

  std::int32_t market_index(Sym s) {
    if (s >= market_of_sym.size()) market_of_sym.resize(symbols.size(), -2);
    if (market_of_sym[s] == -2) market_of_sym[s] = config.market_index(symbols.name(s));
    return market_of_sym[s];
  }
  std::int32_t asset_index(Sym s) {
    if (s >= asset_of_sym.size()) asset_of_sym.resize(symbols.size(), -2);
    if (asset_of_sym[s] == -2) asset_of_sym[s] = config.asset_index(symbols.name(s));
    return asset_of_sym[s];
  }
  std::uint32_t find_account(Sym s) const { return s < account_of_sym.size() ? account_of_sym[s] : kNone; }
  std::uint32_t get_or_create_account(Sym s) {
    if (s >= account_of_sym.size())
      account_of_sym.resize(std::max<std::size_t>(symbols.size(), s + 1), kNone);
    if (account_of_sym[s] == kNone) {
      account_of_sym[s] = static_cast<std::uint32_t>(accounts.size());
      accounts.emplace_back();
      accounts.back().name = s;
      index.add_account();
    }
    return account_of_sym[s];
  }
  static const PositionSlot* find_slot(const Account& a, std::uint32_t market) {
    for (const PositionSlot& p : a.positions)
      if (p.market == market) return &p;
    return nullptr;
  }
  static PositionSlot* find_slot(Account& a, std::uint32_t market) {
    for (PositionSlot& p : a.positions)
      if (p.market == market) return &p;
    return nullptr;
  }

  // ---- valuation (risk.hpp: margin.hpp's arithmetic on this state) ----

  engine::Valuation valuation() const { return engine::Valuation{config, markets, assets}; }
  Price mark(std::uint32_t m) const { return markets[m].mark; }
  Usd balance_value(const BalanceSlot& b) const { return valuation().balance_value(b); }
  Usd upnl(const PositionSlot& p) const { return valuation().upnl(p); }
  Usd notional(const PositionSlot& p) const { return valuation().notional(p); }
  // With the initial requirement: the trade and withdrawal checks, the views.
  Risk iso_risk(const PositionSlot& p) const { return valuation().iso_risk(p); }
  Risk cross_risk(const Account& a) const { return valuation().cross_risk(a); }
  // Without it (im zero): everything after an event.
  Risk iso_risk_mm(const PositionSlot& p) const { return valuation().iso_risk_mm(p); }
  Risk cross_risk_mm(const Account& a) const { return valuation().cross_risk_mm(a); }
  Risk unit_risk_mm(const Unit& u) const {
    const Account& a = accounts[u.account];
    if (u.is_cross()) return cross_risk_mm(a);
    return iso_risk_mm(*find_slot(a, u.market));
  }

  // ---- risk, computed once per evaluation ----

  // The risks collect_liquidatable computed during this event, reused by the
  // later looks at the same account (the liquidation check, the margin calls,
  // the new bands) while nothing has changed: `risk_epoch` moves at every
  // event and before every liquidation and ADL, the only changes of a mark, a
  // position or a balance inside the rounds. A stale entry is never read: the
  // caller computes afresh, in the order it always did.
  struct CachedRisk {
    std::uint32_t account = kNone;
    std::uint32_t iso_begin = 0;  // risk_pool[iso_begin + i]: the account's position i (isolated ones)
    std::uint64_t epoch = 0;
    Risk cross;
  };
  std::uint64_t risk_epoch = 0;
  std::vector<CachedRisk> risk_cache;
  std::vector<Risk> risk_pool;

  void risks_changed() { ++risk_epoch; }
  void new_event_risks() {
    ++risk_epoch;
    risk_cache.clear();
    risk_pool.clear();
  }
  // The account's risks if they are still those of its last evaluation, else null.
  const CachedRisk* cached_risks(std::uint32_t acct) const {
    std::uint32_t slot = accounts[acct].risk_slot;
    if (slot >= risk_cache.size()) return nullptr;
    const CachedRisk& c = risk_cache[slot];
    return c.account == acct && c.epoch == risk_epoch ? &c : nullptr;
  }
  // Whether the account has been evaluated during this event (its entry is
  // of this event: the cache is emptied at every event).
  bool evaluated_this_event(std::uint32_t acct) const {
    std::uint32_t slot = accounts[acct].risk_slot;
    return slot < risk_cache.size() && risk_cache[slot].account == acct;
  }
  CachedRisk& start_risks(std::uint32_t acct) {
    accounts[acct].risk_slot = static_cast<std::uint32_t>(risk_cache.size());
    CachedRisk& c = risk_cache.emplace_back();  // epoch 0: not valid until the caller completes it
    c.account = acct;
    c.iso_begin = static_cast<std::uint32_t>(risk_pool.size());
    risk_pool.resize(risk_pool.size() + accounts[acct].positions.size());
    return c;
  }
  Risk cross_risk_now(std::uint32_t acct) const {
    const CachedRisk* c = cached_risks(acct);
    return c ? c->cross : cross_risk_mm(accounts[acct]);
  }
  Risk iso_risk_now(std::uint32_t acct, const PositionSlot& p) const {
    const CachedRisk* c = cached_risks(acct);
    return c ? risk_pool[c->iso_begin + (&p - accounts[acct].positions.data())] : iso_risk_mm(p);
  }
  Risk unit_risk_now(const Unit& u) const {
    if (u.is_cross()) return cross_risk_now(u.account);
    return iso_risk_now(u.account, *find_slot(accounts[u.account], u.market));
  }

  // ---- the accounts' ledgers (every movement is a Ledger::transfer) ----

  // The account's balance cell of `asset`, created (empty) if absent.
  Amount& balance_ref(std::uint32_t acct, std::uint32_t asset) {
    Account& a = accounts[acct];
    auto it = std::lower_bound(a.balances.begin(), a.balances.end(), asset,
                               [](const BalanceSlot& b, std::uint32_t x) { return b.asset < x; });
    if (it == a.balances.end() || it->asset != asset) {
      BalanceSlot slot;
      slot.asset = asset;
      if (asset != 0) {
        slot.holder_pos = static_cast<std::uint32_t>(assets[asset].holders.size());
        assets[asset].holders.push_back(acct);
      }
      it = a.balances.insert(it, slot);
    }
    return it->amount;
  }
  // The balance without creating a slot for it.
  static Amount held(const Account& a, std::uint32_t asset) {
    auto it = std::lower_bound(a.balances.begin(), a.balances.end(), asset,
                               [](const BalanceSlot& b, std::uint32_t x) { return b.asset < x; });
    return it == a.balances.end() || it->asset != asset ? Amount::zero() : it->amount;
  }
  static Usd usd_balance(const Account& a) {
    if (!a.balances.empty() && a.balances.front().asset == 0)
      return same_units<Usd>(a.balances.front().amount);
    return Usd::zero();
  }
  Ledger::Place balance(std::uint32_t acct, std::uint32_t asset) {
    return Ledger::balance(balance_ref(acct, asset), asset);
  }
  static Ledger::Place wallet(PositionSlot& p) { return Ledger::wallet(p.wallet); }
  // A unit's margin: the account's USD (cross) or the position's wallet (isolated).
  Ledger::Place unit_margin(const Unit& u) {
    if (u.is_cross()) return balance(u.account, 0);
    return wallet(*find_slot(accounts[u.account], u.market));
  }
  // Realized PnL, funding and fills settle against the outside world, into
  // the unit's margin.
  void settle_external(std::uint32_t acct, PositionSlot& p, Usd amount) {
    if (p.mode == MarginMode::isolated)
      ledger.transfer(ledger.external(0), wallet(p), amount);
    else
      ledger.transfer(ledger.external(0), balance(acct, 0), amount);
  }

  // ---- positions and the holder lists ----

  PositionSlot& open_slot(std::uint32_t acct, std::uint32_t market, MarginMode mode) {
    Account& a = accounts[acct];
    auto it = std::lower_bound(a.positions.begin(), a.positions.end(), market,
                               [](const PositionSlot& p, std::uint32_t x) { return p.market < x; });
    LIQSIM_ASSERT(it == a.positions.end() || it->market != market, "position slot exists");
    PositionSlot slot;
    slot.market = market;
    slot.mode = mode;
    slot.holder_pos = static_cast<std::uint32_t>(markets[market].holders.size());
    markets[market].holders.push_back(acct);
    return *a.positions.insert(it, slot);
  }
  void release_slot(std::uint32_t acct, std::uint32_t market) {
    Account& a = accounts[acct];
    PositionSlot* p = find_slot(a, market);
    LIQSIM_ASSERT(p && p->qty.is_zero() && p->wallet.is_zero(), "releasing a live position slot");
    auto& holders = markets[market].holders;
    std::uint32_t pos = p->holder_pos;
    std::uint32_t moved = holders.back();
    holders[pos] = moved;
    holders.pop_back();
    if (moved != acct) find_slot(accounts[moved], market)->holder_pos = pos;
    a.positions.erase(a.positions.begin() + (p - a.positions.data()));
  }
  void set_qty(PositionSlot& p, Qty q) {
    MarketState& m = markets[p.market];
    if (p.qty.is_positive())
      m.open_interest_long -= p.qty;
    else
      m.open_interest_short += p.qty;
    p.qty = q;
    if (q.is_positive())
      m.open_interest_long += q;
    else
      m.open_interest_short -= q;
  }
  // A position at zero: cross slots go; an isolated slot returns its wallet
  // to the account, unless the wallet is negative (a bankruptcy to resolve).
  void tidy_slot(std::uint32_t acct, std::uint32_t market) {
    PositionSlot* p = find_slot(accounts[acct], market);
    if (!p || !p->qty.is_zero()) return;
    if (p->mode == MarginMode::isolated) {
      if (p->wallet.is_negative()) return;
      ledger.transfer(wallet(*p), balance(acct, 0), p->wallet);
    }
    release_slot(acct, market);
  }

  // ---- candidates: the units to evaluate after this event ----

  void add_candidate(std::uint32_t acct) {
    if (accounts[acct].stamp == stamp) return;
    accounts[acct].stamp = stamp;
    candidates.push_back(acct);
  }
  void add_all_candidates() {
    for (std::uint32_t i = 0; i < accounts.size(); ++i) add_candidate(i);
  }
  void touch(std::uint32_t acct) {
    add_candidate(acct);
    index.invalidate(acct);
  }

  // Memory hints for the loops over many accounts (candidates, checked):
  // at a million accounts each account is a cache miss, so the loops ask for
  // the ones a few steps ahead. No effect on any value.
  static constexpr std::size_t kAhead = 8;
  void prefetch_account(std::uint32_t acct) const {
    const char* p = reinterpret_cast<const char*>(&accounts[acct]);
    __builtin_prefetch(p);
    __builtin_prefetch(p + 64);
    __builtin_prefetch(p + sizeof(Account) - 1);
  }
  // The second step, once the account itself has arrived: its balances and
  // positions where they live outside it (more than one of either).
  void prefetch_account_slots(std::uint32_t acct) const {
    const Account& a = accounts[acct];
    __builtin_prefetch(a.balances.data());
    __builtin_prefetch(a.positions.data());
    if (a.positions.size() > 1) __builtin_prefetch(reinterpret_cast<const char*>(a.positions.data()) + 64);
  }

  // What the band index may see of the engine, and the one thing it may do.
  struct IndexHost {
    Impl& e;
    void add_candidate(std::uint32_t acct) { e.add_candidate(acct); }
    void prefetch(std::uint32_t acct) const { __builtin_prefetch(&e.accounts[acct].stamp); }
    const Account& account(std::uint32_t acct) const { return e.accounts[acct]; }
    std::int64_t mark_raw(std::uint32_t m) const { return e.markets[m].mark.raw(); }
    std::int64_t price_raw(std::uint32_t asset) const { return e.assets[asset].price.raw(); }
    std::int64_t max_maintenance_ratio_raw(std::uint32_t m) const {
      return max_maintenance_ratio(e.config.markets[m]).raw();
    }
    std::int64_t margin_call_threshold_raw() const {
      return e.config.liquidation.margin_call_threshold.raw();
    }
    Risk cross_risk(const Account& a) const { return e.cross_risk_now(account_index(a)); }
    Risk iso_risk(const Account& a, const PositionSlot& p) const {
      return e.iso_risk_now(account_index(a), p);
    }
    std::uint32_t account_index(const Account& a) const {
      return static_cast<std::uint32_t>(&a - e.accounts.data());
    }
  };
  IndexHost host() { return IndexHost{*this}; }

  // ---- derived events ----

  void emit(DerivedBody body) { out->push_back(DerivedEvent{ts, seq, std::move(body)}); }
  void reject(std::string reason) {
    ++totals.rejected;
    emit(RejectedEvent{std::move(reason)});
  }
  void insurance_move(Usd amount) { emit(InsuranceEvent{amount, ledger.insurance_balance()}); }

  // ---- engine.cpp: the input events ----

  void apply(const InputEvent& ev, std::int64_t event_seq, std::vector<DerivedEvent>& sink);
  void on(const PriceEvent& e);
  void on(const DepositEvent& e);
  void on(const WithdrawEvent& e);
  void on(const TradeEvent& e);
  void on(const FundingEvent& e);
  void on(const ParamEvent& e);
  void on(const LiquidityEvent& e);
  std::optional<std::string> check_trade_side(const Account& a, std::uint32_t market, MarginMode mode,
                                              Qty delta, Price price, Usd iso_margin) const;
  void apply_trade_side(std::uint32_t acct, std::uint32_t market, MarginMode mode, Qty delta, Price price,
                        Usd iso_margin);
  static MarginMode trade_mode(const Account& a, std::uint32_t market, MarginMode stated, Qty delta,
                               bool moves_margin);
  void add_param_candidates(const ParamScope& s);

  // ---- liquidation.cpp: the rounds after an event ----

  void restore_marks();
  void settle();
  void collect_liquidatable(std::uint32_t acct);
  void liquidate(const Unit& u, std::uint32_t round);
  void close_for_liquidation(const Unit& u, std::uint32_t m, Qty qty, std::uint32_t round, Bankrupt& record);
  void unit_positions(const Unit& u,
                      boost::container::small_vector<std::pair<Usd, std::uint32_t>, 4>& outv) const;
  RiskState& unit_state(const Unit& u);
  void sell_collateral(std::uint32_t acct);
  void resolve_bankruptcies();
  RiskState& iso_state_after_resolution(const Unit& u);
  void deleverage(Bankrupt& b);
  void deleverage_by_scan(Bankrupt& b);  // the reference: every leg ranks every holder
  void sort_adl_legs(Bankrupt& b) const;
  bool adl_take(Bankrupt& b, engine::ClosedLeg& leg, std::uint32_t acct, Qty& remaining);
  bool adl_leg_open(const engine::ClosedLeg& leg, const Qty& remaining) const;
  void attribute_deficit(Bankrupt& b) const;
  void charge_socialized(Bankrupt& b);
  void adl_rescore(std::uint32_t acct);
  std::optional<engine::AdlScore> adl_rank(std::uint32_t acct, std::uint32_t m, bool want_short) const;
  engine::AdlBook& adl_book(std::uint32_t m, bool want_short);
  std::uint32_t adl_version(std::uint32_t acct) const {
    auto it = adl_versions.find(acct);
    return it == adl_versions.end() ? 0 : it->second;
  }
  void reband(std::uint32_t acct);
  void evaluate_margin_calls();
  void update_margin_state(RiskState& st, const Risk& r, Ratio threshold, const Account& a, Sym market,
                           std::int64_t& breach_ts);

  // ---- views.cpp: checks, hashing, views ----

  Status check() const;
  std::string canonical() const;
  std::string canonical_hash() const;  // sha256_hex(canonical()), the text never whole
  // The canonical text into s; with sha, in pieces into the hash instead.
  void write_canonical(Sha256* sha, std::string& s) const;
  // The accounts in name order (the canonical text's), kept across calls and
  // copies: a fork hashes its state without sorting the book again.
  const std::vector<std::uint32_t>& accounts_by_name() const;
  mutable std::vector<std::uint32_t> canonical_order;
  mutable std::size_t canonical_bytes = 0;  // the last text's size: one reservation
  // Every account's canonical block as it was when keep_account_text ran,
  // with the account it was made from; shared, never changed, by copies.
  struct AccountText {
    std::vector<Account> accounts;
    std::string text;
    std::vector<std::pair<std::size_t, std::size_t>> blocks;  // per account: offset, length
  };
  std::shared_ptr<const AccountText> account_text;
  void append_account(std::string& s, const Account& a, std::string& lines,
                      std::vector<std::pair<std::size_t, std::size_t>>& spans) const;
};

}  // namespace liqsim
