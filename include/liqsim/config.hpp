// config.hpp — the configuration of CONTRACT §3, validated.
//
// Owns parsing and validation of config.json into typed values, and the
// application of a `param` event (a dotted path and a JSON value) to a
// configuration document. Guarantees: a Config that exists is valid — every
// ratio and weight in [0, 1], maintenance ≤ initial, tiers increasing and
// continuous at each boundary, no unknown key — and an invalid one is an
// Error naming the key path ("markets.BTC-PERP.tiers[1].max_notional").
// A tier's maintenance_amount that is absent is computed for continuity
// (Binance's cumulative rule): 0 in the first tier, and in tier i
// amount(i−1) + max_notional(i−1) × (mmr(i) − mmr(i−1)), exact (CONTRACT §3).
// USD is always asset 0 with weight 1. Assets and markets keep the order of
// the source file; nothing else depends on that order.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "liqsim/error.hpp"
#include "liqsim/fixed.hpp"
#include "liqsim/json.hpp"

namespace liqsim {

struct Tier {
  Usd max_notional;
  Ratio initial_margin_ratio;      // imr
  Ratio maintenance_margin_ratio;  // mmr
  Usd maintenance_amount;
};

struct AssetConfig {
  std::string name;
  Ratio collateral_weight = Ratio::one();
};

struct MarketConfig {
  std::string name;
  std::string underlying;
  std::uint32_t underlying_index = 0;  // index into Config::assets
  Ratio initial_margin_ratio;
  Ratio maintenance_margin_ratio;
  std::vector<Tier> tiers;  // empty: the flat ratios apply
  Ratio liquidation_fee_ratio;
  bool has_depth = false;
  Usd depth;  // USD notional that moves the price by 1 %
  // Extension: share of a liquidation's impact that stays in the mark for the
  // later checks of the same timestamp (the rest is temporary). Default 0.5.
  Ratio impact_permanent_share = Ratio::parse_or_throw("0.5");
};

enum class LiquidationMode : std::uint8_t { full, partial };
// Who bears a socialized loss (liquidation.socialize): nobody (recorded
// only), the profitable positions opposite the bankrupt leg pro rata to their
// profit (a clawback), or every open position of the leg's market pro rata
// to its notional.
enum class SocializeRule : std::uint8_t { none, profitable, open_interest };
const char* socialize_rule_name(SocializeRule rule);

struct LiquidationConfig {
  Usd insurance_fund;
  bool adl = true;
  LiquidationMode mode = LiquidationMode::full;
  Ratio step_ratio = Ratio::parse_or_throw("0.25");            // partial mode: share of the position per step
  Ratio margin_call_threshold = Ratio::parse_or_throw("0.8");  // margin ratio that raises a call
  std::uint32_t max_cascade_rounds = 1000;                     // liquidation rounds inside one event
  SocializeRule socialize = SocializeRule::none;
};

struct Config {
  std::vector<AssetConfig> assets;  // [0] is USD
  std::vector<MarketConfig> markets;
  LiquidationConfig liquidation;
  JsonValue document;  // the source, as parsed (params are applied to it)

  int asset_index(std::string_view name) const;   // -1 if absent
  int market_index(std::string_view name) const;  // -1 if absent
};

namespace limits {
inline constexpr std::size_t kMaxAssets = 1024;
inline constexpr std::size_t kMaxMarkets = 1024;
inline constexpr std::size_t kMaxTiers = 64;
// Partial liquidation closes at most 1000 steps of one position per event:
// a smaller step_ratio is a configuration error.
inline constexpr std::int64_t kMinStepRatioRaw = 100'000;  // 0.001
}  // namespace limits

// Parse and validate. `file` names the source in errors.
Result<Config> parse_config(const JsonValue& doc, const std::string& file);
Result<Config> load_config(const std::string& path);

// What a param changed: the section of the configuration its key lives in.
struct ParamScope {
  enum class Section : std::uint8_t { market, asset, liquidation };
  Section section = Section::liquidation;
  std::uint32_t index = 0;  // the market (Section::market) or asset (Section::asset; USD is 0)
  std::string key;          // the path's last component: "tiers", "collateral_weight", "insurance_fund"
};

// Sets `path` to `value_json` in `config` (its document and typed values), or
// returns an Error naming the path or value and leaves `config` unchanged.
// Paths: markets.<M>.<key>, assets.<A>.collateral_weight, liquidation.<key>.
// A param may change values, not add or remove assets or markets. The result
// and every error are those of parsing the whole changed document, but the
// document is changed in place (an error undoes the change) and only the
// changed section (one market, one asset, the liquidation block) is validated
// again: the cost is that section's, not the whole configuration's.
Result<ParamScope> apply_param_in_place(Config& config, const std::string& path,
                                        const std::string& value_json);

// The same on a copy: a new valid Config, or the Error. Copies the whole
// configuration; the engine uses apply_param_in_place.
Result<Config> apply_param(const Config& current, const std::string& path, const std::string& value_json);

// Overrides of a configuration document, applied before it is parsed
// (`liqsim replay --set PATH=VALUE`, and the grid of a sweep). Each override
// is the text "PATH=VALUE", split at its first '='.
//   PATH: a `param` path (markets.<M>.<key>, assets.<A>.collateral_weight,
//   liquidation.<key>), and inside a market any list item by index:
//   markets.<M>.tiers[<i>].<key>. A component that is a member's whole name
//   is that member (a name may hold '[').
//   VALUE: JSON text (0.01, "0.01", true, [...]); numbers keep their text, so
//   a decimal is exact. A word that is not JSON (partial, abc) is that string.
// Overrides apply in order to a copy of `doc`; then the whole changed
// document is parsed by parse_config, so a value is accepted or refused
// exactly as in a configuration file, and Config::document is the changed
// document. Like a param, an override changes values: it may not name an
// unknown market, asset or key inside the walk ("unknown path component"), an
// index out of range, an object (a section) where a value is wanted, add a
// market, asset, list or section, change a list's length (tiers), change a
// market's underlying, or change a flat ratio of a market that has tiers.
// Every error names the override as "--set PATH=VALUE: ..." and has `file`
// as its file; a malformed override (no '=', empty path or value, a bad
// index) is kind usage, the rest kind config. A validation error is the
// parse_config error (key and message) of the changed document, blamed on
// the last override that set the key it names, else the last one in the
// same section (market, asset, liquidation block), else the last one; a
// document invalid before any override gives its own error unchanged. An
// empty list of overrides is parse_config(doc, file).
Result<Config> apply_overrides(const JsonValue& doc, const std::vector<std::string>& overrides,
                               const std::string& file);

// Requirements for one position of the given notional (already rounded up).
// Both round up (CONTRACT §1); maintenance is floored at zero.
Usd initial_requirement(const MarketConfig& m, Usd notional);
Usd maintenance_requirement(const MarketConfig& m, Usd notional);
// The largest maintenance ratio of the market (flat or any tier); bounds the
// slope of the maintenance requirement in notional.
Ratio max_maintenance_ratio(const MarketConfig& m);

// The canonical text of a configuration: what it means, not how it is spelled.
// Built only from the typed values (never from `document`), so two sources
// that parse to the same Config — numbers spelled "15.0000" or 15 or "1.5e1",
// a default written out or left out, object keys in another order, an
// explicit `assets.USD` block or none — give the same text, and a Config a
// param changed gives the text of the source file with that value written in.
// Every typed value is in it (each asset's weight; each market's underlying,
// flat ratios, fee, depth or its absence, impact share and every tier field;
// the whole liquidation block), so configurations that differ in any value
// give different texts. Assets and markets are in configuration order, which
// is meaning (indices, tie-breaks). Numbers are the canonical decimal of the
// fixed-point raw value; names are quoted with `"`, `\` and control bytes
// escaped, so no name can forge a field or a line. The first line names the
// format version ("liqsim-config-v1"); every line ends with '\n'.
std::string canonical_config(const Config& config);

}  // namespace liqsim
