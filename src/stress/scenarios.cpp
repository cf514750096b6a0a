// scenarios.cpp — the scenario file and each path's events (stress_run.hpp).
#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <map>
#include <sstream>

#include "liqsim/input_file.hpp"
#include "liqsim/json.hpp"
#include "liqsim/log.hpp"
#include "liqsim/stress_run.hpp"

namespace liqsim {

namespace {

using i128 = __int128;

constexpr std::int64_t kMaxSteps = 100'000;
constexpr std::int64_t kMaxPaths = 10'000'000;
constexpr std::int64_t kMaxInterval = 366LL * 86'400'000;  // a year
constexpr double kMsPerYear = 365.0 * 86'400'000.0;

class Reader {
 public:
  Reader(const JsonValue& obj, std::string where, const std::string& file)
      : obj_(obj), where_(std::move(where)), file_(file), used_(obj.members.size(), false) {}

  Error error(const std::string& field, const std::string& message) const {
    Error e = make_error(ErrorKind::config, message, field.empty() ? where_ : where_ + "." + field);
    e.file = file_;
    return e;
  }
  const JsonValue* get(const std::string& key) {
    for (std::size_t i = 0; i < obj_.members.size(); ++i)
      if (obj_.members[i].first == key) {
        used_[i] = true;
        return &obj_.members[i].second;
      }
    return nullptr;
  }
  Status unknown_keys() const {
    for (std::size_t i = 0; i < obj_.members.size(); ++i)
      if (!used_[i]) return error(obj_.members[i].first, "unknown field for this kind");
    return {};
  }
  // A decimal (a JSON number or a string holding one).
  Result<std::int64_t> decimal(const std::string& key, const JsonValue& v) const {
    if (!v.is_number() && !v.is_string()) return error(key, "must be a decimal number");
    auto raw = parse_decimal_raw(v.text);
    if (!raw) return error(key, raw.error().message + " ('" + excerpt(v.text) + "')");
    return *raw;
  }
  Result<std::int64_t> integer(const std::string& key, std::int64_t lo, std::int64_t hi,
                               std::optional<std::int64_t> fallback) {
    const JsonValue* v = get(key);
    if (!v) {
      if (fallback) return *fallback;
      return error(key, "missing");
    }
    std::int64_t out = 0;
    const std::string& t = v->text;
    auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), out);
    if ((!v->is_number() && !v->is_string()) || ec != std::errc() || end != t.data() + t.size() || t.empty())
      return error(
          key, "must be an integer, not '" + excerpt(v->is_number() || v->is_string() ? t : v->dump()) + "'");
    if (out < lo || out > hi)
      return error(key,
                   "must be between " + std::to_string(lo) + " and " + std::to_string(hi) + ", not " + t);
    return out;
  }
  const std::string& where() const { return where_; }

 private:
  const JsonValue& obj_;
  std::string where_;
  const std::string& file_;
  std::vector<bool> used_;
};

std::string folder_of(const std::string& path) {
  const auto slash = path.rfind('/');
  return slash == std::string::npos ? std::string() : path.substr(0, slash + 1);
}

// An asset of the configuration with a price in the start state.
Result<Sym> start_asset(Reader& r, const std::string& field, const std::string& name, const Config& config,
                        const StressStart& start, Symbols& symbols) {
  if (config.asset_index(name) < 0)
    return r.error(field, "asset '" + excerpt(name) + "' is not in the configuration");
  if (name == "USD") return r.error(field, "USD is the numeraire: its price is always 1");
  const Sym s = symbols.intern(name);
  if (!start.price_of(s))
    return r.error(field, "asset '" + excerpt(name) + "' has no price in the start state");
  return s;
}

Status read_moves(Reader& r, Scenario& sc, const Config& config, const StressStart& start, Symbols& symbols,
                  bool required) {
  const JsonValue* moves = r.get("moves");
  if (!moves) return required ? Status(r.error("moves", "missing")) : Status();
  if (!moves->is_object() || moves->members.empty())
    return r.error("moves", "must be an object of asset: move, e.g. {\"ETH\": \"-0.30\"}");
  for (const auto& [name, v] : moves->members) {
    auto sym = start_asset(r, "moves." + name, name, config, start, symbols);
    if (!sym) return sym.error();
    auto raw = r.decimal("moves." + name, v);
    if (!raw) return raw.error();
    if (*raw <= -kScale) return r.error("moves." + name, "a move must be above -1 (a price stays positive)");
    sc.moves.emplace_back(*sym, Ratio::from_raw(*raw));
  }
  auto steps = r.integer("steps", 1, kMaxSteps, 10);
  if (!steps) return steps.error();
  sc.steps = *steps;
  auto interval = r.integer("interval_ms", 0, kMaxInterval, 60'000);
  if (!interval) return interval.error();
  sc.interval_ms = *interval;
  return {};
}

// historical, fhs: the price log's series of the chosen assets, and the windows.
Status read_history(Reader& r, Scenario& sc, const Config& config, const StressStart& start, Symbols& symbols,
                    const std::string& scenario_file) {
  const JsonValue* prices = r.get("prices");
  if (!prices) return r.error("prices", "missing (a price log, JSON Lines or binary)");
  if (!prices->is_string() || prices->text.empty()) return r.error("prices", "must be a file name");
  std::string path = prices->text;
  if (path.front() != '/') path = folder_of(scenario_file) + path;
  std::vector<std::string> wanted;
  if (const JsonValue* assets = r.get("assets")) {
    if (assets->kind != JsonValue::Kind::array || assets->items.empty())
      return r.error("assets", "must be a list of asset names");
    for (const JsonValue& a : assets->items) {
      if (!a.is_string()) return r.error("assets", "must be a list of asset names");
      wanted.push_back(a.text);
    }
  }
  auto window = r.integer("window_ms", 1, 10LL * kMaxInterval, std::nullopt);
  if (!window) return window.error();
  sc.window_ms = *window;
  auto step = r.integer("step_ms", 1, 10LL * kMaxInterval, sc.window_ms);
  if (!step) return step.error();
  sc.step_ms = *step;

  if (Status st = require_regular_input(path, "price log"); !st) {
    Error e = st.error();
    e.field = r.where() + ".prices";
    return e;
  }
  auto reader = EventFileReader::open(path, symbols);
  if (!reader) return reader.error();
  std::map<std::string, std::size_t> index;  // asset name → series (name order is never output order)
  std::vector<std::string> names;
  InputEvent ev;
  for (;;) {
    auto more = reader->next(ev);
    if (!more) return more.error();
    if (!*more) break;
    const auto* p = std::get_if<PriceEvent>(&ev.body);
    if (!p) continue;
    const std::string& name = symbols.name(p->asset);
    if (!wanted.empty() && std::find(wanted.begin(), wanted.end(), name) == wanted.end()) continue;
    auto it = index.find(name);
    if (it == index.end()) {
      auto sym = start_asset(r, "prices", name, config, start, symbols);
      if (!sym) {
        Error e = sym.error();
        e.message = path + " prices " + e.message +
                    (wanted.empty() ? " (name the assets to use with \"assets\")" : "");
        return e;
      }
      it = index.emplace(name, sc.series.size()).first;
      sc.series.push_back(PriceSeries{*sym, {}, {}});
      names.push_back(name);
    }
    PriceSeries& s = sc.series[it->second];
    if (!s.ts.empty() && s.ts.back() == ev.ts_ms) {
      s.price.back() = p->price;  // the last tick of a timestamp is its price
    } else {
      s.ts.push_back(ev.ts_ms);
      s.price.push_back(p->price);
    }
  }
  for (const std::string& w : wanted)
    if (index.find(w) == index.end())
      return r.error("assets", "'" + excerpt(w) + "' has no price in " + path);
  if (sc.series.empty()) return r.error("prices", path + " has no price event");
  // Windows start where every asset has a price, on the step_ms grid.
  std::int64_t first = 0, last = 0;
  for (const PriceSeries& s : sc.series) {
    first = std::max(first, s.ts.front());
    last = std::max(last, s.ts.back());
  }
  for (std::int64_t t0 = first; t0 <= last - sc.window_ms; t0 += sc.step_ms) {
    sc.window_starts.push_back(t0);
    if (static_cast<std::int64_t>(sc.window_starts.size()) > kMaxPaths)
      return r.error("step_ms", "gives more than " + std::to_string(kMaxPaths) + " windows");
  }
  if (sc.window_starts.empty())
    return r.error("window_ms", "no window of " + std::to_string(sc.window_ms) + " ms fits in " + path +
                                    " (its prices span " + std::to_string(last - first) + " ms)");
  sc.paths = static_cast<std::int64_t>(sc.window_starts.size());
  return {};
}

Result<Scenario> read_scenario(const JsonValue& obj, std::size_t i, const std::string& file,
                               const Config& config, const StressStart& start, Symbols& symbols) {
  const std::string where = "scenarios[" + std::to_string(i) + "]";
  if (!obj.is_object()) {
    Error e = make_error(ErrorKind::config, "must be an object with a \"kind\"", where);
    e.file = file;
    return e;
  }
  Reader r(obj, where, file);
  Scenario sc;
  sc.spec_json = obj.dump();
  const JsonValue* kind = r.get("kind");
  if (!kind) return r.error("kind", "missing (shock, historical, fhs, gbm, depeg or freeze)");
  static const std::pair<const char*, ScenarioKind> kKinds[] = {
      {"shock", ScenarioKind::shock}, {"historical", ScenarioKind::historical},
      {"fhs", ScenarioKind::fhs},     {"gbm", ScenarioKind::gbm},
      {"depeg", ScenarioKind::depeg}, {"freeze", ScenarioKind::freeze}};
  bool known = false;
  for (const auto& [name, k] : kKinds)
    if (kind->is_string() && kind->text == name) {
      sc.kind = k;
      known = true;
    }
  if (!known)
    return r.error("kind", "unknown kind '" + excerpt(kind->is_string() ? kind->text : kind->dump()) +
                               "' (shock, historical, fhs, gbm, depeg or freeze)");
  if (const JsonValue* name = r.get("name")) {
    if (!name->is_string() || name->text.empty() || name->text.size() > 200)
      return r.error("name", "must be a non-empty string of at most 200 bytes");
    sc.name = name->text;
  } else {
    sc.name = std::string(scenario_kind_name(sc.kind)) + "-" + std::to_string(i);
  }
  switch (sc.kind) {
    case ScenarioKind::shock:
      if (Status st = read_moves(r, sc, config, start, symbols, true); !st) return st.error();
      break;
    case ScenarioKind::historical:
    case ScenarioKind::fhs: {
      if (sc.kind == ScenarioKind::fhs) {
        if (const JsonValue* lam = r.get("lambda")) {
          auto raw = r.decimal("lambda", *lam);
          if (!raw) return raw.error();
          if (*raw <= 0 || *raw >= kScale) return r.error("lambda", "must lie strictly between 0 and 1");
          sc.lambda = Ratio::from_raw(*raw);
        }
      }
      if (Status st = read_history(r, sc, config, start, symbols, file); !st) return st.error();
      if (sc.kind == ScenarioKind::fhs) {
        for (const PriceSeries& s : sc.series) {
          auto losses = simple_losses(s.price, PositionSide::long_side);
          if (!losses) return r.error("prices", losses.error().message);
          auto scaled = fhs_losses(*losses, sc.lambda);
          if (!scaled) return r.error("prices", scaled.error().message);
          std::vector<Ratio> returns;
          returns.reserve(scaled->size());
          for (Ratio l : *scaled) returns.push_back(Ratio::from_raw(-l.raw()));
          sc.scaled_returns.push_back(std::move(returns));
        }
      }
      break;
    }
    case ScenarioKind::gbm: {
      auto paths = r.integer("paths", 1, kMaxPaths, std::nullopt);
      if (!paths) return paths.error();
      sc.paths = *paths;
      auto seed = r.integer("seed", 0, INT64_MAX, std::nullopt);
      if (!seed) return seed.error();
      sc.seed = static_cast<std::uint64_t>(*seed);
      auto steps = r.integer("steps", 1, kMaxSteps, 60);
      if (!steps) return steps.error();
      sc.steps = *steps;
      auto interval = r.integer("interval_ms", 1, kMaxInterval, 60'000);
      if (!interval) return interval.error();
      sc.interval_ms = *interval;
      const JsonValue* vol = r.get("vol");
      if (!vol) return r.error("vol", "missing (per asset, the annualised volatility: {\"ETH\": \"0.8\"})");
      if (!vol->is_object() || vol->members.empty())
        return r.error("vol", "must be an object of asset: annualised volatility");
      for (const auto& [name, v] : vol->members) {
        auto sym = start_asset(r, "vol." + name, name, config, start, symbols);
        if (!sym) return sym.error();
        auto raw = r.decimal("vol." + name, v);
        if (!raw) return raw.error();
        if (*raw < 0 || *raw > 100 * kScale)
          return r.error("vol." + name, "must be between 0 and 100 (10,000 %)");
        sc.vols.emplace_back(*sym, static_cast<double>(*raw) / static_cast<double>(kScale));
      }
      if (const JsonValue* corr = r.get("correlation")) {
        const std::size_t n = sc.vols.size();
        auto shape = [&] {
          return r.error("correlation", "must be a " + std::to_string(n) + " x " + std::to_string(n) +
                                            " matrix (a list of rows) in the order of \"vol\"'s assets");
        };
        if (corr->kind != JsonValue::Kind::array || corr->items.size() != n) return shape();
        std::vector<double> c;
        for (std::size_t a = 0; a < n; ++a) {
          const JsonValue& row = corr->items[a];
          if (row.kind != JsonValue::Kind::array || row.items.size() != n) return shape();
          for (std::size_t b = 0; b < n; ++b) {
            auto raw =
                r.decimal("correlation[" + std::to_string(a) + "][" + std::to_string(b) + "]", row.items[b]);
            if (!raw) return raw.error();
            c.push_back(static_cast<double>(*raw) / static_cast<double>(kScale));
          }
        }
        auto l = cholesky(c, n);
        if (!l) return r.error("correlation", "is not a correlation matrix: " + l.error().message);
        sc.chol = std::move(*l);
      }
      break;
    }
    case ScenarioKind::depeg: {
      const JsonValue* asset = r.get("asset");
      if (!asset || !asset->is_string())
        return r.error("asset", "missing (the asset that depegs, e.g. \"USDC\")");
      auto sym = start_asset(r, "asset", asset->text, config, start, symbols);
      if (!sym) return sym.error();
      sc.asset = *sym;
      const JsonValue* level = r.get("level");
      if (!level) return r.error("level", "missing (the price it goes to, e.g. \"0.87\")");
      auto raw = r.decimal("level", *level);
      if (!raw) return raw.error();
      if (*raw <= 0) return r.error("level", "must be positive");
      sc.level = Price::from_raw(*raw);
      auto duration = r.integer("duration_ms", 0, kMaxInterval, std::nullopt);
      if (!duration) return duration.error();
      sc.duration_ms = *duration;
      auto steps = r.integer("steps", 1, kMaxSteps, 10);
      if (!steps) return steps.error();
      sc.steps = *steps;
      break;
    }
    case ScenarioKind::freeze: {
      const JsonValue* asset = r.get("asset");
      if (!asset || !asset->is_string())
        return r.error("asset", "missing (the asset whose collateral is frozen)");
      auto sym = start_asset(r, "asset", asset->text, config, start, symbols);
      if (!sym) return sym.error();
      sc.asset = *sym;
      sc.freeze_path = "assets." + asset->text + ".collateral_weight";
      auto at = r.integer("at_ms", 0, kMaxInterval, 0);
      if (!at) return at.error();
      sc.at_ms = *at;
      if (Status st = read_moves(r, sc, config, start, symbols, false); !st) return st.error();
      if (sc.moves.empty()) sc.steps = 0;
      break;
    }
  }
  if (Status st = r.unknown_keys(); !st) return st.error();
  return sc;
}

// p × (1 + move × j / steps), toward zero, at least 1e-8.
Price shocked(Price p, Ratio move, std::int64_t j, std::int64_t steps) {
  const i128 den = i128(kScale) * steps;
  const i128 raw = i128(p.raw()) * (den + i128(move.raw()) * j) / den;
  return Price::from_raw(static_cast<std::int64_t>(std::max<i128>(raw, 1)));
}

Price clamp_price(i128 raw) {
  if (raw < 1) raw = 1;
  if (raw > INT64_MAX / 4) raw = INT64_MAX / 4;
  return Price::from_raw(static_cast<std::int64_t>(raw));
}

// The price of series S as of time T (its last tick at or before T).
std::size_t tick_at(const PriceSeries& s, std::int64_t t) {
  auto it = std::upper_bound(s.ts.begin(), s.ts.end(), t);
  return static_cast<std::size_t>(it - s.ts.begin()) - 1;  // the caller has T ≥ s.ts.front()
}

}  // namespace

const char* scenario_kind_name(ScenarioKind k) {
  switch (k) {
    case ScenarioKind::shock:
      return "shock";
    case ScenarioKind::historical:
      return "historical";
    case ScenarioKind::fhs:
      return "fhs";
    case ScenarioKind::gbm:
      return "gbm";
    case ScenarioKind::depeg:
      return "depeg";
    case ScenarioKind::freeze:
      return "freeze";
  }
  return "?";
}

std::optional<Price> StressStart::price_of(Sym asset) const {
  for (const auto& [s, p] : px)
    if (s == asset) return p;
  return std::nullopt;
}

Result<std::vector<Scenario>> load_scenarios(const std::string& path, const Config& config,
                                             const StressStart& start, Symbols& symbols) {
  if (Status st = require_regular_input(path, "scenario file"); !st) return st.error();
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_file_error(ErrorKind::io, path, "cannot read the scenario file");
  std::stringstream buf;
  buf << in.rdbuf();
  if (buf.str().size() > 64u << 20) return make_file_error(ErrorKind::config, path, "is larger than 64 MiB");
  auto doc = parse_json(buf.str());
  if (!doc) {
    Error e = doc.error();
    e.kind = ErrorKind::config;
    e.file = path;
    return e;
  }
  std::vector<Scenario> out;
  const JsonValue* list = nullptr;
  if (doc->is_object() && doc->find("kind")) {
    auto sc = read_scenario(*doc, 0, path, config, start, symbols);
    if (!sc) return sc.error();
    out.push_back(std::move(*sc));
    return out;
  }
  if (doc->is_object()) {
    for (const auto& [k, v] : doc->members)
      if (k != "scenarios") {
        Error e = make_error(ErrorKind::config, "unknown field (the file holds {\"scenarios\": [...]})", k);
        e.file = path;
        return e;
      }
    list = doc->find("scenarios");
  }
  if (!list || list->kind != JsonValue::Kind::array || list->items.empty()) {
    Error e = make_error(
        ErrorKind::config,
        "must be {\"scenarios\": [S, ...]} with at least one scenario, or one scenario object", "scenarios");
    e.file = path;
    return e;
  }
  std::int64_t total = 0;
  for (std::size_t i = 0; i < list->items.size(); ++i) {
    auto sc = read_scenario(list->items[i], i, path, config, start, symbols);
    if (!sc) return sc.error();
    for (const Scenario& o : out)
      if (o.name == sc->name) {
        Error e = make_error(ErrorKind::config, "name '" + excerpt(sc->name) + "' is given twice",
                             "scenarios[" + std::to_string(i) + "].name");
        e.file = path;
        return e;
      }
    total += sc->paths;
    if (total > kMaxPaths) {
      Error e = make_error(ErrorKind::config, "more than " + std::to_string(kMaxPaths) + " paths in all",
                           "scenarios[" + std::to_string(i) + "]");
      e.file = path;
      return e;
    }
    out.push_back(std::move(*sc));
  }
  return out;
}

std::vector<InputEvent> scenario_path(const Scenario& sc, std::int64_t p, const StressStart& start) {
  std::vector<InputEvent> out;
  const std::int64_t t_start = start.ts_ms;
  auto price_event = [&](std::int64_t ts, Sym asset, Price price) {
    out.push_back(InputEvent{ts, PriceEvent{asset, price}});
  };
  switch (sc.kind) {
    case ScenarioKind::shock:
      for (std::int64_t j = 1; j <= sc.steps; ++j)
        for (const auto& [asset, move] : sc.moves)
          price_event(t_start + j * sc.interval_ms, asset,
                      shocked(*start.price_of(asset), move, j, sc.steps));
      break;
    case ScenarioKind::freeze: {
      // The weight goes to 0 at at_ms, before any step of the same time.
      const std::int64_t t_freeze = t_start + sc.at_ms;
      bool frozen = false;
      auto freeze = [&] {
        out.push_back(InputEvent{t_freeze, ParamEvent{sc.freeze_path, "\"0\""}});
        frozen = true;
      };
      for (std::int64_t j = 1; j <= sc.steps; ++j) {
        const std::int64_t ts = t_start + j * sc.interval_ms;
        if (!frozen && t_freeze <= ts) freeze();
        for (const auto& [asset, move] : sc.moves)
          price_event(ts, asset, shocked(*start.price_of(asset), move, j, sc.steps));
      }
      if (!frozen) freeze();
      break;
    }
    case ScenarioKind::historical:
    case ScenarioKind::fhs: {
      const std::int64_t t0 = sc.window_starts[static_cast<std::size_t>(p)], t1 = t0 + sc.window_ms;
      // (ts, series) of every tick in (t0, t1], in time order, series order on ties.
      std::vector<std::pair<std::int64_t, std::size_t>> ticks;
      for (std::size_t s = 0; s < sc.series.size(); ++s) {
        const PriceSeries& ser = sc.series[s];
        auto it = std::upper_bound(ser.ts.begin(), ser.ts.end(), t0);
        for (; it != ser.ts.end() && *it <= t1; ++it) ticks.emplace_back(*it, s);
      }
      std::stable_sort(ticks.begin(), ticks.end(),
                       [](const auto& a, const auto& b) { return a.first < b.first; });
      std::vector<i128> factor(sc.series.size(), i128(kScale) * kScale * 100);  // 1 at 1e18
      constexpr i128 kOne18 = i128(kScale) * kScale * 100;
      for (const auto& [ts, s] : ticks) {
        const PriceSeries& ser = sc.series[s];
        const Price today = *start.price_of(ser.asset);
        const std::size_t k = tick_at(ser, ts);
        Price px;
        if (sc.kind == ScenarioKind::historical) {
          const std::size_t k0 = tick_at(ser, t0);
          px = clamp_price(i128(today.raw()) * ser.price[k].raw() / ser.price[k0].raw());
        } else {
          // The scaled return of tick k is scaled_returns[s][k − 1].
          const i128 r = sc.scaled_returns[s][k - 1].raw();
          factor[s] = factor[s] * (kScale + r) / kScale;
          if (factor[s] < 0) factor[s] = 0;
          px = clamp_price(i128(today.raw()) * factor[s] / kOne18);
        }
        price_event(t_start + (ts - t0), ser.asset, px);
      }
      break;
    }
    case ScenarioKind::gbm: {
      // Path P's stream: SplitMix64 seeded with the first output of SplitMix64(seed + P).
      SplitMix64 mix(sc.seed + static_cast<std::uint64_t>(p));
      NormalSampler normal(mix.next());
      const std::size_t n = sc.vols.size();
      const double dt = static_cast<double>(sc.interval_ms) / kMsPerYear;
      std::vector<double> sd(n), drift(n), logp(n, 0.0), z(n), w(n);
      for (std::size_t a = 0; a < n; ++a) {
        sd[a] = sc.vols[a].second * std::sqrt(dt);
        drift[a] = -0.5 * sd[a] * sd[a];  // zero drift of the price: E[p(t)] = p(0)
      }
      for (std::int64_t j = 1; j <= sc.steps; ++j) {
        for (std::size_t a = 0; a < n; ++a) z[a] = normal.next();
        for (std::size_t a = 0; a < n; ++a) {
          if (sc.chol.empty()) {
            w[a] = z[a];
          } else {
            double s = 0.0;
            for (std::size_t b = 0; b <= a; ++b) s = s + sc.chol[a * n + b] * z[b];
            w[a] = s;
          }
          logp[a] = logp[a] + (drift[a] + sd[a] * w[a]);
          const Price p0 = *start.price_of(sc.vols[a].first);
          const double m = stress_exp(logp[a]);
          const double raw = std::trunc(static_cast<double>(p0.raw()) * m);
          price_event(t_start + j * sc.interval_ms, sc.vols[a].first,
                      clamp_price(raw >= 9.0e18 ? i128(INT64_MAX) : i128(static_cast<std::int64_t>(raw))));
        }
      }
      break;
    }
    case ScenarioKind::depeg: {
      const Price p0 = *start.price_of(sc.asset);
      for (std::int64_t j = 1; j <= sc.steps; ++j) {
        const i128 raw = i128(p0.raw()) + (i128(sc.level.raw()) - p0.raw()) * j / sc.steps;
        price_event(t_start + j * sc.duration_ms / sc.steps, sc.asset, clamp_price(raw));
      }
      break;
    }
  }
  return out;
}

}  // namespace liqsim
