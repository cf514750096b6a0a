#include "liqsim/config.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace liqsim {

namespace {

Error config_error(const std::string& file, const std::string& key, const std::string& message) {
  Error e = make_error(ErrorKind::config, message, key);
  e.file = file;
  return e;
}

class ObjectReader {
 public:
  ObjectReader(const JsonValue& obj, std::string path, const std::string& file)
      : obj_(obj), path_(std::move(path)), file_(file), used_(obj.members.size(), false) {}

  std::string key(const std::string& name) const { return path_.empty() ? name : path_ + "." + name; }

  const JsonValue* get(const std::string& name) {
    for (std::size_t i = 0; i < obj_.members.size(); ++i)
      if (obj_.members[i].first == name) {
        used_[i] = true;
        return &obj_.members[i].second;
      }
    return nullptr;
  }

  Status no_unknown() const {
    for (std::size_t i = 0; i < used_.size(); ++i)
      if (!used_[i]) return config_error(file_, key(obj_.members[i].first), "unknown key");
    return {};
  }

  template <class T>
  Status number(const std::string& name, bool required, T& out, bool unit_interval = false,
                bool positive = false) {
    const JsonValue* v = get(name);
    if (!v) return required ? Status(config_error(file_, key(name), "missing")) : Status();
    if (!v->is_string() && !v->is_number())
      return config_error(file_, key(name), "expected a decimal string or number");
    const Result<std::int64_t> parsed = parse_decimal_raw(v->text);
    if (!parsed) return config_error(file_, key(name), parsed.error().message + ": '" + v->text + "'");
    const std::int64_t raw = *parsed;
    if (unit_interval && (raw < 0 || raw > kScale))
      return config_error(file_, key(name), "must be within [0, 1], got " + v->text);
    if (positive && raw <= 0) return config_error(file_, key(name), "must be positive, got " + v->text);
    if (!positive && raw < 0) return config_error(file_, key(name), "must not be negative, got " + v->text);
    out = T::from_raw(raw);
    return {};
  }

  Status boolean(const std::string& name, bool& out) {
    const JsonValue* v = get(name);
    if (!v) return {};
    if (v->kind != JsonValue::Kind::boolean) return config_error(file_, key(name), "expected true or false");
    out = v->boolean;
    return {};
  }

 private:
  const JsonValue& obj_;
  std::string path_;
  const std::string& file_;
  std::vector<bool> used_;
};

#define CFG_TRY(expr)             \
  do {                            \
    Status st_ = (expr);          \
    if (!st_) return st_.error(); \
  } while (0)

Status check_name(const std::string& file, const std::string& key, const std::string& name) {
  if (name.empty() || name.size() > 256) return config_error(file, key, "name must be 1 to 256 bytes");
  if (name.find('.') != std::string::npos)
    return config_error(file, key, "name must not contain '.' (param paths use it as a separator)");
  return {};
}

// b × mmr_a − amt_a == b × mmr_b − amt_b, exactly (products have 16 digits).
bool continuous_at(Usd boundary, const Tier& a, const Tier& b) {
  using i128 = __int128;
  i128 lhs =
      i128(boundary.raw()) * a.maintenance_margin_ratio.raw() - i128(a.maintenance_amount.raw()) * kScale;
  i128 rhs =
      i128(boundary.raw()) * b.maintenance_margin_ratio.raw() - i128(b.maintenance_amount.raw()) * kScale;
  return lhs == rhs;
}

// The maintenance_amount that makes tier `t` continuous with the tier `prev`
// before it (Binance's cumulative rule): prev's amount + prev.max_notional ×
// (t.mmr − prev.mmr), exact, so that continuous_at holds. An error when no
// 8-decimal amount is exact, or when it would be negative or out of range.
Result<Usd> continuity_amount(const Tier& prev, const Tier& t) {
  using i128 = __int128;
  const i128 step = i128(prev.max_notional.raw()) *
                    (i128(t.maintenance_margin_ratio.raw()) - prev.maintenance_margin_ratio.raw());
  const std::string how = "computed for continuity as " + prev.maintenance_amount.str() + " + " +
                          prev.max_notional.str() + " × (" + t.maintenance_margin_ratio.str() + " − " +
                          prev.maintenance_margin_ratio.str() + ")";
  if (step % kScale != 0)
    return make_error(ErrorKind::config, how +
                                             ", which has more than 8 decimal places: no amount makes the "
                                             "maintenance requirement continuous at notional " +
                                             prev.max_notional.str());
  const i128 raw = i128(prev.maintenance_amount.raw()) + step / kScale;
  if (raw < 0)
    return make_error(ErrorKind::config,
                      how +
                          ", which is negative (the tier's maintenance_margin_ratio is below the "
                          "previous tier's): must not be negative");
  if (raw > INT64_MAX) return make_error(ErrorKind::config, how + ", which is out of range");
  return Usd::from_raw(static_cast<std::int64_t>(raw));
}

Result<MarketConfig> parse_market(const std::string& name, const JsonValue& v, const std::string& file,
                                  const std::vector<AssetConfig>& assets) {
  std::string path = "markets." + name;
  CFG_TRY(check_name(file, path, name));
  if (!v.is_object()) return config_error(file, path, "expected an object");
  ObjectReader r(v, path, file);
  MarketConfig m;
  m.name = name;
  const JsonValue* u = r.get("underlying");
  if (!u) return config_error(file, r.key("underlying"), "missing");
  if (!u->is_string()) return config_error(file, r.key("underlying"), "expected a string");
  m.underlying = u->text;
  int idx = -1;
  for (std::size_t i = 0; i < assets.size(); ++i)
    if (assets[i].name == m.underlying) idx = static_cast<int>(i);
  if (idx < 0)
    return config_error(file, r.key("underlying"), "asset '" + m.underlying + "' is not defined in assets");
  if (idx == 0) return config_error(file, r.key("underlying"), "a perpetual on USD itself is not a market");
  m.underlying_index = static_cast<std::uint32_t>(idx);

  const JsonValue* tiers = r.get("tiers");
  bool has_tiers = tiers != nullptr;
  CFG_TRY(r.number("initial_margin_ratio", !has_tiers, m.initial_margin_ratio, true));
  CFG_TRY(r.number("maintenance_margin_ratio", !has_tiers, m.maintenance_margin_ratio, true));
  if (m.maintenance_margin_ratio > m.initial_margin_ratio)
    return config_error(file, r.key("maintenance_margin_ratio"), "above initial_margin_ratio");
  CFG_TRY(r.number("liquidation_fee_ratio", false, m.liquidation_fee_ratio, true));
  if (r.get("depth")) {
    CFG_TRY(r.number("depth", true, m.depth, false, true));
    m.has_depth = true;
  }
  CFG_TRY(r.number("impact_permanent_share", false, m.impact_permanent_share, true));
  if (has_tiers) {
    if (tiers->kind != JsonValue::Kind::array || tiers->items.empty())
      return config_error(file, r.key("tiers"), "expected a non-empty array");
    if (tiers->items.size() > limits::kMaxTiers)
      return config_error(file, r.key("tiers"), "more than 64 tiers");
    for (std::size_t i = 0; i < tiers->items.size(); ++i) {
      std::string tpath = r.key("tiers") + "[" + std::to_string(i) + "]";
      const JsonValue& tv = tiers->items[i];
      if (!tv.is_object()) return config_error(file, tpath, "expected an object");
      ObjectReader tr(tv, tpath, file);
      Tier t;
      CFG_TRY(tr.number("max_notional", true, t.max_notional, false, true));
      CFG_TRY(tr.number("initial_margin_ratio", true, t.initial_margin_ratio, true));
      CFG_TRY(tr.number("maintenance_margin_ratio", true, t.maintenance_margin_ratio, true));
      const bool amount_given = tv.find("maintenance_amount") != nullptr;
      CFG_TRY(tr.number("maintenance_amount", false, t.maintenance_amount));
      CFG_TRY(tr.no_unknown());
      if (t.maintenance_margin_ratio > t.initial_margin_ratio)
        return config_error(file, tr.key("maintenance_margin_ratio"),
                            "above the tier's initial_margin_ratio");
      // Continuity starts at notional 0, where the requirement is 0: a first
      // tier with an amount would make small positions' requirement negative.
      if (i == 0 && t.maintenance_amount.is_positive())
        return config_error(
            file, tr.key("maintenance_amount"),
            "must be 0 in the first tier: the maintenance requirement (notional × "
            "maintenance_margin_ratio − maintenance_amount) must be continuous from notional 0, "
            "where it is 0, but this tier gives 0 × " +
                t.maintenance_margin_ratio.str() + " − " + t.maintenance_amount.str());
      if (i > 0) {
        const Tier& prev = m.tiers.back();
        if (t.max_notional <= prev.max_notional)
          return config_error(file, tr.key("max_notional"), "tiers must have increasing max_notional");
        if (!amount_given) {
          auto amount = continuity_amount(prev, t);
          if (!amount) return config_error(file, tr.key("maintenance_amount"), amount.error().message);
          t.maintenance_amount = *amount;
        }
        if (!continuous_at(prev.max_notional, prev, t))
          return config_error(file, tr.key("maintenance_amount"),
                              "maintenance requirement is not continuous at notional " +
                                  prev.max_notional.str() + ": tier " + std::to_string(i - 1) + " gives " +
                                  prev.max_notional.str() + " × " + prev.maintenance_margin_ratio.str() +
                                  " − " + prev.maintenance_amount.str() + ", this tier gives " +
                                  prev.max_notional.str() + " × " + t.maintenance_margin_ratio.str() + " − " +
                                  t.maintenance_amount.str());
      }
      m.tiers.push_back(t);
    }
  }
  CFG_TRY(r.no_unknown());
  return m;
}

// One asset's block (USD included: it may appear, with weight 1).
Result<AssetConfig> parse_asset(const std::string& name, const JsonValue& v, const std::string& file) {
  std::string path = "assets." + name;
  CFG_TRY(check_name(file, path, name));
  if (!v.is_object()) return config_error(file, path, "expected an object");
  ObjectReader r(v, path, file);
  AssetConfig a;
  a.name = name;
  CFG_TRY(r.number("collateral_weight", false, a.collateral_weight, true));
  CFG_TRY(r.no_unknown());
  if (name == "USD" && a.collateral_weight != Ratio::one())
    return config_error(file, path + ".collateral_weight", "USD is the numeraire and always has weight 1");
  return a;
}

// The liquidation block, from the defaults.
Result<LiquidationConfig> parse_liquidation(const JsonValue& liq, const std::string& file) {
  if (!liq.is_object()) return config_error(file, "liquidation", "expected an object");
  ObjectReader r(liq, "liquidation", file);
  LiquidationConfig l;
  CFG_TRY(r.number("insurance_fund", false, l.insurance_fund));
  CFG_TRY(r.boolean("adl", l.adl));
  if (const JsonValue* mode = r.get("mode")) {
    if (mode->is_string() && mode->text == "full")
      l.mode = LiquidationMode::full;
    else if (mode->is_string() && mode->text == "partial")
      l.mode = LiquidationMode::partial;
    else
      return config_error(file, "liquidation.mode", "expected \"full\" or \"partial\"");
  }
  if (const JsonValue* rule = r.get("socialize")) {
    bool found = false;
    for (SocializeRule s : {SocializeRule::none, SocializeRule::profitable, SocializeRule::open_interest})
      if (rule->is_string() && rule->text == socialize_rule_name(s)) {
        l.socialize = s;
        found = true;
      }
    if (!found)
      return config_error(file, "liquidation.socialize",
                          "expected \"none\", \"profitable\" or \"open_interest\"");
  }
  if (r.get("step_ratio")) {
    CFG_TRY(r.number("step_ratio", true, l.step_ratio, true, true));
    if (l.step_ratio.raw() < limits::kMinStepRatioRaw)
      return config_error(
          file, "liquidation.step_ratio",
          "must be at least 0.001 (at most 1000 partial-liquidation steps of a position per event)");
  }
  if (r.get("margin_call_threshold")) {
    CFG_TRY(r.number("margin_call_threshold", true, l.margin_call_threshold, true, true));
  }
  if (const JsonValue* rounds = r.get("max_cascade_rounds")) {
    std::int64_t raw = 0;  // refused below unless a decimal number
    if (rounds->is_number()) {
      if (const Result<std::int64_t> parsed = parse_decimal_raw(rounds->text)) raw = *parsed;
    }
    if (raw % kScale != 0 || raw < kScale || raw > 100000 * kScale)
      return config_error(file, "liquidation.max_cascade_rounds", "expected a whole number from 1 to 100000");
    l.max_cascade_rounds = static_cast<std::uint32_t>(raw / kScale);
  }
  CFG_TRY(r.no_unknown());
  return l;
}

}  // namespace

const char* socialize_rule_name(SocializeRule rule) {
  switch (rule) {
    case SocializeRule::none:
      return "none";
    case SocializeRule::profitable:
      return "profitable";
    case SocializeRule::open_interest:
      return "open_interest";
  }
  return "invalid";
}

int Config::asset_index(std::string_view name) const {
  for (std::size_t i = 0; i < assets.size(); ++i)
    if (assets[i].name == name) return static_cast<int>(i);
  return -1;
}

int Config::market_index(std::string_view name) const {
  for (std::size_t i = 0; i < markets.size(); ++i)
    if (markets[i].name == name) return static_cast<int>(i);
  return -1;
}

Result<Config> parse_config(const JsonValue& doc, const std::string& file) {
  if (!doc.is_object()) return config_error(file, "", "expected a JSON object");
  Config c;
  c.document = doc;
  ObjectReader top(doc, "", file);
  c.assets.push_back(AssetConfig{"USD", Ratio::one()});
  if (const JsonValue* assets = top.get("assets")) {
    if (!assets->is_object()) return config_error(file, "assets", "expected an object");
    if (assets->members.size() > limits::kMaxAssets)
      return config_error(file, "assets", "more than 1024 assets");
    for (const auto& [name, v] : assets->members) {
      auto a = parse_asset(name, v, file);
      if (!a) return a.error();
      if (name == "USD") continue;
      c.assets.push_back(std::move(*a));
    }
  }
  const JsonValue* markets = top.get("markets");
  if (!markets) return config_error(file, "markets", "missing");
  if (!markets->is_object()) return config_error(file, "markets", "expected an object");
  if (markets->members.size() > limits::kMaxMarkets)
    return config_error(file, "markets", "more than 1024 markets");
  for (const auto& [name, v] : markets->members) {
    auto m = parse_market(name, v, file, c.assets);
    if (!m) return m.error();
    c.markets.push_back(std::move(*m));
  }
  if (const JsonValue* liq = top.get("liquidation")) {
    auto l = parse_liquidation(*liq, file);
    if (!l) return l.error();
    c.liquidation = *l;
  }
  CFG_TRY(top.no_unknown());
  return c;
}

namespace {

// A configuration is a small document. The cap is enforced while reading, so
// a device that never ends (--config /dev/zero) is refused, not read until
// memory runs out.
constexpr std::size_t kMaxConfigBytes = std::size_t{16} << 20;

// The whole file, at most kMaxConfigBytes; a directory or an unreadable file
// is an Error naming it with the operating system's reason.
Result<std::string> read_config_text(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return make_os_error(path, "cannot open configuration for reading", errno);
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) return make_os_error(path, "cannot read configuration", errno);
  if (S_ISDIR(st.st_mode))
    return make_file_error(ErrorKind::io, path, "is a directory, not a configuration file");
  std::string text;
  char buf[64 * 1024];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return make_os_error(path, "cannot read configuration", errno);
    if (n == 0) break;
    if (text.size() + static_cast<std::size_t>(n) > kMaxConfigBytes)
      return config_error(path, "", "larger than 16 MiB: not a configuration file");
    text.append(buf, static_cast<std::size_t>(n));
  }
  return text;
}

}  // namespace

Result<Config> load_config(const std::string& path) {
  auto text = read_config_text(path);
  if (!text) return text.error();
  auto doc = parse_json(*text);
  if (!doc) return config_error(path, "", "malformed JSON: " + doc.error().message);
  return parse_config(*doc, path);
}

namespace {

std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  for (;;) {
    std::size_t dot = path.find('.', start);
    parts.push_back(path.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return parts;
}

// The last member named `name` (a parsed document has at most one), or null.
JsonValue* member_of(JsonValue& obj, const std::string& name) {
  JsonValue* found = nullptr;
  for (auto& m : obj.members)
    if (m.first == name) found = &m.second;
  return found;
}

// A section's validation error, as the param's: kind input, no file, the
// value's fault unless the key itself is unknown.
Error param_value_error(Error e, const std::string& path, const std::string& value_json) {
  e.kind = ErrorKind::input;
  e.file.clear();
  // A key the configuration does not have is the path's fault, not the value's.
  const bool unknown_key = e.field == path && e.message.find("unknown key") != std::string::npos;
  e.message = "'" + path + "' = " + value_json +
              " is not a valid configuration value: " + (e.field.empty() ? "" : e.field + ": ") + e.message;
  e.field = unknown_key ? "path" : "value";
  return e;
}

}  // namespace

// The document is changed in place and only the section holding the key is
// validated again: a market's block (against the assets, which a param cannot
// add or remove), one asset's block (and the asset count, for an `assets.USD`
// block created by the param), or the liquidation block. The other sections
// are unchanged and were valid, and no section's validity depends on another's
// values, so this accepts and refuses exactly what parsing the whole changed
// document would, with the same first error (parse_config reads the assets,
// then the markets, then the liquidation block; only the changed section can
// fail). On an error every change is undone.
Result<ParamScope> apply_param_in_place(Config& config, const std::string& path,
                                        const std::string& value_json) {
  auto bad = [&](const std::string& msg) { return make_error(ErrorKind::input, msg, "path"); };
  const std::vector<std::string> parts = split_path(path);
  for (const auto& p : parts)
    if (p.empty()) return bad("'" + path + "' has an empty component");
  std::size_t want = parts[0] == "liquidation" ? 2 : 3;
  if ((parts[0] != "liquidation" && parts[0] != "markets" && parts[0] != "assets") || parts.size() != want)
    return bad(
        "'" + path +
        "' is not a configuration value (expected markets.<M>.<key>, assets.<A>.<key> or liquidation.<key>)");
  ParamScope scope;
  scope.key = parts.back();
  if (parts[0] == "markets") {
    const int m = config.market_index(parts[1]);
    if (m < 0) return bad("market '" + parts[1] + "' is not defined in the configuration");
    scope.section = ParamScope::Section::market;
    scope.index = static_cast<std::uint32_t>(m);
  } else if (parts[0] == "assets") {
    const int a = parts[1] == "USD" ? 0 : config.asset_index(parts[1]);
    if (a < 0) return bad("asset '" + parts[1] + "' is not defined in the configuration");
    scope.section = ParamScope::Section::asset;
    scope.index = static_cast<std::uint32_t>(a);
  }
  if (parts[0] == "markets" && parts[2] == "underlying") return bad("a market's underlying cannot change");
  // With tiers the flat ratios are not used (CONTRACT §3): changing one would
  // silently do nothing.
  if (parts[0] == "markets" &&
      (parts[2] == "initial_margin_ratio" || parts[2] == "maintenance_margin_ratio") &&
      !config.markets[scope.index].tiers.empty())
    return bad("market '" + parts[1] + "' has tiers, which replace its flat ratios: change markets." +
               parts[1] + ".tiers instead");
  auto value = parse_json(value_json);
  if (!value) return make_error(ErrorKind::input, "malformed JSON: " + value.error().message, "value");

  // Walk to the object that holds the key, creating the objects a file may
  // leave out ("liquidation", "assets", "assets.USD") as its last members.
  JsonValue* node = &config.document;
  JsonValue* created_in[2] = {nullptr, nullptr};  // parents an object was appended to, outermost first
  std::size_t created = 0;
  for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
    JsonValue* child = member_of(*node, parts[i]);
    if (!child) {
      JsonValue obj;
      obj.kind = JsonValue::Kind::object;
      node->members.emplace_back(parts[i], std::move(obj));
      created_in[created++] = node;
      child = &node->members.back().second;
    }
    if (!child->is_object()) {
      for (std::size_t k = created; k-- > 0;) created_in[k]->members.pop_back();
      return bad("'" + path + "' does not name a value inside an object");
    }
    node = child;
  }
  JsonValue* slot = member_of(*node, parts.back());
  const bool replaced = slot != nullptr;
  JsonValue previous;
  if (replaced) {
    previous = std::move(*slot);
    *slot = std::move(*value);
  } else {
    node->members.emplace_back(parts.back(), std::move(*value));
  }
  auto refuse = [&](const Error& e) {
    if (replaced)
      *slot = std::move(previous);
    else
      node->members.pop_back();
    for (std::size_t k = created; k-- > 0;) created_in[k]->members.pop_back();
    return param_value_error(e, path, value_json);
  };

  switch (scope.section) {
    case ParamScope::Section::market: {
      auto m = parse_market(parts[1], *node, "param", config.assets);
      if (!m) return refuse(m.error());
      config.markets[scope.index] = std::move(*m);
      break;
    }
    case ParamScope::Section::asset: {
      const JsonValue* assets = member_of(config.document, "assets");
      if (assets->members.size() > limits::kMaxAssets)
        return refuse(config_error("param", "assets", "more than 1024 assets"));
      auto a = parse_asset(parts[1], *node, "param");
      if (!a) return refuse(a.error());
      if (scope.index != 0) config.assets[scope.index].collateral_weight = a->collateral_weight;
      break;
    }
    case ParamScope::Section::liquidation: {
      auto l = parse_liquidation(*node, "param");
      if (!l) return refuse(l.error());
      config.liquidation = *l;
      break;
    }
  }
  return scope;
}

Result<Config> apply_param(const Config& current, const std::string& path, const std::string& value_json) {
  Config next = current;
  auto scope = apply_param_in_place(next, path, value_json);
  if (!scope) return scope.error();
  return next;
}

namespace {

// One component of an override's path: a member name, or a list index.
struct PathStep {
  std::string name;  // a member (when !is_index)
  bool is_index = false;
  std::size_t index = 0;
};

Error override_error(ErrorKind kind, const std::string& text, const std::string& file,
                     const std::string& message) {
  Error e = make_error(kind, "--set " + excerpt(text) + ": " + message);
  if (kind != ErrorKind::usage) e.file = file;  // a malformed override is the command line's fault
  return e;
}

// "markets.ETH-PERP.tiers[0].maintenance_margin_ratio" → markets, ETH-PERP,
// tiers, [0], maintenance_margin_ratio. A component that is a member's whole
// name (a name may hold '[') is that member; the walk decides, so here a
// component is kept whole beside its split form.
struct PathComponent {
  std::string whole;
  std::vector<PathStep> steps;  // the name, then each [index]
};

Result<std::vector<PathComponent>> parse_override_path(const std::string& path) {
  std::vector<PathComponent> out;
  for (const std::string& part : split_path(path)) {
    if (part.empty()) return make_error(ErrorKind::usage, "'" + path + "' has an empty component");
    PathComponent c;
    c.whole = part;
    const std::size_t open = part.find('[');
    if (open == 0) return make_error(ErrorKind::usage, "'" + part + "' has an index but no name before it");
    c.steps.push_back(PathStep{part.substr(0, open)});
    for (std::size_t at = open; at != std::string::npos && at < part.size();) {
      const std::size_t close = part.find(']', at);
      const std::string digits = close == std::string::npos ? "" : part.substr(at + 1, close - at - 1);
      if (part[at] != '[' || digits.empty() || digits.size() > 9 ||
          digits.find_first_not_of("0123456789") != std::string::npos)
        return make_error(ErrorKind::usage,
                          "'" + part + "' is not NAME or NAME[INDEX] (an index is a whole number in [ ])");
      PathStep index;
      index.is_index = true;
      index.index = static_cast<std::size_t>(std::stoul(digits));
      c.steps.push_back(index);
      at = close + 1;
    }
    out.push_back(std::move(c));
  }
  return out;
}

// The section a key path lies in ("markets.M", "assets.A", "liquidation"),
// for telling which override a validation error belongs to.
std::string section_of(const std::string& key_path) {
  const std::vector<std::string> parts = split_path(key_path);
  if (parts.empty()) return {};
  if ((parts[0] == "markets" || parts[0] == "assets") && parts.size() > 1) {
    std::string second = parts[1];
    if (const auto open = second.find('['); open != std::string::npos) second.resize(open);
    return parts[0] + "." + second;
  }
  return parts[0];
}

// VALUE as JSON text; a word that is not JSON (partial, abc) is that string.
Result<JsonValue> override_value(const std::string& text) {
  if (text.empty()) return make_error(ErrorKind::usage, "the value after '=' is empty");
  auto parsed = parse_json(text);
  if (parsed) return std::move(*parsed);
  const char first = text.front();
  if (first == '[' || first == '{' || first == '"')
    return make_error(ErrorKind::config, "malformed JSON value: " + parsed.error().message);
  JsonValue word;
  word.kind = JsonValue::Kind::string;
  word.text = text;
  return word;
}

// Applies one override to `doc`; the key path it set, normalised as
// configuration errors name keys ("markets.M.tiers[0].max_notional").
Result<std::string> apply_override(JsonValue& doc, const std::string& text, const std::string& file) {
  auto fail = [&](const std::string& message) {
    return override_error(ErrorKind::config, text, file, message);
  };
  const std::size_t eq = text.find('=');
  if (eq == std::string::npos)
    return override_error(ErrorKind::usage, text, file, "expected PATH=VALUE (no '=')");
  const std::string path = text.substr(0, eq);
  if (path.empty()) return override_error(ErrorKind::usage, text, file, "the path before '=' is empty");
  auto components = parse_override_path(path);
  if (!components) return override_error(components.error().kind, text, file, components.error().message);
  auto value = override_value(text.substr(eq + 1));
  if (!value) return override_error(value.error().kind, text, file, value.error().message);

  // The steps to walk, each with the key path it reaches.
  struct Step {
    PathStep step;
    std::string key;
  };
  std::vector<Step> steps;
  std::string key;
  // Resolve "whole member name" components first, against the document.
  const JsonValue* probe = &doc;
  for (const PathComponent& c : *components) {
    const JsonValue* whole =
        probe && probe->is_object() && c.steps.size() > 1 ? probe->find(c.whole) : nullptr;
    const std::vector<PathStep> split = whole ? std::vector<PathStep>{PathStep{c.whole}} : c.steps;
    for (const PathStep& s : split) {
      key = s.is_index ? key + "[" + std::to_string(s.index) + "]"
                       : (key.empty() ? s.name : key + "." + s.name);
      steps.push_back(Step{s, key});
      if (!probe) continue;
      if (s.is_index)
        probe = probe->kind == JsonValue::Kind::array && s.index < probe->items.size()
                    ? &probe->items[s.index]
                    : nullptr;
      else
        probe = probe->is_object() ? probe->find(s.name) : nullptr;
    }
  }

  // Mirrors `param` (apply_param_in_place): a market's underlying is not a
  // value to change, nor a flat ratio of a market whose tiers replace them.
  if (steps.size() == 3 && steps[0].step.name == "markets" && !steps[2].step.is_index) {
    const std::string& leaf = steps[2].step.name;
    if (leaf == "underlying") return fail("a market's underlying cannot change");
    const JsonValue* market = doc.find("markets") ? doc.find("markets")->find(steps[1].step.name) : nullptr;
    if ((leaf == "initial_margin_ratio" || leaf == "maintenance_margin_ratio") && market &&
        market->is_object() && market->find("tiers"))
      return fail("market '" + steps[1].step.name +
                  "' has tiers, which replace its flat ratios: set markets." + steps[1].step.name +
                  ".tiers[N]." + leaf + " instead");
  }

  JsonValue* node = &doc;
  for (std::size_t i = 0; i + 1 < steps.size(); ++i) {
    const PathStep& s = steps[i].step;
    const std::string parent = i == 0 ? std::string("the configuration") : "'" + steps[i - 1].key + "'";
    JsonValue* child = nullptr;
    if (s.is_index) {
      if (node->kind != JsonValue::Kind::array) return fail(parent + " is not a list: it has no index");
      if (s.index >= node->items.size())
        return fail("index " + std::to_string(s.index) + " is out of range: " + parent + " has " +
                    std::to_string(node->items.size()) + " items");
      child = &node->items[s.index];
    } else {
      if (!node->is_object()) return fail(parent + " is a list: '" + s.name + "' needs an index, [N]");
      child = member_of(*node, s.name);
      // The sections a file may leave out, as a param creates them.
      const bool may_create = (i == 0 && (s.name == "liquidation" || s.name == "assets")) ||
                              (i == 1 && steps[0].step.name == "assets" && s.name == "USD");
      if (!child && may_create) {
        JsonValue obj;
        obj.kind = JsonValue::Kind::object;
        node->members.emplace_back(s.name, std::move(obj));
        child = &node->members.back().second;
      }
      if (!child) {
        if (i == 1 && (steps[0].step.name == "markets" || steps[0].step.name == "assets"))
          return fail("unknown path component '" + s.name + "': " + parent + " has no " +
                      (steps[0].step.name == "markets" ? "market" : "asset") + " '" + s.name +
                      "' (an override cannot add one)");
        return fail("unknown path component '" + s.name + "': " + parent + " has no key '" + s.name + "'");
      }
    }
    if (!child->is_object() && child->kind != JsonValue::Kind::array)
      return fail("'" + steps[i].key + "' is a value, not a section: the path cannot go on past it");
    node = child;
  }

  const Step& last = steps.back();
  JsonValue* slot = nullptr;
  if (last.step.is_index) {
    if (node->kind != JsonValue::Kind::array)
      return fail("'" + steps[steps.size() - 2].key + "' is not a list: it has no index");
    if (last.step.index >= node->items.size())
      return fail("index " + std::to_string(last.step.index) + " is out of range: '" +
                  steps[steps.size() - 2].key + "' has " + std::to_string(node->items.size()) + " items");
    slot = &node->items[last.step.index];
  } else {
    if (!node->is_object())
      return fail("'" + steps[steps.size() - 2].key + "' is a list: '" + last.step.name +
                  "' needs an index, [N]");
    slot = member_of(*node, last.step.name);
  }
  if (slot && slot->is_object())
    return fail("'" + last.key + "' is a section, not a value: set the values inside it one by one");
  if (slot && slot->kind == JsonValue::Kind::array &&
      (value->kind != JsonValue::Kind::array || value->items.size() != slot->items.size()))
    return fail("'" + last.key + "' is a list of " + std::to_string(slot->items.size()) +
                " items: an override may replace it by a list of as many, not add or remove items");
  if (!slot) {
    if (steps.size() == 2 && (steps[0].step.name == "markets" || steps[0].step.name == "assets"))
      return fail("unknown path component '" + last.step.name + "': there is no " +
                  (steps[0].step.name == "markets" ? "market" : "asset") + " '" + last.step.name +
                  "' (an override cannot add one)");
    if (value->is_object() || value->kind == JsonValue::Kind::array)
      return fail("'" + last.key +
                  "' is not in the configuration: an override may add a value, not a section or a list");
    node->members.emplace_back(last.step.name, std::move(*value));
    return last.key;
  }
  *slot = std::move(*value);
  return last.key;
}

}  // namespace

// A market's tier amounts follow from its ratios and bounds: continuity
// from notional 0 fixes every maintenance_amount (the first tier's is 0), so
// a valid document's amounts are the computed ones. An override of a tier's
// maintenance_margin_ratio or max_notional (or of a whole tier, or the tier
// list) would leave the later amounts stale and the document refused as
// discontinuous: the amounts of that market that no override set are taken
// out, to be computed again by parse_config (continuity_amount), and written
// back into the document by write_back_tier_amounts.
// The (market, tier) amounts taken out, to be written back once computed.
struct RemovedAmount {
  std::string market;
  std::size_t tier = 0;
  std::size_t position = 0;  // the member's place in the tier object
  JsonValue value;           // as the document gave it
};

std::vector<RemovedAmount> recompute_tier_amounts(JsonValue& doc, const std::vector<std::string>& keys) {
  std::vector<RemovedAmount> removed;
  JsonValue* markets = member_of(doc, "markets");
  if (!markets || !markets->is_object()) return removed;
  for (auto& [name, market] : markets->members) {
    if (!market.is_object()) continue;
    JsonValue* tiers = member_of(market, "tiers");
    if (!tiers || tiers->kind != JsonValue::Kind::array) continue;
    const std::string prefix = "markets." + name + ".tiers";
    bool moved = false;
    for (const std::string& k : keys) {
      if (k.rfind(prefix, 0) != 0) continue;
      const std::string rest = k.substr(prefix.size());
      if (rest.empty() || (rest.find(".maintenance_margin_ratio") != std::string::npos) ||
          (rest.find(".max_notional") != std::string::npos) || rest.back() == ']')
        moved = true;
    }
    if (!moved) continue;
    for (std::size_t j = 1; j < tiers->items.size(); ++j) {
      JsonValue& tier = tiers->items[j];
      if (!tier.is_object()) continue;
      // An amount an override gave — itself, with its whole tier, or with
      // the whole list — is kept (and checked).
      const std::string whole = prefix + "[" + std::to_string(j) + "]";
      const std::string own = whole + ".maintenance_amount";
      if (std::find(keys.begin(), keys.end(), own) != keys.end()) continue;
      if (member_of(tier, "maintenance_amount") &&
          (std::find(keys.begin(), keys.end(), whole) != keys.end() ||
           std::find(keys.begin(), keys.end(), prefix) != keys.end()))
        continue;
      // An amount the document gave is replaced by the computed one; one it
      // left out stays out (parse_config computes it).
      auto& members = tier.members;
      for (std::size_t at = 0; at < members.size(); ++at) {
        if (members[at].first != "maintenance_amount") continue;
        removed.push_back(RemovedAmount{name, j, at, std::move(members[at].second)});
        members.erase(members.begin() + static_cast<std::ptrdiff_t>(at));
        break;
      }
    }
  }
  return removed;
}

// The amounts parse_config computed, into the document where they were
// (runs.config_json and a later param see the values in force); an amount
// equal to the one given keeps the text it was given in.
void write_back_tier_amounts(Config& config, std::vector<RemovedAmount>& removed) {
  JsonValue* markets = member_of(config.document, "markets");
  if (!markets) return;
  for (RemovedAmount& r : removed) {
    const std::string& name = r.market;
    const std::size_t j = r.tier;
    const int mi = config.market_index(name);
    JsonValue* market = member_of(*markets, name);
    JsonValue* tiers = market ? member_of(*market, "tiers") : nullptr;
    if (mi < 0 || !tiers || tiers->kind != JsonValue::Kind::array || j >= tiers->items.size()) continue;
    const MarketConfig& m = config.markets[static_cast<std::size_t>(mi)];
    if (j >= m.tiers.size()) continue;
    JsonValue amount;
    amount.kind = JsonValue::Kind::string;
    amount.text = m.tiers[j].maintenance_amount.str();
    if (r.value.is_number() || r.value.is_string())
      if (auto given = parse_decimal_raw(r.value.text);
          given && *given == m.tiers[j].maintenance_amount.raw())
        amount = std::move(r.value);
    auto& members = tiers->items[j].members;
    const std::size_t at = std::min(r.position, members.size());
    members.insert(members.begin() + static_cast<std::ptrdiff_t>(at),
                   {"maintenance_amount", std::move(amount)});
  }
}

Result<Config> apply_overrides(const JsonValue& doc, const std::vector<std::string>& overrides,
                               const std::string& file) {
  JsonValue changed = doc;
  std::vector<std::string> keys;  // the key path each override set
  if (!changed.is_object()) return config_error(file, "", "expected a JSON object");
  for (const std::string& text : overrides) {
    auto key = apply_override(changed, text, file);
    if (!key) return key.error();
    keys.push_back(std::move(*key));
  }
  auto recomputed = recompute_tier_amounts(changed, keys);
  auto config = parse_config(changed, file);
  if (config) {
    write_back_tier_amounts(*config, recomputed);
    return config;
  }
  if (overrides.empty()) return config;
  // A document that was invalid before any override keeps its own error.
  if (auto original = parse_config(doc, file); !original) return original.error();
  // The override to blame: the last that set the key the error names, else
  // the last in the same section, else the last.
  const Error& e = config.error();
  std::size_t blame = overrides.size() - 1;
  bool exact = false;
  for (std::size_t i = overrides.size(); i-- > 0;)
    if (keys[i] == e.field) {
      blame = i;
      exact = true;
      break;
    }
  if (!exact)
    for (std::size_t i = overrides.size(); i-- > 0;)
      if (section_of(keys[i]) == section_of(e.field)) {
        blame = i;
        break;
      }
  return override_error(ErrorKind::config, overrides[blame], file,
                        (e.field.empty() ? "" : e.field + ": ") + e.message);
}

namespace {
const Tier* tier_for(const MarketConfig& m, Usd notional) {
  for (const Tier& t : m.tiers)
    if (t.max_notional >= notional) return &t;
  return &m.tiers.back();
}
}  // namespace

Usd initial_requirement(const MarketConfig& m, Usd notional) {
  Ratio imr = m.tiers.empty() ? m.initial_margin_ratio : tier_for(m, notional)->initial_margin_ratio;
  return mul<Usd>(notional, imr, Round::up);
}

Usd maintenance_requirement(const MarketConfig& m, Usd notional) {
  if (m.tiers.empty()) return mul<Usd>(notional, m.maintenance_margin_ratio, Round::up);
  const Tier* t = tier_for(m, notional);
  Usd req = mul<Usd>(notional, t->maintenance_margin_ratio, Round::up) - t->maintenance_amount;
  return req.is_negative() ? Usd::zero() : req;
}

Ratio max_maintenance_ratio(const MarketConfig& m) {
  Ratio r = m.maintenance_margin_ratio;
  for (const Tier& t : m.tiers) r = max_of(r, t.maintenance_margin_ratio);
  return r;
}

}  // namespace liqsim
