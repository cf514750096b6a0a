// engine.hpp — the margin and liquidation state machine (CONTRACT §3–§5).
//
// Owns all replay state: account balances and positions, marks, the
// insurance fund and the double-entry ledger. The engine is a pure function
// of (config, events): no clock, randomness, I/O or unordered iteration
// reaches its output, and all money is fixed-point. `apply` runs one input
// event to completion, in this fixed order:
//   1. apply the event (or record it as rejected);
//   2. liquidation rounds: every liquidatable unit among the candidates, worst
//      margin ratio first, is liquidated; then the round's bankruptcies are
//      resolved in the same order (insurance fund, then ADL, then socialized
//      loss); if a liquidation's permanent price impact moved a mark or ADL
//      changed a position, the units it can affect are checked in a next
//      round (a cascade), up to liquidation.max_cascade_rounds;
//   3. margin-call evaluation of every unit that was checked, in account order.
// A "unit" is a cross account or one isolated position.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "liqsim/config.hpp"
#include "liqsim/error.hpp"
#include "liqsim/events.hpp"
#include "liqsim/sha256.hpp"
#include "liqsim/validate.hpp"  // validate_events: the log is checked before the engine runs it

namespace liqsim {

struct EngineOptions {
  bool reference_scan = false;  // evaluate every unit after every event (no index)
  bool check_ledger = false;    // verify the ledger sums to zero after every event
};

struct Summary {
  std::int64_t events = 0;
  std::int64_t rejected = 0;
  std::int64_t margin_calls = 0;
  std::int64_t liquidations = 0;
  UsdSum liquidated_notional;
  UsdSum liquidation_fees;
  UsdSum bad_debt;
  Usd insurance_fund;
  std::int64_t adl_events = 0;
  UsdSum socialized_loss;
  std::string state_hash;
  // Extensions (CONTRACT allows new fields).
  std::int64_t bankruptcies = 0;
  std::int64_t accounts = 0;
  std::int64_t cascade_rounds_max = 0;   // most liquidation rounds inside one event
  std::int64_t impact_liquidations = 0;  // liquidations first seen in a round ≥ 2 (caused by impact)
  UsdSum adl_amount;                     // loss covered by ADL counterparties
  UsdSum insurance_paid;                 // paid out of the fund for deficits
  std::int64_t evaluations = 0;          // exact account evaluations (work done; not in the state hash)
};

// Accumulates per-event statistics the results database and reports use.
struct EngineCounters;

class Engine {
 public:
  Engine(Config config, Symbols& symbols, EngineOptions options = {});
  ~Engine();
  // A fork: an independent copy of the whole state (accounts, marks, fund,
  // index, counters) that shares only the symbol table, which neither
  // engine changes while it runs. Replaying events k..n on a copy taken
  // after event k gives what replaying 0..n gives (tests/test_snapshot.cpp).
  Engine(const Engine& other);
  Engine& operator=(const Engine&) = delete;
  // This engine becomes a fork of OTHER, as if copy-constructed from it, in
  // the memory it already holds: an engine that runs one path after another
  // from the same start state (stress paths) reuses its storage rather than
  // allocating and faulting in a new copy of every account for each.
  void assign(const Engine& other);
  Engine(Engine&&) noexcept;
  Engine& operator=(Engine&&) = delete;

  // Runs one input event to completion; derived events are appended to out.
  // A value that leaves the representable range is an Error of kind input
  // naming `seq` ("arithmetic outside the representable range (multiply)"),
  // never an exception. After such an error the event is half applied: the
  // engine refuses every later event with the same error (failed()).
  [[nodiscard]] Status apply(const InputEvent& event, std::int64_t seq, std::vector<DerivedEvent>& out);
  bool failed() const;

  Summary summary() const;
  // The same counters without hashing the state (cheap; state_hash is empty).
  Summary totals() const;
  // SHA-256 (hex) of a canonical text of the whole state, names sorted.
  std::string state_hash() const;
  // The canonical text the hash is taken over (for debugging differences).
  std::string canonical_state() const;
  // Keeps the canonical text of every account as it stands now. This engine
  // and its copies then format only the accounts that differ from it when
  // they hash their state (the text and the hash are the same either way):
  // for forks of one start state, such as stress paths.
  void keep_account_text();
  // Recomputes every ledger from the state; an Error names the imbalance.
  Status check_ledger() const;

  const Config& config() const;

  // Read-only views for result sinks and metrics.
  struct AccountView {
    std::string name;
    Usd cross_equity;
    Usd isolated_equity;  // the isolated wallets plus their unrealized PnL
    Usd maintenance_requirement;
    Usd initial_requirement;
    Usd gross_notional;  // all positions, cross and isolated, at the mark
    Usd collateral_value;
    std::uint32_t positions = 0;
    std::uint32_t isolated_positions = 0;
    const char* state = "healthy";
  };
  std::vector<AccountView> account_views() const;
  struct MarketView {
    std::string name;
    Price mark;
    Qty open_interest_long;
    Qty open_interest_short;
  };
  std::vector<MarketView> market_views() const;
  // Weighted collateral value per asset over all accounts (after haircuts).
  std::vector<std::pair<std::string, UsdSum>> collateral_by_asset() const;
  Usd insurance_fund() const;

  // Cheap read-only accessors for the per-event metrics: no strings, no
  // allocation. Markets in config order; accounts in engine order (that of
  // account_views).
  std::size_t market_count() const;
  Price mark(std::size_t m) const;
  Qty open_interest_long(std::size_t m) const;
  Qty open_interest_short(std::size_t m) const;
  // What effective leverage is computed from, as account_views has it but in
  // raw 1e-8 USD summed in 128 bits (never throws on a sum).
  struct AccountExposure {
    Sym name = kNoSym;
    __int128 gross_notional = 0;  // all positions, cross and isolated, at the mark
    __int128 cross_equity = 0;
    __int128 isolated_equity = 0;  // the isolated wallets plus their unrealized PnL
    std::uint32_t positions = 0;
    std::uint32_t isolated_positions = 0;
  };
  std::size_t account_count() const;
  AccountExposure account_exposure(std::size_t i) const;
  // account_exposure(i).cross_equity + isolated_equity, without the rest.
  __int128 account_equity(std::size_t i) const;
  // The engine-order index of the named account, or account_count() if there is none.
  std::size_t account_index(Sym name) const;
  // Asset A's price (config order; USD is 1), or nothing before its first price.
  std::optional<Price> asset_price(std::size_t a) const;
  // What a move of one asset would find before anything is liquidated: the
  // units (cross accounts, isolated positions) below maintenance if ASSET
  // were at PRICE (and every market on it marked there), with their
  // positions' notional at that price and their negative equity. Nothing is
  // changed; the liquidation curve's figure without the cascade.
  struct Liquidatable {
    std::int64_t units = 0;
    UsdSum notional;
    UsdSum deficit;
  };
  Liquidatable liquidatable_at(std::size_t asset, Price price) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace liqsim
