// state.hpp — the engine's internal state layout (not a public header).
//
// Accounts and positions live in dense vectors indexed by interned ids; a
// market keeps the list of accounts holding a position in it and an asset the
// list of accounts holding it as collateral, each with a back-index in the
// slot so removal is O(1). Every change of a balance, wallet or fund goes
// through Ledger::transfer (ledger.hpp), so the double-entry check can
// recompute each ledger from the state and compare.
#pragma once

#include <boost/container/small_vector.hpp>
#include <cstdint>
#include <vector>

#include "liqsim/events.hpp"
#include "liqsim/fixed.hpp"

namespace liqsim::engine {

inline constexpr std::uint32_t kNone = 0xffffffffu;
inline constexpr std::uint32_t kCross = 0xffffffffu;  // Unit::market of a cross unit

// Lifecycle of a risk unit (a cross account or an isolated position).
enum class RiskState : std::uint8_t { healthy, margin_call, liquidating, bankrupt, resolved };
const char* risk_state_name(RiskState s);
// The only way a state changes; a forbidden transition is a programmer error.
void transition(RiskState& state, RiskState to);

struct BalanceSlot {
  std::uint32_t asset = 0;
  std::uint32_t holder_pos = kNone;  // index in AssetState::holders (non-USD assets)
  Amount amount;
};

struct PositionSlot {
  std::uint32_t market = 0;
  std::uint32_t holder_pos = kNone;  // index in MarketState::holders
  MarginMode mode = MarginMode::cross;
  RiskState iso_state = RiskState::healthy;  // isolated positions only
  Qty qty;                                   // signed: positive long, negative short
  Price entry;                               // average entry price
  Usd wallet;                                // isolated positions only
  std::int64_t breach_ts = -1;  // isolated: ts of first maintenance breach, -1 when not in breach
};

struct Account {
  Sym name = kNoSym;
  RiskState state = RiskState::healthy;  // of the cross unit
  bool band_stale = false;               // evaluated since its index bands were last set
  std::uint32_t stamp = 0;               // dedupe marker for candidate sets
  std::uint32_t risk_slot = kNone;       // its entry in Engine::Impl::risk_cache, if evaluated this event
  std::int64_t breach_ts = -1;           // cross: ts of first maintenance breach
  boost::container::small_vector<BalanceSlot, 1> balances;    // sorted by asset
  boost::container::small_vector<PositionSlot, 1> positions;  // sorted by market
};

struct MarketState {
  Price mark;  // oracle price of the underlying, moved by permanent liquidation impact
  bool has_mark = false;
  Qty open_interest_long;
  Qty open_interest_short;
  std::vector<std::uint32_t> holders;  // accounts with a position here
};

struct AssetState {
  Price price;
  bool has_price = false;
  std::vector<std::uint32_t> holders;  // accounts with a balance slot in this asset
};

struct Unit {
  std::uint32_t account = 0;
  std::uint32_t market = kCross;
  bool is_cross() const { return market == kCross; }
};

}  // namespace liqsim::engine
