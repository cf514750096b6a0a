// events.hpp — input and derived events as values.
//
// Owns the value types of every input event of CONTRACT §2 and every derived
// event of CONTRACT §5, and the symbol table that interns account, asset and
// market names once at decode time (events carry 32-bit ids, never strings,
// except a param's path and value which are rare). Symbol ids are assigned in
// order of first appearance and never reach output: everything written names
// symbols by their text.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>
#include <vector>

#include "liqsim/fixed.hpp"

namespace liqsim {

using Sym = std::uint32_t;
inline constexpr Sym kNoSym = 0xffffffffu;

class Symbols {
 public:
  Sym intern(std::string_view name);
  // kNoSym when the name was never interned.
  Sym find(std::string_view name) const;
  const std::string& name(Sym id) const { return names_[id]; }
  std::size_t size() const { return names_.size(); }

 private:
  // Hashes a std::string and a std::string_view alike, so a name is looked
  // up by its view without building a std::string (C++20 heterogeneous
  // lookup); only a new name is copied.
  struct NameHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };
  std::vector<std::string> names_;  // by id: ids are given in order of first appearance
  // Lookup only: iteration order never reaches output.
  std::unordered_map<std::string, Sym, NameHash, std::equal_to<>> ids_;
};

enum class Side : std::uint8_t { buy, sell };
enum class MarginMode : std::uint8_t { cross, isolated };
const char* side_name(Side s);
const char* margin_mode_name(MarginMode m);

// ---- input events (CONTRACT §2) ----

struct PriceEvent {
  Sym asset = kNoSym;
  Price price;
};
struct DepositEvent {
  Sym account = kNoSym;
  Sym asset = kNoSym;
  Amount amount;
};
struct WithdrawEvent {
  Sym account = kNoSym;
  Sym asset = kNoSym;
  Amount amount;
};
struct TradeEvent {
  Sym account = kNoSym;
  Sym market = kNoSym;
  Side side = Side::buy;
  Qty qty;
  Price price;
  bool has_margin = false;  // whether the source named `margin` (kept for exact round trips)
  MarginMode margin = MarginMode::cross;
  bool has_isolated_margin = false;
  Usd isolated_margin;
  Sym counterparty = kNoSym;
};
struct FundingEvent {
  Sym market = kNoSym;
  Ratio rate;
};
struct ParamEvent {
  std::string path;
  std::string value_json;  // the value as compact JSON text, numbers as written
};
struct LiquidityEvent {
  Sym market = kNoSym;
  Usd depth;
};

using EventBody = std::variant<PriceEvent, DepositEvent, WithdrawEvent, TradeEvent, FundingEvent, ParamEvent,
                               LiquidityEvent>;

struct InputEvent {
  std::int64_t ts_ms = 0;
  EventBody body;
};

// The type names of CONTRACT §2, indexed like EventBody.
const char* event_type_name(const EventBody& body);

// ---- derived events (CONTRACT §5 journal) ----

struct RejectedEvent {
  std::string reason;
};
struct MarginCallEvent {
  Sym account = kNoSym;
  // maintenance ÷ equity, rounded up; absent when it is no number: the
  // unit's equity is ≤ 0, or the ratio is beyond Ratio's range.
  std::optional<Ratio> margin_ratio;
  Sym market = kNoSym;  // set for an isolated position, else kNoSym (extension)
  Usd equity;           // the unit's equity at the call (extension)
};
struct LiquidationEvent {
  Sym account = kNoSym;
  Sym market = kNoSym;
  Side side = Side::sell;  // the side of the closing fill
  Qty qty;
  Price price;
  Usd fee;
  MarginMode margin = MarginMode::cross;  // extension
  Price mark;                             // extension: mark before this fill
  std::uint32_t round = 0;                // extension: cascade round inside the event
};
struct BankruptcyEvent {
  Sym account = kNoSym;
  Usd deficit;
  Sym market = kNoSym;  // set for an isolated position (extension)
};
struct InsuranceEvent {
  Usd amount;   // positive: into the fund (fees); negative: paid out for a deficit
  Usd balance;  // fund balance after
};
struct AdlEvent {
  Sym account = kNoSym;       // the bankrupt account
  Sym counterparty = kNoSym;  // the deleveraged account
  Sym market = kNoSym;
  Qty qty;
  Price price;
  Usd amount;  // extension: loss covered by this counterparty
};
struct SocializedLossEvent {
  Usd amount;
};
// extension: an account's part of a socialized loss under
// liquidation.socialize ("profitable" or "open_interest"), after the
// socialized_loss it pays towards.
struct SocializedChargeEvent {
  Sym account = kNoSym;
  Sym market = kNoSym;  // the bankrupt leg's market
  Usd amount;
};
struct CollateralSaleEvent {  // extension: non-USD collateral sold to cover a USD debt
  Sym account = kNoSym;
  Sym asset = kNoSym;
  Amount amount;
  Price price;
  Usd proceeds;
};

using DerivedBody =
    std::variant<RejectedEvent, MarginCallEvent, LiquidationEvent, BankruptcyEvent, InsuranceEvent, AdlEvent,
                 SocializedLossEvent, CollateralSaleEvent, SocializedChargeEvent>;

struct DerivedEvent {
  std::int64_t ts_ms = 0;
  std::int64_t seq = 0;
  DerivedBody body;
};

const char* derived_type_name(const DerivedBody& body);

}  // namespace liqsim
