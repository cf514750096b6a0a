// Fuzz target: the configuration loader (parse_json + parse_config) and a
// governance `param` applied to it (apply_param).
//
// Input: CONFIG [\0 PATH \n VALUE]. When CONFIG is not a valid configuration
// the param is applied to a fixed valid one instead, so apply_param is always
// exercised. Properties: a parsed document's dump() parses again to the same
// dump(); a valid config's document re-parses to a valid config; a param that
// applies gives a config whose document re-parses to a valid config.
#include <string>
#include <string_view>

#include "fuzz_common.hpp"
#include "liqsim/config.hpp"
#include "liqsim/json.hpp"

using namespace liqsim;

namespace {

const char* const kBase = R"({
  "assets": { "BTC": { "collateral_weight": "0.95" }, "USDC": { "collateral_weight": "1" } },
  "markets": { "BTC-PERP": { "underlying": "BTC", "initial_margin_ratio": "0.02", "maintenance_margin_ratio": "0.01",
    "tiers": [ { "max_notional": "50000", "initial_margin_ratio": "0.008", "maintenance_margin_ratio": "0.004", "maintenance_amount": "0" },
               { "max_notional": "500000", "initial_margin_ratio": "0.01", "maintenance_margin_ratio": "0.005", "maintenance_amount": "50" } ],
    "liquidation_fee_ratio": "0.005", "depth": "10000000" } },
  "liquidation": { "insurance_fund": "1000000", "adl": true } })";

const Config& base_config() {
  static const Config c = [] {
    auto doc = parse_json(kBase);
    if (!doc) fuzz::property_failed("base config JSON", doc.error().describe());
    auto cfg = parse_config(*doc, "base.json");
    if (!cfg) fuzz::property_failed("base config", cfg.error().describe());
    return *cfg;
  }();
  return c;
}

void check_reparses(const Config& c, const char* what) {
  const std::string text = c.document.dump();
  auto again = parse_json(text);
  fuzz::property(again.ok(), what, text);
  auto cfg = parse_config(*again, "again.json");
  fuzz::property(cfg.ok(), what, text + "\n" + (cfg.ok() ? "" : cfg.error().describe()));
  fuzz::property(cfg->document.dump() == text, what, text);
  // The state hash's canonical text is a function of the meaning: the
  // reparsed document means what the configuration means.
  fuzz::property(canonical_config(*cfg) == canonical_config(c), what, text);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  std::size_t zero = input.find('\0');
  std::string_view config_text = input.substr(0, zero);
  std::string_view param = zero == std::string_view::npos ? std::string_view{} : input.substr(zero + 1);

  const Config* config = &base_config();
  Result<Config> parsed = make_error(ErrorKind::config, "not parsed");
  auto doc = parse_json(config_text);
  if (doc) {
    const std::string text = doc->dump();
    auto again = parse_json(text);
    fuzz::property(again.ok() && again->dump() == text, "JsonValue::dump does not re-parse to itself", text);
    parsed = parse_config(*doc, "fuzz.json");
    if (parsed) {
      check_reparses(*parsed, "a valid config's document is not a valid config");
      config = &*parsed;
    } else {
      fuzz::property(parsed.error().kind == ErrorKind::config, "a config error of another kind",
                     parsed.error().describe());
    }
  }
  if (zero == std::string_view::npos) return 0;
  std::size_t nl = param.find('\n');
  std::string path(param.substr(0, nl));
  std::string value(nl == std::string_view::npos ? std::string_view{} : param.substr(nl + 1));
  auto next = apply_param(*config, path, value);
  if (next)
    check_reparses(*next, "a config after a valid param is not a valid config");
  else
    (void)next.error().describe();
  return 0;
}
