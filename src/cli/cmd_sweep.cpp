// liqsim sweep — one replay per grid point into one results database
// (sweep.hpp); liqsim results merge — the shards of a sweep joined.
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <thread>

#include "commands.hpp"
#include "liqsim/input_file.hpp"
#include "liqsim/results.hpp"
#include "liqsim/sweep.hpp"
#include "options.hpp"
#include "replay_support.hpp"
#include "sweep_options.hpp"

namespace liqsim::cli {

Result<SweepOptions> parse_sweep_options(const Args& args, bool& help) {
  auto cl = parse_command_line("sweep", args, 1);
  if (!cl) return cl.error();
  help = cl->help;
  SweepOptions o;
  if (help) return o;
  SweepRequest& r = o.request;
  r.config_path = cl->get("--config");
  r.events_path = cl->get("--events");
  o.out = cl->get("--out");
  r.label = cl->get("--label");
  for (const char* name : {"--config", "--events", "--out", "--grid-file"})
    if (cl->has(name) && cl->get(name).empty())
      return make_error(ErrorKind::usage, std::string("option ") + name + " needs a file name");
  if (!cl->operands().empty()) {
    if (Status st = scenario_folder_inputs(cl->operands().front(), r.config_path, r.events_path, r.label);
        !st)
      return st.error();
  }
  if (r.config_path.empty()) return make_error(ErrorKind::usage, "missing --config (or a scenario folder)");
  if (r.events_path.empty()) return make_error(ErrorKind::usage, "missing --events (or a scenario folder)");
  if (r.label.empty()) r.label = r.events_path;
  if (o.out == ":memory:" || o.out.rfind("file:", 0) == 0)
    return make_error(ErrorKind::usage,
                      "--out names a results database file (" + o.out + " would keep nothing)");
  for (const std::string& text : cl->all("--grid")) {
    auto axis = parse_grid_option(text);
    if (!axis) return axis.error();
    r.axes.push_back(std::move(*axis));
  }
  r.zip = cl->has("--zip");
  if (cl->has("--grid-file")) {
    const std::string g = cl->get("--grid-file");
    if (same_file(g, o.out))
      return make_error(ErrorKind::usage, "--grid-file " + g + " is the same file as --out " + o.out);
    auto file = load_grid_file(g);
    if (!file) return file.error();
    for (GridAxis& a : file->axes) r.axes.push_back(std::move(a));
    if (file->zip_given) {
      if (cl->has("--zip") && !file->zip)
        return make_error(ErrorKind::usage, "--zip is given but " + g + " says \"zip\": false");
      r.zip = file->zip;
    }
  }
  if (r.axes.empty())
    return make_error(ErrorKind::usage, "nothing to sweep: give --grid PATH=V1,V2,... or --grid-file G.json");
  if (cl->has("--jobs")) {
    auto j = cl->integer("--jobs", 0, 1, 1024);
    if (!j) return j.error();
    o.jobs = static_cast<int>(*j);
  }
  if (cl->has("--shard")) {
    auto s = Shard::parse(cl->get("--shard"));
    if (!s) return s.error();
    r.shard = *s;
  }
  if (cl->has("--at")) {
    auto at = cl->integer("--at", 0, 0, INT64_MAX / 2);
    if (!at) return at.error();
    r.at_seq = *at;
  }
  if (cl->has("--busy-timeout")) {
    auto ms = cl->integer("--busy-timeout", o.busy_timeout_ms, 0, 3'600'000);
    if (!ms) return ms.error();
    o.busy_timeout_ms = static_cast<int>(*ms);
  }
  if (cl->has("--rows")) {
    const std::string rows = cl->get("--rows");
    if (rows != "all" && rows != "summary")
      return make_error(ErrorKind::usage, "--rows takes all or summary, not '" + excerpt(rows) + "'");
    r.detail_rows = rows == "all";
  }
  o.json = cl->has("--json");
  o.progress = cl->has("--quiet") ? 0 : (cl->has("--progress") ? 1 : 2);
  // The database may not be an input, nor where SQLite keeps its side files.
  for (const auto& [option, path] : {std::pair<const char*, std::string>{"--config", r.config_path},
                                     std::pair<const char*, std::string>{"--events", r.events_path}}) {
    if (same_file(path, o.out))
      return make_error(ErrorKind::usage,
                        std::string("--out ") + o.out + " is the same file as " + option + " " + path);
    if (Status st = refuse_side_file(option, path, o.out); !st) return st.error();
  }
  return o;
}

void print_sweep_output(const SweepOptions& options, const std::vector<GridAxis>& axes,
                        const std::vector<PointRecord>& records, std::int64_t sweep_id) {
  if (options.json) {
    for (const PointRecord& r : records) std::printf("%s\n", point_json(r).c_str());
    return;
  }
  std::printf("liqsim sweep: %s, %zu points", options.request.label.c_str(), records.size());
  if (options.request.shard.count > 1)
    std::printf(" (shard %lld/%lld)", static_cast<long long>(options.request.shard.index),
                static_cast<long long>(options.request.shard.count));
  if (options.request.at_seq >= 0)
    std::printf(", forked before event %lld", static_cast<long long>(options.request.at_seq));
  std::printf("\n%s", sweep_table(axes, records).c_str());
  std::printf("  results database   %s (sweep %lld", options.out.c_str(), static_cast<long long>(sweep_id));
  if (!records.empty())
    std::printf(", runs %lld..%lld", static_cast<long long>(records.front().run_id),
                static_cast<long long>(records.back().run_id));
  std::printf(")\n");
}

PointProgress::PointProgress(std::int64_t total, int mode)
    : total_(total), enabled_(mode == 1 || (mode == 2 && ::isatty(2) != 0)), start_ms_(wall_clock_ms()) {}

void PointProgress::update(std::int64_t done) {
  if (!enabled_) return;
  const std::int64_t now = wall_clock_ms();
  if (done < total_ && last_ms_ >= 0 && now - last_ms_ < 200) return;
  last_ms_ = now;
  const double secs = static_cast<double>(now - start_ms_) / 1000.0;
  const double rate = secs > 0 ? static_cast<double>(done) / secs : 0.0;
  const double eta = rate > 0 ? static_cast<double>(total_ - done) / rate : 0.0;
  std::fprintf(stderr, "\r  points %lld/%lld  %.2f/s  ETA %.0f s   ", static_cast<long long>(done),
               static_cast<long long>(total_), rate, eta);
  std::fflush(stderr);
}

void PointProgress::finish() {
  if (!enabled_) return;
  std::fprintf(stderr, "\n");
}

int cmd_sweep(const Args& args) {
  bool help = false;
  auto opts = parse_sweep_options(args, help);
  if (!opts) return report_error("sweep", opts.error());
  if (help) return print_help("sweep");
  const SweepOptions& o = *opts;
  auto sweep = Sweep::prepare(o.request);
  if (!sweep) return report_error("sweep", sweep.error());
  const Sweep& s = **sweep;
  ResultsOptions ro;
  ro.busy_timeout_ms = o.busy_timeout_ms;
  auto writer = SweepWriter::open(o.out, s.record(), ro);
  if (!writer) return report_error(writer.error());
  std::vector<PointRecord> records;
  if (s.has_prefix()) {
    auto prefix = s.run_prefix();
    if (!prefix) return report_error(prefix.error());
    if (Status st = (*writer)->add(*prefix); !st) return report_error(st.error());
  }
  int jobs = o.jobs;
  if (jobs <= 0) jobs = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  PointProgress progress(static_cast<std::int64_t>(s.points().size()), o.progress);
  Status ran = run_sweep(
      s, jobs,
      [&](PointRecord& rec) -> Status {
        if (Status st = (*writer)->add(rec); !st) return st;
        records.push_back(std::move(rec));
        return {};
      },
      [&](std::int64_t done) { progress.update(done); }, writer->get());
  progress.finish();
  if (!ran) {
    (*writer)->abandon();
    return report_error(ran.error());
  }
  auto id = (*writer)->finish(wall_clock_ms());
  if (!id) return report_error(id.error());
  print_sweep_output(o, o.request.axes, records, *id);
  return 0;
}

namespace {

int results_merge(const Args& args) {
  const std::string path = "results merge";
  auto cl = parse_command_line(path, args, 2);
  if (!cl) return usage_error(path, cl.error());
  if (cl->help) return print_help(path);
  const std::vector<std::string>& ops = cl->operands();
  const std::string& out = ops.front();
  std::vector<std::string> inputs(ops.begin() + 1, ops.end());
  if (out.empty()) return usage_error(path, "OUT.sqlite is an empty name");
  ResultsOptions ro;
  if (cl->has("--busy-timeout")) {
    auto ms = cl->integer("--busy-timeout", ro.busy_timeout_ms, 0, 3'600'000);
    if (!ms) return usage_error(path, ms.error());
    ro.busy_timeout_ms = static_cast<int>(*ms);
  }
  if (Status st = check_merge_inputs(out, inputs); !st) return report_error(path, st.error());
  auto db = ResultsDb::open(out, ro);
  if (!db) return report_error(db.error());
  auto id = (*db)->merge_shards(inputs);
  if (!id) return report_error(path, id.error());
  std::printf("liqsim results merge: %zu shards into %s (sweep %lld)\n", inputs.size(), out.c_str(),
              static_cast<long long>(*id));
  return 0;
}

}  // namespace

int cmd_results(const Args& args) { return dispatch(args, {{"merge", results_merge}}); }

}  // namespace liqsim::cli
