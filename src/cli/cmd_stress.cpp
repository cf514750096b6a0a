// liqsim stress — stress tests of collateral adequacy: `stress run`
// (scenario paths from a snapshot of the book, stress_run.hpp), `stress
// curve` (the liquidation curve) and `stress var` (VaR and ES of one asset's
// price series, stress.hpp).
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "commands.hpp"
#include "liqsim/input_file.hpp"
#include "liqsim/json.hpp"
#include "liqsim/log.hpp"
#include "liqsim/stress.hpp"
#include "liqsim/stress_run.hpp"
#include "options.hpp"
#include "replay_support.hpp"
#include "sweep_options.hpp"

namespace liqsim::cli {

namespace {

// The options and their help are described in options.cpp ("stress var").
int stress_var(const Args& args) {
  const std::string path = "stress var";
  auto cl = parse_command_line(path, args, 2);
  if (!cl) return usage_error(path, cl.error());
  if (cl->help) return print_help(path);
  const std::string prices_path = cl->get("--prices"), asset = cl->get("--asset");
  if (prices_path.empty()) return usage_error(path, "--prices needs a file name");
  if (asset.empty()) return usage_error(path, "--asset needs an asset name");
  const std::string side_text = cl->get("--side", "long");
  if (side_text != "long" && side_text != "short")
    return usage_error(path, "--side takes long or short, not '" + excerpt(side_text) + "'");
  const PositionSide side = side_text == "long" ? PositionSide::long_side : PositionSide::short_side;
  const std::string method = cl->get("--method", "hs");
  if (method != "hs" && method != "fhs")
    return usage_error(path, "--method takes hs or fhs, not '" + excerpt(method) + "'");
  auto ratio_option = [&](const char* name, const std::string& text) -> Result<Ratio> {
    auto raw = parse_decimal_raw(text);
    if (!raw || *raw <= 0 || *raw >= kScale)
      return make_error(
          ErrorKind::usage,
          std::string(name) + " takes a decimal strictly between 0 and 1, not '" + excerpt(text) + "'");
    return Ratio::from_raw(*raw);
  };
  auto alpha = ratio_option("--alpha", cl->get("--alpha"));
  if (!alpha) return usage_error(path, alpha.error());
  if (cl->has("--lambda") && method != "fhs") return usage_error(path, "--lambda is for --method fhs");
  auto lambda = ratio_option("--lambda", cl->get("--lambda", "0.94"));
  if (!lambda) return usage_error(path, lambda.error());

  if (Status st = require_regular_input(prices_path, "price log"); !st) return report_error(st.error());
  Symbols symbols;
  auto reader = EventFileReader::open(prices_path, symbols);
  if (!reader) return report_error(reader.error());
  std::vector<Price> prices;
  std::int64_t other = 0;
  InputEvent ev;
  for (;;) {
    auto more = reader->next(ev);
    if (!more) return report_error(more.error());
    if (!*more) break;
    const auto* p = std::get_if<PriceEvent>(&ev.body);
    if (p && symbols.name(p->asset) == asset)
      prices.push_back(p->price);
    else
      ++other;
  }
  if (prices.size() < 2)
    return report_error(make_file_error(ErrorKind::input, prices_path,
                                        "has " + std::to_string(prices.size()) + " price event" +
                                            (prices.size() == 1 ? "" : "s") + " of '" + excerpt(asset) +
                                            "': VaR needs at least two (one return)"));
  auto losses = simple_losses(prices, side);
  if (!losses) {
    Error e = losses.error();
    e.file = prices_path;
    return report_error(e);
  }
  if (method == "fhs") {
    auto scaled = fhs_losses(*losses, *lambda);
    if (!scaled) {
      Error e = scaled.error();
      e.file = prices_path;
      return report_error(e);
    }
    losses = std::move(*scaled);
  }
  auto stats = var_es(std::move(*losses), *alpha);
  if (!stats) return usage_error(path, stats.error());
  if (cl->has("--json")) {
    std::printf(
        "{\"asset\":%s,\"side\":\"%s\",\"method\":\"%s\",\"alpha\":\"%s\",\"lambda\":%s,\"prices\":%zu,"
        "\"n\":%lld,\"var\":\"%s\",\"es\":\"%s\",\"worst\":\"%s\",\"mean\":\"%s\"}\n",
        json_quote(asset).c_str(), side_text.c_str(), method.c_str(), alpha->str().c_str(),
        method == "fhs" ? ("\"" + lambda->str() + "\"").c_str() : "null", prices.size(),
        static_cast<long long>(stats->n), stats->var.str().c_str(), stats->es.str().c_str(),
        stats->worst.str().c_str(), stats->mean.str().c_str());
    return 0;
  }
  std::printf("liqsim stress var: %s %s, %s%s, alpha %s\n", printable(asset).c_str(), side_text.c_str(),
              method.c_str(), method == "fhs" ? (" (lambda " + lambda->str() + ")").c_str() : "",
              alpha->str().c_str());
  std::printf("  prices             %zu (%lld other events skipped)\n", prices.size(),
              static_cast<long long>(other));
  std::printf("  losses             %lld (simple returns, per unit of value)\n",
              static_cast<long long>(stats->n));
  std::printf("  VaR                %s\n", stats->var.str().c_str());
  std::printf("  ES                 %s\n", stats->es.str().c_str());
  std::printf("  worst loss         %s\n", stats->worst.str().c_str());
  std::printf("  mean loss          %s\n", stats->mean.str().c_str());
  return 0;
}

// What stress run and stress curve share: the inputs, --at, --jobs, --out.
struct StressOptions {
  StressRequest request;
  std::string out;
  Shard shard;  // stress run --shard I/N
  int jobs = 0;
  bool json = false;
  int progress = 2;
  int busy_timeout_ms = 5000;
};

Result<StressOptions> parse_stress_options(const ParsedOptions& cl, bool scenarios) {
  StressOptions o;
  StressRequest& r = o.request;
  r.config_path = cl.get("--config");
  r.events_path = cl.get("--events");
  r.label = cl.get("--label");
  o.out = cl.get("--out");
  for (const char* name : {"--config", "--events", "--out", "--scenarios"})
    if (cl.has(name) && cl.get(name).empty())
      return make_error(ErrorKind::usage, std::string("option ") + name + " needs a file name");
  if (!cl.operands().empty())
    if (Status st = scenario_folder_inputs(cl.operands().front(), r.config_path, r.events_path, r.label); !st)
      return st.error();
  if (r.config_path.empty()) return make_error(ErrorKind::usage, "missing --config (or a scenario folder)");
  if (r.events_path.empty()) return make_error(ErrorKind::usage, "missing --events (or a scenario folder)");
  if (r.label.empty()) r.label = r.events_path;
  if (scenarios) {
    r.scenarios_path = cl.get("--scenarios");
    if (r.scenarios_path.empty()) return make_error(ErrorKind::usage, "missing --scenarios S.json");
  }
  if (o.out == ":memory:" || o.out.rfind("file:", 0) == 0)
    return make_error(ErrorKind::usage,
                      "--out names a results database file (" + o.out + " would keep nothing)");
  if (cl.has("--at")) {
    auto at = cl.integer("--at", 0, 0, INT64_MAX / 2);
    if (!at) return at.error();
    r.at_seq = *at;
  }
  if (cl.has("--jobs")) {
    auto j = cl.integer("--jobs", 0, 1, 1024);
    if (!j) return j.error();
    o.jobs = static_cast<int>(*j);
  }
  if (o.jobs <= 0) o.jobs = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  if (cl.has("--busy-timeout")) {
    auto ms = cl.integer("--busy-timeout", o.busy_timeout_ms, 0, 3'600'000);
    if (!ms) return ms.error();
    o.busy_timeout_ms = static_cast<int>(*ms);
  }
  if (cl.has("--shard")) {
    auto shard = Shard::parse(cl.get("--shard"));
    if (!shard) return shard.error();
    o.shard = *shard;
  }
  o.json = cl.has("--json");
  o.progress = cl.has("--quiet") ? 0 : (cl.has("--progress") ? 1 : 2);
  if (!o.out.empty())
    for (const auto& [option, file] :
         {std::pair<const char*, std::string>{"--config", r.config_path},
          std::pair<const char*, std::string>{"--events", r.events_path},
          std::pair<const char*, std::string>{"--scenarios", r.scenarios_path}}) {
      if (file.empty()) continue;
      if (same_file(file, o.out))
        return make_error(ErrorKind::usage,
                          std::string("--out ") + o.out + " is the same file as " + option + " " + file);
      if (Status st = refuse_side_file(option, file, o.out); !st) return st.error();
    }
  return o;
}

// The options and their help are described in options.cpp ("stress run").
int stress_run(const Args& args) {
  const std::string path = "stress run";
  auto cl = parse_command_line(path, args, 2);
  if (!cl) return usage_error(path, cl.error());
  if (cl->help) return print_help(path);
  auto opts = parse_stress_options(*cl, true);
  if (!opts) return report_error(path, opts.error());
  const StressOptions& o = *opts;
  if (o.out.empty()) return usage_error(path, "missing --out R.sqlite");
  const std::int64_t started = wall_clock_ms();
  auto run = StressRun::prepare(o.request);
  if (!run) return report_error(path, run.error());
  const StressRun& r = **run;
  const Shard& shard = o.shard;
  if (shard.count > r.path_count())
    return usage_error(path, "--shard " + std::to_string(shard.index) + "/" + std::to_string(shard.count) +
                                 ": the run has " + std::to_string(r.path_count()) + " path" +
                                 (r.path_count() == 1 ? "" : "s") + ", fewer than the shards");
  // Every scenario's statistics are computed before anything is written:
  // a path that fails leaves no database behind.
  std::vector<ScenarioAccumulator> acc;
  for (std::size_t s = 0; s < r.scenarios().size(); ++s) acc.emplace_back(r.frame(), s);
  auto writer = StressWriter::open(o.out, r, "run", o.request.label, started, o.busy_timeout_ms, shard);
  if (!writer) return report_error(writer.error());
  const std::int64_t shard_paths = shard_path_count(r.path_count(), shard);
  PointProgress progress(shard_paths, o.progress);
  Status ran = run_stress(
      r, o.jobs,
      [&](PathResult& p) -> Status {
        if (Status st = (*writer)->add_path(p); !st) return st;
        acc[p.scenario].add(p);
        return {};
      },
      [&](std::int64_t done) { progress.update(done); }, shard);
  progress.finish();
  if (!ran) {
    (*writer)->abandon();
    return report_error(ran.error());
  }
  std::vector<ScenarioStats> stats;
  for (const ScenarioAccumulator& a : acc) {
    if (shard.count > 1) {  // the parts the merge needs, not statistics of a part
      if (Status w = (*writer)->add_shard_part(a); !w) {
        (*writer)->abandon();
        return report_error(w.error());
      }
      continue;
    }
    auto st = a.finish();
    if (!st) {
      (*writer)->abandon();
      return report_error(st.error());
    }
    if (Status w = (*writer)->add_scenario(*st); !w) {
      (*writer)->abandon();
      return report_error(w.error());
    }
    stats.push_back(std::move(*st));
  }
  auto id = (*writer)->finish(wall_clock_ms());
  if (!id) return report_error(id.error());
  if (shard.count > 1) {
    if (o.json) {
      std::printf(
          "{\"label\":%s,\"shard\":\"%lld/%lld\",\"paths\":%lld,\"shard_paths\":%lld,\"stress_id\":%lld}\n",
          json_quote(o.request.label).c_str(), static_cast<long long>(shard.index),
          static_cast<long long>(shard.count), static_cast<long long>(r.path_count()),
          static_cast<long long>(shard_paths), static_cast<long long>(*id));
    } else {
      std::printf("liqsim stress run: %s, shard %lld/%lld: %lld of %lld paths\n", o.request.label.c_str(),
                  static_cast<long long>(shard.index), static_cast<long long>(shard.count),
                  static_cast<long long>(shard_paths), static_cast<long long>(r.path_count()));
      std::printf(
          "  results database   %s (stress run %lld); 'liqsim stress merge OUT SHARD...' joins the %lld "
          "shards and computes the statistics\n",
          o.out.c_str(), static_cast<long long>(*id), static_cast<long long>(shard.count));
    }
    return 0;
  }
  if (o.json) {
    std::printf("%s\n", stress_json(r.frame(), stats, o.request.label).c_str());
  } else {
    std::printf("%s", stress_text(r.frame(), stats, o.request.label).c_str());
    std::printf("\n  results database   %s (stress run %lld)\n", o.out.c_str(), static_cast<long long>(*id));
  }
  return 0;
}

// The options and their help are described in options.cpp ("stress merge").
int stress_merge(const Args& args) {
  const std::string path = "stress merge";
  auto cl = parse_command_line(path, args, 2);
  if (!cl) return usage_error(path, cl.error());
  if (cl->help) return print_help(path);
  const std::vector<std::string>& ops = cl->operands();
  const std::string& out = ops.front();
  std::vector<std::string> inputs(ops.begin() + 1, ops.end());
  if (out.empty()) return usage_error(path, "OUT.sqlite is an empty name");
  if (out == ":memory:" || out.rfind("file:", 0) == 0)
    return usage_error(path, "OUT names a results database file (" + out + " would keep nothing)");
  int busy_timeout_ms = 5000;
  if (cl->has("--busy-timeout")) {
    auto ms = cl->integer("--busy-timeout", busy_timeout_ms, 0, 3'600'000);
    if (!ms) return usage_error(path, ms.error());
    busy_timeout_ms = static_cast<int>(*ms);
  }
  if (Status st = check_merge_inputs(out, inputs); !st) return report_error(path, st.error());
  auto merged = merge_stress_shards(out, inputs, busy_timeout_ms, wall_clock_ms());
  if (!merged) return report_error(path, merged.error());
  const StressMerged& m = **merged;
  if (cl->has("--json")) {
    std::printf("%s\n", stress_json(m.frame, m.stats, m.label).c_str());
  } else {
    std::printf("%s", stress_text(m.frame, m.stats, m.label).c_str());
    std::printf("\n  results database   %s (stress run %lld, merged from %zu shards)\n", out.c_str(),
                static_cast<long long>(m.id), inputs.size());
  }
  return 0;
}

// The options and their help are described in options.cpp ("stress curve").
int stress_curve(const Args& args) {
  const std::string path = "stress curve";
  auto cl = parse_command_line(path, args, 2);
  if (!cl) return usage_error(path, cl.error());
  if (cl->help) return print_help(path);
  auto opts = parse_stress_options(*cl, false);
  if (!opts) return report_error(path, opts.error());
  const StressOptions& o = *opts;
  auto ratio = [&](const char* name, const char* fallback, std::int64_t lo,
                   std::int64_t hi) -> Result<std::int64_t> {
    const std::string text = cl->get(name, fallback);
    auto raw = parse_decimal_raw(text);
    if (!raw || *raw < lo || *raw > hi)
      return make_error(ErrorKind::usage, std::string(name) + " takes a decimal from " +
                                              format_decimal_raw(lo) + " to " + format_decimal_raw(hi) +
                                              ", not '" + excerpt(text) + "'");
    return *raw;
  };
  auto step = ratio("--step", "0.01", 1'000, 50'000'000);
  if (!step) return usage_error(path, step.error());
  auto max = ratio("--max", "0.5", 1'000, 99'000'000);
  if (!max) return usage_error(path, max.error());
  if (*max / *step > 10'000) return usage_error(path, "--max / --step gives more than 10000 moves a side");
  std::vector<Ratio> moves;
  for (std::int64_t m = (*max / *step) * *step; m >= *step; m -= *step) moves.push_back(Ratio::from_raw(-m));
  for (std::int64_t m = *step; m <= *max; m += *step) moves.push_back(Ratio::from_raw(m));
  StressRequest request = o.request;
  const std::int64_t started = wall_clock_ms();
  auto run = StressRun::prepare(request);
  if (!run) return report_error(path, run.error());
  const StressRun& r = **run;
  auto curve = liquidation_curve(r, moves, o.jobs);
  if (!curve) return report_error(curve.error());
  std::int64_t id = 0;
  if (!o.out.empty()) {
    auto writer = StressWriter::open(o.out, r, "curve", o.request.label, started, o.busy_timeout_ms);
    if (!writer) return report_error(writer.error());
    if (Status st = (*writer)->add_curve(*curve); !st) return report_error(st.error());
    auto done = (*writer)->finish(wall_clock_ms());
    if (!done) return report_error(done.error());
    id = *done;
  }
  if (o.json) {
    std::printf("%s\n", curve_json(r, *curve, o.request.label).c_str());
  } else {
    std::printf("%s", curve_text(r, *curve, o.request.label).c_str());
    if (id)
      std::printf("  results database   %s (stress run %lld)\n", o.out.c_str(), static_cast<long long>(id));
  }
  return 0;
}

}  // namespace

int cmd_stress(const Args& args) {
  return dispatch(
      args, {{"run", stress_run}, {"merge", stress_merge}, {"curve", stress_curve}, {"var", stress_var}});
}

}  // namespace liqsim::cli
