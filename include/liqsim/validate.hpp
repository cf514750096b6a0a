// validate.hpp — a log checked against its configuration before it is replayed.
//
// Owns the input errors of CONTRACT §2 that depend on the configuration, not
// on the state: every asset and market an event names is defined; a deposit
// only after its asset's first price; a trade or funding only after its
// underlying has a price; a funding rate within ±1; every param valid in
// sequence (each applied to the configuration as the replay will). The
// engine assumes a validated log and asserts what this guarantees.
//
// EventValidator checks one event at a time, in log order, so a replay can
// stream its log: each event is checked just before it is applied, and the
// first event that fails is the one reported (its seq and field). It keeps
// O(assets + markets + names) state, never the events.
#pragma once

#include <cstdint>
#include <vector>

#include "liqsim/config.hpp"
#include "liqsim/error.hpp"
#include "liqsim/events.hpp"

namespace liqsim {

class EventValidator {
 public:
  // Symbols must outlive the validator (events may intern new names between checks).
  EventValidator(const Config& config, const Symbols& symbols);
  // The next event of the log, whose seq is SEQ. On error, Error::seq is SEQ
  // and Error::field names the field. Events are checked in order: a param
  // changes what later events are checked against.
  Status check(const InputEvent& event, std::int64_t seq);

 private:
  int asset_of(Sym s);
  int market_of(Sym s);
  Config current_;
  const Symbols& symbols_;
  std::vector<bool> priced_;  // by asset index
  // Sym → asset / market index (-1: not defined; -2: not looked up yet): a
  // param changes values, never names, so a name is looked up once.
  std::vector<int> asset_index_, market_index_;
};

// The whole log at once (an EventValidator over every event).
Status validate_events(const Config& config, const Symbols& symbols, const std::vector<InputEvent>& events);

}  // namespace liqsim
