// metrics.hpp — cascade, liquidation-efficiency and capital-efficiency metrics.
//
// Owns the statistics computed while a replay runs, by observing each input
// event with the derived events it caused and read-only engine views. It
// never changes engine state. Statistics may use double (built with
// -ffp-contract=off); they are printed with fixed precision so output is
// identical on every machine.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "liqsim/config.hpp"
#include "liqsim/engine.hpp"
#include "liqsim/events.hpp"

namespace liqsim {

// Effective leverage of an account: gross notional of all its positions ÷
// max(cross equity + isolated equity, 0.01 USD) (docs/RESULTS.md).
double effective_leverage(const Engine::AccountView& a);

// One input event that caused at least one liquidation in one market
// (a "cascade event"; an event that liquidates in two markets gives two).
// Prices: the mark before the event, the oracle price after the event's own
// move (the event's price for a `price` event of the underlying, else the mark
// before), and the most extreme mark reached while its liquidation fills ran
// (the marks before each fill and the mark at the end of the event).
// See docs/RESULTS.md for the exact definitions.
struct CascadeRecord {
  std::int64_t seq = 0;
  std::int64_t ts_ms = 0;
  std::string market;
  std::uint32_t rounds = 0;              // highest liquidation round of the event
  std::int64_t liquidations = 0;         // liquidation fills in this market during the event
  std::int64_t impact_liquidations = 0;  // of which in round >= 2
  UsdSum notional;                       // Σ qty × fill price (128 bits: many fills can pass int64)
  Price mark_before;
  Price oracle_after;
  Price mark_extreme;
  bool amplification_defined = false;  // false when the outside move is zero
  double amplification = 0.0;          // |extreme − before| ÷ |oracle − before|
};

// The liquidation episode of one unit (cross account, or isolated position):
// from its first margin call (or first liquidation when no call came first) to
// the event where its liquidation sequence ended.
struct LiquidationEpisode {
  std::string account;
  std::string market;  // empty for the cross unit
  std::int64_t start_ms = 0;
  std::int64_t end_ms = 0;
  bool bankrupt = false;
};

class MetricsCollector {
 public:
  MetricsCollector(const Config& config, const Symbols& symbols);
  ~MetricsCollector();
  // A fork, with everything observed so far (replay.hpp).
  MetricsCollector(const MetricsCollector& other);
  MetricsCollector& operator=(const MetricsCollector&) = delete;
  // Called once per input event, after Engine::apply, with the derived events it caused.
  void observe(const InputEvent& event, std::int64_t seq, const std::vector<DerivedEvent>& derived,
               const Engine& engine);
  // Extra summary fields, as (key, JSON value text) in a fixed order, appended
  // after the CONTRACT §5 fields of the --json summary.
  std::vector<std::pair<std::string, std::string>> summary_fields(const Engine& engine) const;

  // Per-event cascade records, in event order.
  const std::vector<CascadeRecord>& cascades() const;
  // Episodes, closed ones in the order they ended; open ones are closed at
  // their last liquidation by summary_fields and episodes().
  std::vector<LiquidationEpisode> episodes() const;

  struct Impl;
  const Impl& impl() const { return *impl_; }

 private:
  Impl* impl_;
};

}  // namespace liqsim
