// validate.hpp — a log checked against its configuration before any replay.
//
// Owns the input errors of CONTRACT §2 that depend on the configuration, not
// on the state: every asset and market an event names is defined; a deposit
// only after its asset's first price; a trade or funding only after its
// underlying has a price; a funding rate within ±1; every param valid in
// sequence (each applied to the configuration as the replay will). The
// engine assumes a validated log and asserts what this guarantees.
#pragma once

#include <vector>

#include "liqsim/config.hpp"
#include "liqsim/error.hpp"
#include "liqsim/events.hpp"

namespace liqsim {

// On error, Error::seq names the event and Error::field the field.
Status validate_events(const Config& config, const Symbols& symbols, const std::vector<InputEvent>& events);

}  // namespace liqsim
