// sweep.cpp — the grid, the points, their replays and the one writer
// (sweep.hpp).
#include "liqsim/sweep.hpp"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>

#include "liqsim/input_file.hpp"
#include "liqsim/log.hpp"
#include "liqsim/replay.hpp"
#include "liqsim/replay_sinks.hpp"
#include "liqsim/sha256.hpp"
#include "liqsim/validate.hpp"

namespace liqsim {

// A point a worker ran and recorded (Sweep::run_point_recorded): its replay
// (engine and metrics at the end) and the recorder holding its rows.
struct RecordedPoint {
  std::unique_ptr<Replay> replay;
  std::unique_ptr<ResultsSink> sink;
};

namespace {

std::int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Error usage(std::string message) { return make_error(ErrorKind::usage, std::move(message)); }

// An override VALUE as JSON text, read as `--set` reads it (config.cpp,
// override_value): JSON, or a bare word taken as a string.
Result<std::string> value_json(const std::string& text) {
  if (text.empty()) return usage("an empty value");
  auto parsed = parse_json(text);
  if (parsed) return parsed->dump();
  const char first = text.front();
  if (first == '[' || first == '{' || first == '"')
    return usage("'" + excerpt(text) + "' is malformed JSON: " + parsed.error().message);
  return json_quote(text);
}

// "a,b,[1,2],\"x,y\"" → a | b | [1,2] | "x,y"
std::vector<std::string> split_values(const std::string& text) {
  std::vector<std::string> out;
  std::string cur;
  int depth = 0;
  bool quoted = false, escaped = false;
  for (char c : text) {
    if (quoted) {
      cur += c;
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        quoted = false;
      continue;
    }
    if (c == '"') quoted = true;
    if (c == '[' || c == '{') ++depth;
    if ((c == ']' || c == '}') && depth > 0) --depth;
    if (c == ',' && depth == 0) {
      out.push_back(cur);
      cur.clear();
      continue;
    }
    cur += c;
  }
  out.push_back(cur);
  return out;
}

std::string read_file(const std::string& path, bool& ok) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  ok = static_cast<bool>(in) || in.eof();
  return ss.str();
}

// The param path an override's path lies under: markets.<M>.<key>,
// assets.<A>.<key>, liquidation.<key> (an index or deeper key is inside
// that value). Names are matched whole against the configuration, as
// apply_overrides does, so a market whose name holds '.' is not split.
std::string param_path_of(const JsonValue& doc, const std::string& path) {
  auto take = [&](std::size_t from, const JsonValue* section) -> std::size_t {
    // The longest member name of SECTION that PATH continues with at FROM.
    std::size_t best = std::string::npos;
    if (!section || !section->is_object()) return best;
    for (const auto& [name, v] : section->members) {
      if (path.compare(from, name.size(), name) != 0) continue;
      const std::size_t end = from + name.size();
      if (end != path.size() && path[end] != '.' && path[end] != '[') continue;
      if (best == std::string::npos || end > best) best = end;
    }
    return best;
  };
  auto key_end = [&](std::size_t from) {
    std::size_t e = path.find_first_of(".[", from);
    return e == std::string::npos ? path.size() : e;
  };
  if (path.rfind("liquidation.", 0) == 0) return path.substr(0, key_end(12));
  for (const char* section : {"markets", "assets"}) {
    const std::string head = std::string(section) + ".";
    if (path.rfind(head, 0) != 0) continue;
    std::size_t name_end = take(head.size(), doc.find(section));
    if (name_end == std::string::npos) name_end = key_end(head.size());
    if (name_end >= path.size()) return path;
    return path.substr(0, key_end(name_end + 1));
  }
  return path;
}

// The value at a param path (as apply_param walks it) in DOC, or null.
const JsonValue* value_at(const JsonValue& doc, const std::string& param_path,
                          const JsonValue* section_hint) {
  (void)section_hint;
  const JsonValue* node = &doc;
  std::size_t at = 0;
  while (node && at < param_path.size()) {
    if (!node->is_object()) return nullptr;
    // The longest member that the rest of the path starts with.
    const JsonValue* next = nullptr;
    std::size_t next_at = 0;
    for (const auto& [name, v] : node->members) {
      if (param_path.compare(at, name.size(), name) != 0) continue;
      const std::size_t end = at + name.size();
      if (end != param_path.size() && param_path[end] != '.') continue;
      if (!next || end > next_at) {
        next = &v;
        next_at = end;
      }
    }
    node = next;
    at = next_at + 1;
  }
  return node;
}

}  // namespace

std::vector<std::string> SweepPoint::overrides() const {
  std::vector<std::string> out;
  out.reserve(values.size());
  for (const auto& [path, value] : values) out.push_back(path + "=" + value);
  return out;
}

Result<GridAxis> parse_grid_option(const std::string& text) {
  const std::string origin = "--grid " + excerpt(text);
  auto fail = [&](const std::string& m) { return usage(origin + ": " + m); };
  const std::size_t eq = text.find('=');
  if (eq == std::string::npos) return fail("expected PATH=V1,V2,... (no '=')");
  GridAxis axis;
  axis.path = text.substr(0, eq);
  axis.origin = "--grid " + excerpt(axis.path) + "=...";
  if (axis.path.empty()) return fail("the path before '=' is empty");
  const std::string rest = text.substr(eq + 1);
  if (rest.empty()) return fail("the grid of " + axis.path + " is empty: give at least one value");
  for (const std::string& v : split_values(rest)) {
    if (v.empty()) return fail("an empty value in the list (two commas, or one at an end)");
    auto j = value_json(v);
    if (!j) return fail(j.error().message);
    axis.values.push_back(*j);
  }
  return axis;
}

Result<GridFile> load_grid_file(const std::string& path) {
  auto fail = [&](const std::string& m) { return make_file_error(ErrorKind::usage, path, m); };
  if (Status st = require_regular_input(path, "grid file"); !st) return st.error();
  bool ok = false;
  const std::string text = read_file(path, ok);
  if (!ok) return make_file_error(ErrorKind::io, path, "cannot read the grid file");
  auto doc = parse_json(text);
  if (!doc) {
    Error e = doc.error();
    e.file = path;
    e.kind = ErrorKind::usage;
    return e;
  }
  if (!doc->is_object()) return fail("a grid file is a JSON object {\"PATH\": [V1, V2, ...], ...}");
  GridFile out;
  const JsonValue* grid = &*doc;
  if (const JsonValue* g = doc->find("grid")) {
    for (const auto& [k, v] : doc->members)
      if (k != "grid" && k != "zip")
        return fail("unknown key '" + excerpt(k) + "' beside \"grid\" (only \"zip\" may be there)");
    if (!g->is_object()) return fail("\"grid\" must be an object {\"PATH\": [V1, V2, ...], ...}");
    grid = g;
    if (const JsonValue* z = doc->find("zip")) {
      if (z->kind != JsonValue::Kind::boolean) return fail("\"zip\" must be true or false");
      out.zip = z->text == "true";
      out.zip_given = true;
    }
  }
  for (const auto& [k, v] : grid->members) {
    GridAxis axis;
    axis.path = k;
    axis.origin = path + ": \"" + excerpt(k) + "\"";
    if (k.empty()) return fail("an empty path");
    if (v.kind != JsonValue::Kind::array)
      return fail("\"" + excerpt(k) + "\": expected a list of values [V1, V2, ...]");
    if (v.items.empty()) return fail("\"" + excerpt(k) + "\": the grid is empty: give at least one value");
    for (const JsonValue& item : v.items) axis.values.push_back(item.dump());
    out.axes.push_back(std::move(axis));
  }
  if (out.axes.empty()) return fail("no path to sweep");
  return out;
}

Result<std::vector<SweepPoint>> plan_points(const std::vector<GridAxis>& axes, bool zip) {
  if (axes.empty()) return usage("nothing to sweep: give --grid PATH=V1,V2,... or --grid-file G.json");
  for (std::size_t i = 0; i < axes.size(); ++i) {
    if (axes[i].values.empty()) return usage(axes[i].origin + ": the grid is empty: give at least one value");
    for (std::size_t j = 0; j < i; ++j)
      if (axes[j].path == axes[i].path)
        return usage(axes[i].origin + ": " + axes[i].path + " is swept twice (also by " + axes[j].origin +
                     ")");
  }
  std::int64_t count = 1;
  if (zip) {
    count = static_cast<std::int64_t>(axes.front().values.size());
    for (const GridAxis& a : axes)
      if (static_cast<std::int64_t>(a.values.size()) != count)
        return usage(
            "--zip takes the grids in step, so they need as many values each: " + axes.front().origin +
            " has " + std::to_string(count) + ", " + a.origin + " has " + std::to_string(a.values.size()));
  } else {
    for (const GridAxis& a : axes) {
      count *= static_cast<std::int64_t>(a.values.size());
      if (count > kMaxSweepPoints) break;
    }
  }
  if (count > kMaxSweepPoints)
    return usage("the grid has more than " + std::to_string(kMaxSweepPoints) + " points");
  std::vector<SweepPoint> points(static_cast<std::size_t>(count));
  for (std::int64_t k = 0; k < count; ++k) {
    SweepPoint& p = points[static_cast<std::size_t>(k)];
    p.index = k;
    std::int64_t rest = k;
    std::vector<std::size_t> pick(axes.size());
    for (std::size_t a = axes.size(); a-- > 0;) {
      const auto n = static_cast<std::int64_t>(axes[a].values.size());
      pick[a] = static_cast<std::size_t>(zip ? k : rest % n);
      if (!zip) rest /= n;
    }
    for (std::size_t a = 0; a < axes.size(); ++a)
      p.values.emplace_back(axes[a].path, axes[a].values[pick[a]]);
  }
  return points;
}

Result<Shard> Shard::parse(const std::string& text) {
  auto fail = [&] {
    return usage("--shard takes I/N with 0 <= I < N (e.g. 0/4), not '" + excerpt(text) + "'");
  };
  const std::size_t slash = text.find('/');
  if (slash == std::string::npos) return fail();
  auto number = [](const std::string& s) -> std::int64_t {
    if (s.empty() || s.size() > 9 || s.find_first_not_of("0123456789") != std::string::npos) return -1;
    return std::stoll(s);
  };
  Shard s;
  s.index = number(text.substr(0, slash));
  s.count = number(text.substr(slash + 1));
  if (s.index < 0 || s.count < 1) return fail();
  if (s.index >= s.count)
    return usage("--shard " + excerpt(text) + ": shard " + std::to_string(s.index) + " is outside 0.." +
                 std::to_string(s.count - 1));
  return s;
}

Result<std::vector<ParamEvent>> overrides_as_params(const Config& current,
                                                    const std::vector<std::string>& overrides,
                                                    const std::string& file) {
  auto changed = apply_overrides(current.document, overrides, file);
  if (!changed) return changed.error();
  std::vector<ParamEvent> params;
  std::vector<std::string> seen;
  for (const std::string& o : overrides) {
    const std::string path = param_path_of(current.document, o.substr(0, o.find('=')));
    if (std::find(seen.begin(), seen.end(), path) != seen.end()) continue;
    seen.push_back(path);
    const JsonValue* v = value_at(changed->document, path, nullptr);
    if (!v) return make_file_error(ErrorKind::config, file, "--set " + excerpt(o) + ": not a param path");
    params.push_back(ParamEvent{path, v->dump()});
  }
  // A changed tier list changes its computed amounts; every market whose
  // tiers differ is a param too (recompute_tier_amounts in config.cpp).
  for (const MarketConfig& m : current.markets) {
    const std::string path = "markets." + m.name + ".tiers";
    if (std::find(seen.begin(), seen.end(), path) != seen.end()) continue;
    const JsonValue* before = value_at(current.document, path, nullptr);
    const JsonValue* after = value_at(changed->document, path, nullptr);
    if (before && after && before->dump() != after->dump()) {
      seen.push_back(path);
      params.push_back(ParamEvent{path, after->dump()});
    }
  }
  // In sequence, each param must be valid where it is applied (as the
  // validator checks a log's params).
  Config check = current;
  for (const ParamEvent& p : params) {
    auto scope = apply_param_in_place(check, p.path, p.value_json);
    if (!scope) {
      Error e = scope.error();
      e.file = file;
      e.message = "as a governance change, param " + p.path + ": " + e.message;
      return e;
    }
  }
  return params;
}

// ---- Sweep ----

struct Sweep::Impl {
  SweepRequest request;
  SweepRecord record;
  Symbols symbols;
  std::optional<Config> base;
  std::vector<InputEvent> events;
  std::vector<std::size_t> config_events;  // indexes of param and liquidity events
  std::vector<std::int64_t> config_event_lines;
  std::vector<SweepPoint> points;               // this shard's
  std::vector<Config> configs;                  // per point: the configuration it starts with (no --at)
  std::vector<std::vector<ParamEvent>> params;  // per point with --at: the governance change
  std::optional<Replay> snapshot;               // with --at: after events [0, at_seq)
  std::vector<std::string> config_json;         // per point: runs.config_json
  std::optional<PointRecord> prefix;
  std::int64_t governance_ts = 0;

  ReplayOptions replay_options() const { return ReplayOptions{}; }

  // The log's own params from event FROM on, under CONFIG (they were
  // checked under the base configuration; a point's may refuse one).
  Status check_log_params(Config config, std::size_t from, const SweepPoint& point) const {
    EventValidator validator(config, symbols);
    for (std::size_t k = 0; k < config_events.size(); ++k) {
      const std::size_t i = config_events[k];
      if (i < from) continue;
      if (Status st = validator.check(events[i], static_cast<std::int64_t>(i)); !st) {
        Error e = st.error();
        e.file = request.events_path;
        e.line = config_event_lines[k];
        e.message = "under point " + std::to_string(point.index) + "'s configuration (" + join(point) +
                    "): " + e.message;
        return e;
      }
    }
    return {};
  }

  static std::string join(const SweepPoint& p) {
    std::string s;
    for (const auto& [path, value] : p.values) s += (s.empty() ? "" : ", ") + path + "=" + value;
    return s;
  }

  // An override's error, told as the grid option (or file entry) that gave it.
  Error as_grid_error(Error e, const SweepPoint& p) const {
    for (std::size_t a = 0; a < p.values.size(); ++a) {
      const std::string set = "--set " + excerpt(p.values[a].first + "=" + p.values[a].second) + ": ";
      if (e.message.rfind(set, 0) == 0) {
        e.message =
            request.axes[a].origin + ": value " + p.values[a].second + ": " + e.message.substr(set.size());
        if (e.kind == ErrorKind::config) e.kind = ErrorKind::usage;
        e.file.clear();  // the origin names the option or the grid file
        return e;
      }
    }
    e.message = "point " + std::to_string(p.index) + " (" + join(p) + "): " + e.message;
    return e;
  }

  // Runs point K, or without K the prefix, whose state after the last
  // prefix event is left in FORK.
  // With DIRECT the run is written straight into that database (the
  // writer's, inside its import) instead of an image.
  Result<PointRecord> run(std::optional<std::size_t> k, std::optional<Replay>& fork,
                          ResultsDb* direct = nullptr, bool recorded = false) const {
    PointRecord rec;
    std::unique_ptr<ResultsSink> sink;
    RunInfo info;
    if (k) {
      rec.point = points[*k].index;
      rec.values = points[*k].values;
      info.label = request.label + " point " + std::to_string(rec.point);
    } else {
      rec.point = -1;
      info.label = request.label + " prefix to seq " + std::to_string(request.at_seq);
    }
    // Symbols: every name is interned by prepare (the log's, and the
    // configuration's markets and assets, which an engine interns again and
    // so only finds). The replay stays where it is made (a recorded point
    // keeps it).
    std::unique_ptr<Replay> replay;
    if (!k) {
      replay = std::make_unique<Replay>(*base, const_cast<Symbols&>(symbols), replay_options());
    } else if (request.at_seq >= 0) {
      replay = std::make_unique<Replay>(*snapshot);
    } else {
      replay = std::make_unique<Replay>(configs[*k], const_cast<Symbols&>(symbols), replay_options());
    }
    if (request.results) {
      info.config_json = k ? config_json[*k] : base->document.dump();
      info.events_path = request.events_path;
      info.events_sha256 = record.events_sha256;
      info.engine_version = record.engine_version;
      info.started_unix_ms = wall_ms();
      if (direct) {
        sink = std::make_unique<ResultsSink>(*direct, std::move(info), symbols, wall_ms);
      } else if (recorded) {
        ResultsOptions recorder_options;
        recorder_options.detail_rows = request.detail_rows;
        sink = std::make_unique<ResultsSink>(ResultsDb::recorder(recorder_options), std::move(info), symbols,
                                             wall_ms);
        sink->keep_open();
      } else {
        ResultsOptions memory_options;
        memory_options.detail_rows = request.detail_rows;
        auto db = ResultsDb::open_memory(memory_options);
        if (!db) return db.error();
        sink = std::make_unique<ResultsSink>(std::move(*db), std::move(info), symbols, wall_ms);
        sink->keep_open();
      }
      replay->add_sink(*sink);
    }
    auto failed = [&](Error e) {
      replay->abandon();
      if (e.seq >= 0 && e.file.empty()) e.file = request.events_path;
      if (k) e.message = "point " + std::to_string(rec.point) + ": " + e.message;
      return e;
    };
    if (!k) {
      if (Status st = replay->run(events, 0, static_cast<std::size_t>(request.at_seq)); !st)
        return failed(st.error());
      fork.emplace(*replay);  // the snapshot: engine and metrics, no sinks
    } else {
      if (request.at_seq >= 0)
        for (const ParamEvent& p : params[*k])
          if (Status st = replay->apply(InputEvent{governance_ts, p}); !st) return failed(st.error());
      if (Status st = replay->run(events, request.at_seq >= 0 ? static_cast<std::size_t>(request.at_seq) : 0);
          !st)
        return failed(st.error());
    }
    auto result = replay->finish();
    if (!result) return failed(result.error());
    if (Status st = replay->publish(); !st) return failed(st.error());
    rec.summary_json = result->json();
    if (sink && direct) {
      rec.run_id = sink->run_id();
    } else if (sink && recorded) {
      rec.recorded = std::make_shared<RecordedPoint>(RecordedPoint{std::move(replay), std::move(sink)});
    } else if (sink) {
      // The sink's database: serialized once the run is committed.
      auto image = sink->database().serialize();
      if (!image) return failed(image.error());
      rec.db_image = std::move(*image);
    }
    return rec;
  }
};

Sweep::Sweep() : impl_(std::make_unique<Impl>()) {}
Sweep::~Sweep() = default;

Result<CheckedLog> read_checked_log(const std::string& events_path, const Config& config, Symbols& symbols) {
  if (Status st = require_regular_input(events_path, "event log"); !st) return st.error();
  auto reader = EventFileReader::open(events_path, symbols);
  if (!reader) return reader.error();
  CheckedLog log;
  EventValidator validator(config, symbols);
  InputEvent ev;
  for (;;) {
    auto more = reader->next(ev);
    if (!more) return more.error();
    if (!*more) break;
    const auto seq = static_cast<std::int64_t>(log.events.size());
    if (Status st = validator.check(ev, seq); !st) {
      Error e = st.error();
      e.file = reader->path();
      if (!reader->binary()) e.line = reader->line();
      return e;
    }
    if (std::holds_alternative<ParamEvent>(ev.body) || std::holds_alternative<LiquidityEvent>(ev.body)) {
      log.config_events.push_back(log.events.size());
      log.config_event_lines.push_back(reader->binary() ? 0 : reader->line());
    }
    log.events.push_back(std::move(ev));
  }
  log.sha256 = reader->sha256_hex();
  return log;
}

Result<std::unique_ptr<Sweep>> Sweep::prepare(const SweepRequest& request) {
  std::unique_ptr<Sweep> sweep(new Sweep());
  Impl& w = *sweep->impl_;
  w.request = request;
  auto points = plan_points(request.axes, request.zip);
  if (!points) return points.error();

  if (Status st = require_regular_input(request.config_path, "configuration"); !st) return st.error();
  bool ok = false;
  const std::string config_bytes = read_file(request.config_path, ok);
  if (!ok) return make_file_error(ErrorKind::io, request.config_path, "cannot read the configuration");
  auto base = load_config(request.config_path);
  if (!base) return base.error();
  w.base.emplace(std::move(*base));
  // Every name an engine interns (its markets and assets: an override adds
  // none) is interned here, on one thread, so that the points' engines —
  // built on several threads at once — only read the shared table.
  for (const MarketConfig& m : w.base->markets) w.symbols.intern(m.name);
  for (const AssetConfig& a : w.base->assets) w.symbols.intern(a.name);

  // The log, read and checked once; shared read-only by every point.
  auto log = read_checked_log(request.events_path, *w.base, w.symbols);
  if (!log) return log.error();
  w.events = std::move(log->events);
  w.config_events = std::move(log->config_events);
  w.config_event_lines = std::move(log->config_event_lines);
  SweepRecord& r = w.record;
  r.events_sha256 = log->sha256;
  r.config_sha256 = sha256_hex(config_bytes);
  r.label = request.label;
  r.events_path = request.events_path;
  r.base_config_json = w.base->document.dump();
  r.points = static_cast<std::int64_t>(points->size());
  r.at_seq = request.at_seq;
  r.shard_index = request.shard.index;
  r.shard_count = request.shard.count;
  r.rows = request.detail_rows ? "all" : "summary";
  r.engine_version = "liqsim 0.1.0";
  r.started_unix_ms = wall_ms();
  {
    std::string grid = "{\"axes\":[";
    for (std::size_t a = 0; a < request.axes.size(); ++a) {
      grid += (a ? ",{\"path\":" : "{\"path\":") + json_quote(request.axes[a].path) + ",\"values\":[";
      for (std::size_t v = 0; v < request.axes[a].values.size(); ++v)
        grid += (v ? "," : "") + request.axes[a].values[v];
      grid += "]}";
    }
    grid += std::string("],\"zip\":") + (request.zip ? "true" : "false") +
            ",\"at\":" + (request.at_seq >= 0 ? std::to_string(request.at_seq) : "null") + "}";
    r.grid_json = grid;
  }
  // Two shards are of one sweep when all of this agrees (not the paths, not the shard).
  r.key = sha256_hex(r.grid_json + "\n" + r.base_config_json + "\n" + r.config_sha256 + "\n" +
                     r.events_sha256 + "\n" + r.rows + "\n" + r.engine_version);

  for (SweepPoint& p : *points)
    if (p.index % request.shard.count == request.shard.index) w.points.push_back(std::move(p));

  if (request.at_seq >= 0) {
    if (request.at_seq > static_cast<std::int64_t>(w.events.size()))
      return usage("--at " + std::to_string(request.at_seq) + ": the log has " +
                   std::to_string(w.events.size()) + " events (seq 0.." +
                   std::to_string(static_cast<std::int64_t>(w.events.size()) - 1) + "); --at takes 0.." +
                   std::to_string(w.events.size()));
    // The snapshot every point forks from, and the prefix run stored once.
    Impl& impl = w;
    auto prefix = impl.run(std::nullopt, impl.snapshot);
    if (!prefix) return prefix.error();
    impl.prefix = std::move(*prefix);
    const auto at = static_cast<std::size_t>(request.at_seq);
    impl.governance_ts = at < impl.events.size() ? impl.events[at].ts_ms
                                                 : (impl.events.empty() ? 0 : impl.events.back().ts_ms);
    for (const SweepPoint& p : w.points) {
      auto params = overrides_as_params(impl.snapshot->config(), p.overrides(), request.config_path);
      if (!params) return impl.as_grid_error(params.error(), p);
      Config after = impl.snapshot->config();
      for (const ParamEvent& pe : *params) (void)apply_param_in_place(after, pe.path, pe.value_json);
      if (Status st = impl.check_log_params(after, at, p); !st) return st.error();
      impl.config_json.push_back(after.document.dump());
      impl.params.push_back(std::move(*params));
    }
  } else {
    for (const SweepPoint& p : w.points) {
      auto config = apply_overrides(w.base->document, p.overrides(), request.config_path);
      if (!config) return w.as_grid_error(config.error(), p);
      if (Status st = w.check_log_params(*config, 0, p); !st) return st.error();
      w.config_json.push_back(config->document.dump());
      w.configs.push_back(std::move(*config));
    }
  }
  return sweep;
}

const SweepRecord& Sweep::record() const { return impl_->record; }
const std::vector<SweepPoint>& Sweep::points() const { return impl_->points; }
bool Sweep::has_prefix() const { return impl_->prefix.has_value(); }
Result<PointRecord> Sweep::run_prefix() const {
  if (!impl_->prefix) return PointRecord{};
  return *impl_->prefix;
}
Result<PointRecord> Sweep::run_point_recorded(std::size_t k) const {
  std::optional<Replay> unused;
  if (!impl_->request.results) return impl_->run(k, unused);
  return impl_->run(k, unused, nullptr, true);
}

Result<PointRecord> Sweep::run_point(std::size_t k, SweepWriter* into) const {
  std::optional<Replay> unused;
  return impl_->run(k, unused, into ? &into->database() : nullptr);
}

// ---- SweepWriter ----

struct SweepWriter::Impl {
  std::unique_ptr<ResultsDb> db;
  std::int64_t sweep_id = 0;
  bool open = false;
};

SweepWriter::SweepWriter() : impl_(std::make_unique<Impl>()) {}
SweepWriter::~SweepWriter() { abandon(); }

Result<std::unique_ptr<SweepWriter>> SweepWriter::open(const std::string& db_path, const SweepRecord& sweep,
                                                       const ResultsOptions& options) {
  std::unique_ptr<SweepWriter> w(new SweepWriter());
  ResultsOptions o = options;
  o.detail_rows = sweep.rows != "summary";  // the points written straight in store what the images hold
  auto db = ResultsDb::open(db_path, o);
  if (!db) return db.error();
  w->impl_->db = std::move(*db);
  if (Status st = w->impl_->db->begin_import(); !st) return st.error();
  w->impl_->open = true;
  auto id = w->impl_->db->add_sweep(sweep, 0);
  if (!id) return id.error();
  w->impl_->sweep_id = *id;
  return w;
}

ResultsDb& SweepWriter::database() { return *impl_->db; }

Status SweepWriter::add(PointRecord& record) {
  if (!impl_->open) return make_error(ErrorKind::io, "the sweep's database is not open");
  if (record.recorded) {  // recorded by a worker: stored here, no copy
    RecordedPoint& p = *record.recorded;
    auto id = impl_->db->store_recorded(p.sink->database(), p.replay->metrics(), p.replay->engine());
    if (!id) return id.error();
    record.run_id = *id;
    record.recorded.reset();
  } else if (record.run_id <= 0) {  // an image (written straight in: run_id is set)
    auto ids = impl_->db->import_image(record.db_image);
    if (!ids) return ids.error();
    if (ids->size() != 1) return make_error(ErrorKind::io, "a point's image holds no single run");
    record.run_id = ids->front();
    std::string().swap(record.db_image);
  }
  if (record.point < 0) return impl_->db->set_sweep_prefix(impl_->sweep_id, record.run_id);
  SweepPointRow row;
  row.point = record.point;
  row.values = record.values;
  return impl_->db->add_sweep_point(impl_->sweep_id, record.run_id, row);
}

Result<std::int64_t> SweepWriter::finish(std::int64_t finished_unix_ms) {
  if (!impl_->open) return make_error(ErrorKind::io, "the sweep's database is not open");
  if (Status st = impl_->db->set_sweep_finished(impl_->sweep_id, finished_unix_ms); !st) return st.error();
  if (Status st = impl_->db->commit_import(); !st) {
    impl_->open = false;
    return st.error();
  }
  impl_->open = false;
  return impl_->sweep_id;
}

void SweepWriter::abandon() {
  if (impl_ && impl_->open && impl_->db) impl_->db->abort_run();
  if (impl_) impl_->open = false;
}

// ---- running ----

Status run_sweep(const Sweep& sweep, int jobs, const std::function<Status(PointRecord&)>& done,
                 const std::function<void(std::int64_t)>& progress, SweepWriter* writer) {
  const std::size_t n = sweep.points().size();
  if (jobs <= 1 || n <= 1) {
    // One worker: each run is written straight into the writer's database.
    for (std::size_t k = 0; k < n; ++k) {
      auto rec = sweep.run_point(k, writer);
      if (!rec) return rec.error();
      if (Status st = done(*rec); !st) return st;
      if (progress) progress(static_cast<std::int64_t>(k + 1));
    }
    return {};
  }
  // Workers take the next point (in point order) and write it into an
  // image; the calling thread stores records in point order. It is a worker
  // too whenever it would wait: when the point it stores next is not taken
  // yet it runs it itself, straight into the writer's database (no image, no
  // copy); while that point is still running elsewhere it takes the next
  // free point as an image. Nothing runs more than `window` points ahead of
  // the writer, so finished images waiting their turn stay few.
  const std::size_t window = static_cast<std::size_t>(jobs) * 2;
  std::mutex mu;
  std::condition_variable changed;
  std::vector<std::optional<Result<PointRecord>>> slots(n);
  std::size_t next = 0, written = 0, finished = 0;
  bool stop = false;
  auto can_take = [&] { return !stop && next < n && next < written + window; };
  // A point that throws (out of memory) is an error of that point, not a
  // std::terminate from a worker thread.
  auto guarded = [&](std::size_t k, SweepWriter* into) -> Result<PointRecord> {
    try {
      return into ? sweep.run_point(k, into) : sweep.run_point_recorded(k);
    } catch (const std::exception& ex) {
      return make_error(ErrorKind::io, "point " + std::to_string(k) + ": " + ex.what());
    }
  };
  auto run_into_slot = [&](std::size_t k) {
    auto rec = guarded(k, nullptr);
    std::lock_guard lock(mu);
    slots[k].emplace(std::move(rec));
    ++finished;
    changed.notify_all();
  };
  auto worker = [&] {
    for (;;) {
      std::size_t k;
      {
        std::unique_lock lock(mu);
        changed.wait(lock, [&] { return stop || next >= n || can_take(); });
        if (stop || next >= n) return;
        k = next++;
      }
      run_into_slot(k);
    }
  };
  std::vector<std::thread> threads;
  for (int j = 1; j < jobs && static_cast<std::size_t>(j) < n; ++j) threads.emplace_back(worker);
  Status status;
  for (std::size_t k = 0; k < n && status.ok(); ++k) {
    std::optional<Result<PointRecord>> rec;
    for (;;) {
      std::unique_lock lock(mu);
      if (slots[k]) {
        rec = std::move(slots[k]);
        slots[k].reset();
        break;
      }
      if (next == k) {  // not taken: run it here
        next = k + 1;
        lock.unlock();
        rec.emplace(writer ? guarded(k, writer) : guarded(k, nullptr));
        std::lock_guard again(mu);
        ++finished;
        break;
      }
      if (can_take()) {  // k runs elsewhere: meanwhile, a later point
        const std::size_t j = next++;
        lock.unlock();
        run_into_slot(j);
        continue;
      }
      changed.wait(lock, [&] { return slots[k].has_value() || can_take(); });
    }
    status = *rec ? done(**rec) : Status(rec->error());
    std::int64_t done_count = 0;
    {
      std::lock_guard lock(mu);
      ++written;
      if (!status) stop = true;
      done_count = static_cast<std::int64_t>(finished);
      changed.notify_all();
    }
    if (status && progress) progress(done_count);
  }
  {
    std::lock_guard lock(mu);
    stop = true;
    changed.notify_all();
  }
  for (std::thread& t : threads) t.join();
  return status;
}

// ---- printing ----

namespace {

// The text of a summary field, numbers and strings alike.
std::string field_text(const JsonValue& summary, const char* key) {
  const JsonValue* v = summary.find(key);
  if (!v) return "";
  return v->is_string() || v->is_number() ? v->text : v->dump();
}

// A short header for a path: its last component, longer when two axes share it.
std::vector<std::string> axis_headers(const std::vector<GridAxis>& axes) {
  std::vector<std::string> heads;
  for (const GridAxis& a : axes) {
    const std::size_t dot = a.path.rfind('.');
    heads.push_back(dot == std::string::npos ? a.path : a.path.substr(dot + 1));
  }
  for (std::size_t i = 0; i < heads.size(); ++i)
    for (std::size_t j = 0; j < heads.size(); ++j)
      if (i != j && heads[i] == heads[j]) heads[i] = axes[i].path;
  return heads;
}

}  // namespace

std::string sweep_table(const std::vector<GridAxis>& axes, const std::vector<PointRecord>& records) {
  std::vector<std::string> head = {"point"};
  for (const std::string& h : axis_headers(axes)) head.push_back(h);
  const char* metrics[][2] = {{"liquidations", "liquidations"},
                              {"liquidated_notional", "liq_notional"},
                              {"bad_debt", "bad_debt"},
                              {"insurance_paid", "insurance_paid"},
                              {"adl_events", "adl"},
                              {"socialized_loss", "socialized"},
                              {"rejected", "rejected"},
                              {"insurance_fund", "fund_end"},
                              {"state_hash", "state_hash"}};
  const std::size_t first_metric = head.size();
  for (const auto& m : metrics) head.push_back(m[1]);
  std::vector<std::vector<std::string>> rows;
  for (const PointRecord& r : records) {
    std::vector<std::string> row = {std::to_string(r.point)};
    for (const auto& [path, value] : r.values) {
      auto v = parse_json(value);
      row.push_back(v && v->is_string() ? v->text : value);
    }
    auto summary = parse_json(r.summary_json);
    for (const auto& m : metrics) {
      std::string t = summary ? field_text(*summary, m[0]) : "";
      if (std::string(m[0]) == "state_hash" && t.size() > 16) t = t.substr(0, 16);
      row.push_back(t);
    }
    rows.push_back(std::move(row));
  }
  std::vector<std::size_t> width(head.size());
  for (std::size_t c = 0; c < head.size(); ++c) {
    width[c] = head[c].size();
    for (const auto& row : rows) width[c] = std::max(width[c], c < row.size() ? row[c].size() : 0);
  }
  std::string out;
  auto line = [&](const std::vector<std::string>& cells) {
    std::string l;
    for (std::size_t c = 0; c < head.size(); ++c) {
      const std::string cell = c < cells.size() ? cells[c] : "";
      const std::string pad(width[c] - cell.size(), ' ');
      const bool left = c == head.size() - 1 || (c > 0 && c < first_metric);
      if (c) l += "  ";
      l += left ? cell + (c == head.size() - 1 ? "" : pad) : pad + cell;
    }
    out += l + "\n";
  };
  line(head);
  for (const auto& row : rows) line(row);
  return out;
}

std::string point_json(const PointRecord& record) {
  std::string values = "{";
  for (std::size_t i = 0; i < record.values.size(); ++i)
    values += (i ? "," : "") + json_quote(record.values[i].first) + ":" + record.values[i].second;
  values += "}";
  std::string head = "{\"point\":" + std::to_string(record.point) +
                     ",\"run_id\":" + std::to_string(record.run_id) + ",\"values\":" + values;
  const std::string& s = record.summary_json;
  if (s.size() > 2) return head + "," + s.substr(1);
  return head + "}";
}

}  // namespace liqsim
