// config_canonical.cpp — the canonical text of a parsed configuration.
//
// Format (version 1), one record a line, fields separated by one space:
//
//   liqsim-config-v1
//   asset <name> collateral_weight=<d>                       (one per asset, USD first)
//   market <name> underlying=<name> initial_margin_ratio=<d> maintenance_margin_ratio=<d>
//          liquidation_fee_ratio=<d> depth=<d>|none impact_permanent_share=<d> tiers=<n>
//   tier <i> max_notional=<d> initial_margin_ratio=<d> maintenance_margin_ratio=<d> maintenance_amount=<d>
//                                                            (its n tiers follow each market line)
//   liquidation insurance_fund=<d> adl=true|false mode=full|partial step_ratio=<d>
//               margin_call_threshold=<d> max_cascade_rounds=<integer>
//
// (a market and a liquidation record are each one line). <d> is the canonical
// decimal of the raw fixed-point value (format_decimal_raw: no exponent, no
// trailing zeros, never "-0"), so it is a function of the value only. <name>
// is quoted: '"' and '\' are escaped with '\', and every byte below 0x20 and
// 0x7f as \xHH, so a quoted name ends at its first unescaped '"' and holds no
// line break: a name (parse_config allows any 1 to 256 bytes without '.')
// cannot forge a field or a record. underlying_index is not written: it is
// implied by the underlying's name (asset names are unique). Every value is
// written whether or not it is the default, so defaults need no special case.
// A tiered market's flat ratios are written too: they are parsed, validated
// and read (max_maintenance_ratio takes the flat ratio into its maximum).
#include <string>

#include "liqsim/config.hpp"

namespace liqsim {

namespace {

void put_name(std::string& out, const std::string& name) {
  static const char kHex[] = "0123456789abcdef";
  out.push_back('"');
  for (const char ch : name) {
    const auto b = static_cast<unsigned char>(ch);
    if (ch == '"' || ch == '\\') {
      out.push_back('\\');
      out.push_back(ch);
    } else if (b < 0x20 || b == 0x7f) {
      out += "\\x";
      out.push_back(kHex[b >> 4]);
      out.push_back(kHex[b & 0xf]);
    } else {
      out.push_back(ch);
    }
  }
  out.push_back('"');
}

template <class T>
void put_field(std::string& out, const char* key, const T& value) {
  out.push_back(' ');
  out += key;
  out.push_back('=');
  out += value.str();
}

void put_text(std::string& out, const char* key, const std::string& value) {
  out.push_back(' ');
  out += key;
  out.push_back('=');
  out += value;
}

const char* mode_name(LiquidationMode mode) {
  switch (mode) {
    case LiquidationMode::full:
      return "full";
    case LiquidationMode::partial:
      return "partial";
  }
  return "invalid";  // not a value parse_config produces
}

}  // namespace

std::string canonical_config(const Config& config) {
  std::string out = "liqsim-config-v1\n";
  for (const AssetConfig& a : config.assets) {
    out += "asset ";
    put_name(out, a.name);
    put_field(out, "collateral_weight", a.collateral_weight);
    out.push_back('\n');
  }
  for (const MarketConfig& m : config.markets) {
    out += "market ";
    put_name(out, m.name);
    out += " underlying=";
    put_name(out, m.underlying);
    put_field(out, "initial_margin_ratio", m.initial_margin_ratio);
    put_field(out, "maintenance_margin_ratio", m.maintenance_margin_ratio);
    put_field(out, "liquidation_fee_ratio", m.liquidation_fee_ratio);
    put_text(out, "depth", m.has_depth ? m.depth.str() : std::string("none"));
    put_field(out, "impact_permanent_share", m.impact_permanent_share);
    put_text(out, "tiers", std::to_string(m.tiers.size()));
    out.push_back('\n');
    for (std::size_t i = 0; i < m.tiers.size(); ++i) {
      const Tier& t = m.tiers[i];
      out += "tier " + std::to_string(i);
      put_field(out, "max_notional", t.max_notional);
      put_field(out, "initial_margin_ratio", t.initial_margin_ratio);
      put_field(out, "maintenance_margin_ratio", t.maintenance_margin_ratio);
      put_field(out, "maintenance_amount", t.maintenance_amount);
      out.push_back('\n');
    }
  }
  const LiquidationConfig& l = config.liquidation;
  out += "liquidation";
  put_field(out, "insurance_fund", l.insurance_fund);
  put_text(out, "adl", l.adl ? "true" : "false");
  put_text(out, "mode", mode_name(l.mode));
  put_field(out, "step_ratio", l.step_ratio);
  put_field(out, "margin_call_threshold", l.margin_call_threshold);
  put_text(out, "max_cascade_rounds", std::to_string(l.max_cascade_rounds));
  // Written only when set: the default's text (and every state hash) is unchanged.
  if (l.socialize != SocializeRule::none) put_text(out, "socialize", socialize_rule_name(l.socialize));
  out.push_back('\n');
  return out;
}

}  // namespace liqsim
