#include "liqsim/events.hpp"

#include "liqsim/error.hpp"

namespace liqsim {

Sym Symbols::intern(std::string_view name) {
  auto it = ids_.find(name);
  if (it != ids_.end()) return it->second;
  LIQSIM_ASSERT(names_.size() < kNoSym, "symbol table full");
  Sym id = static_cast<Sym>(names_.size());
  names_.emplace_back(name);
  ids_.emplace(names_.back(), id);
  return id;
}

Sym Symbols::find(std::string_view name) const {
  auto it = ids_.find(name);
  return it == ids_.end() ? kNoSym : it->second;
}

const char* side_name(Side s) { return s == Side::buy ? "buy" : "sell"; }
const char* margin_mode_name(MarginMode m) { return m == MarginMode::cross ? "cross" : "isolated"; }

const char* event_type_name(const EventBody& body) {
  static const char* names[] = {"price", "deposit", "withdraw", "trade", "funding", "param", "liquidity"};
  return names[body.index()];
}

const char* derived_type_name(const DerivedBody& body) {
  static const char* names[] = {"rejected",        "margin_call",     "liquidation",
                                "bankruptcy",      "insurance",       "adl",
                                "socialized_loss", "collateral_sale", "socialized_charge"};
  return names[body.index()];
}

}  // namespace liqsim
