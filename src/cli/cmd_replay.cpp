// liqsim replay — replays an event log through the engine (CONTRACT §5).
//
// Order of work: load and validate the configuration, read and validate the
// whole log against it (nothing is replayed if anything is wrong), replay,
// then publish outputs. Outputs are written to temporary files and renamed
// only after the replay succeeded, so a failed replay changes nothing.
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "commands.hpp"
#include "liqsim/config.hpp"
#include "liqsim/engine.hpp"
#include "liqsim/input_file.hpp"
#include "liqsim/json.hpp"
#include "liqsim/jsonl.hpp"
#include "liqsim/log.hpp"
#include "liqsim/metrics.hpp"
#include "liqsim/output_file.hpp"
#include "liqsim/results.hpp"
#include "replay_support.hpp"

namespace liqsim::cli {

namespace {

constexpr const char* kOverflowHint =
    ": an amount of this event, or a balance or total it changes, is outside the fixed-point range of "
    "±92233720368.54775807";

const char* kReplayHelp =
    "usage: liqsim replay --config C --events E [options]\n"
    "       liqsim replay DIR [options]     (DIR/config.json and DIR/events.evlog or DIR/events.jsonl)\n"
    "\n"
    "options:\n"
    "  --json              print the summary as one JSON object on stdout\n"
    "  --journal J.jsonl   write the derived events as JSON Lines\n"
    "  --out R.sqlite      add this run to a results database\n"
    "  --report R.html     also write an HTML report of this run (needs --out)\n"
    "  --label NAME        the run's label in the results database\n"
    "  --busy-timeout MS   wait up to MS milliseconds for another writer of the results database (default 5000)\n"
    "  --check             verify the double-entry ledger after every event\n"
    "  --reference-scan    evaluate every account after every event (slow; for differential tests)\n"
    "  --progress          force the progress bar (default: only when stderr is a terminal)\n"
    "  --quiet             no progress bar\n";

struct Options {
  std::string dir, config, events, journal, out, report, label;
  bool json = false, check = false, reference_scan = false, progress = false, quiet = false;
  int busy_timeout_ms = ResultsOptions{}.busy_timeout_ms;
};

// An output may not be an input or another output: `--journal events.jsonl`
// would replace the log being replayed, `--journal R.sqlite --out R.sqlite`
// the database. Outputs streamed into a device or pipe are exempt.
Status check_distinct_files(const Options& o) {
  struct Named {
    const char* option;
    std::string path;
  };
  std::vector<Named> inputs = {{"--config", o.config}, {"--events", o.events}};
  std::vector<Named> outputs;
  for (const Named& n : {Named{"--journal", o.journal}, Named{"--out", o.out}, Named{"--report", o.report}}) {
    if (n.path.empty()) continue;
    auto target = resolve_output(n.path);
    if (target && target->stream) continue;
    outputs.push_back(n);
  }
  for (std::size_t i = 0; i < outputs.size(); ++i) {
    for (const Named& in : inputs)
      if (same_file(outputs[i].path, in.path))
        return make_error(ErrorKind::usage, std::string(outputs[i].option) + " " + outputs[i].path +
                                                " is the same file as " + in.option + " " + in.path);
    for (std::size_t j = 0; j < i; ++j)
      if (same_file(outputs[i].path, outputs[j].path))
        return make_error(ErrorKind::usage, std::string(outputs[i].option) + " and " + outputs[j].option +
                                                " name the same file " + outputs[i].path);
  }
  // SQLite keeps a journal (or WAL and shared memory) beside the database and
  // deletes it as a hot journal on the next open: no other file may be one.
  if (!o.out.empty()) {
    for (const Named& n : {Named{"--config", o.config}, Named{"--events", o.events}, Named{"--journal", o.journal},
                           Named{"--report", o.report}}) {
      if (n.path.empty()) continue;
      if (Status st = refuse_side_file(n.option, n.path, o.out); !st) return st;
    }
  }
  return {};
}

Result<Options> parse_options(const Args& args) {
  Options o;
  for (std::size_t i = 1; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&](std::string& slot) -> Status {
      if (i + 1 >= args.size()) return make_error(ErrorKind::usage, "option " + a + " needs a value");
      slot = args[++i];
      if (slot.empty() && a != "--label") return make_error(ErrorKind::usage, "option " + a + " needs a file name");
      return {};
    };
    Status st;
    if (a == "--config") st = value(o.config);
    else if (a == "--events") st = value(o.events);
    else if (a == "--journal") st = value(o.journal);
    else if (a == "--out") st = value(o.out);
    else if (a == "--report") st = value(o.report);
    else if (a == "--label") st = value(o.label);
    else if (a == "--busy-timeout") {
      std::string ms;
      st = value(ms);
      if (st) {
        char* end = nullptr;
        errno = 0;
        long v = std::strtol(ms.c_str(), &end, 10);
        if (errno != 0 || end == ms.c_str() || *end != '\0' || v < 0 || v > 3'600'000)
          return make_error(ErrorKind::usage, "--busy-timeout takes milliseconds from 0 to 3600000, not '" + ms + "'");
        o.busy_timeout_ms = static_cast<int>(v);
      }
    }
    else if (a == "--json") o.json = true;
    else if (a == "--check") o.check = true;
    else if (a == "--reference-scan") o.reference_scan = true;
    else if (a == "--progress") o.progress = true;
    else if (a == "--quiet") o.quiet = true;
    else if (!a.empty() && a[0] == '-') return make_error(ErrorKind::usage, "unknown option '" + a + "'");
    else if (o.dir.empty()) o.dir = a;
    else return make_error(ErrorKind::usage, "unexpected argument '" + a + "'");
    if (!st) return st.error();
  }
  if (!o.dir.empty()) {
    if (!o.config.empty() || !o.events.empty())
      return make_error(ErrorKind::usage, "give either a scenario folder or --config and --events, not both");
    o.config = o.dir + "/config.json";
    struct stat sb {};
    const bool binary = ::stat((o.dir + "/events.evlog").c_str(), &sb) == 0;
    const bool jsonl = ::stat((o.dir + "/events.jsonl").c_str(), &sb) == 0;
    if (binary && jsonl)
      return make_error(ErrorKind::usage, o.dir +
                                              " holds both events.evlog and events.jsonl: remove one, or name the "
                                              "log with --config and --events");
    o.events = o.dir + (binary ? "/events.evlog" : "/events.jsonl");
    if (o.label.empty()) {
      std::string d = o.dir;
      while (d.size() > 1 && d.back() == '/') d.pop_back();
      auto slash = d.rfind('/');
      o.label = slash == std::string::npos ? d : d.substr(slash + 1);
    }
  }
  if (o.config.empty()) return make_error(ErrorKind::usage, "missing --config (or a scenario folder)");
  if (o.events.empty()) return make_error(ErrorKind::usage, "missing --events (or a scenario folder)");
  if (!o.report.empty() && o.out.empty()) return make_error(ErrorKind::usage, "--report needs --out");
  if (o.out == ":memory:" || o.out.rfind("file:", 0) == 0)
    return make_error(ErrorKind::usage, "--out names a results database file (" + o.out + " would keep nothing)");
  if (o.label.empty()) o.label = o.events;
  if (Status st = check_distinct_files(o); !st) return st.error();
  return o;
}

}  // namespace

int cmd_replay(const Args& args) {
  for (const auto& a : args)
    if (a == "--help" || a == "-h") {
      std::fputs(kReplayHelp, stdout);
      return 0;
    }
  auto opts = parse_options(args);
  if (!opts) return usage_error(opts.error().message);
  const Options& o = *opts;

  if (Status st = require_regular_input(o.config, "configuration"); !st) return report_error(st.error());
  auto config = load_config(o.config);
  if (!config) return report_error(config.error());

  Symbols symbols;
  std::string warning;
  std::string events_sha256;
  auto events = read_event_log(o.events, symbols, &warning, &events_sha256);
  if (!events) return report_error(events.error());
  if (!warning.empty()) std::fprintf(stderr, "liqsim: warning: %s\n", printable(warning).c_str());

  Status valid = validate_events(*config, symbols, *events);
  if (!valid) return report_error(locate_event_error(valid.error(), o.events));

  ReplayOutputs outputs;
  ResultsOptions results_options;
  results_options.busy_timeout_ms = o.busy_timeout_ms;
  Status opened = outputs.open(o.journal, o.out, o.report, results_options);
  if (!opened) return report_error(opened.error());

  RunInfo info;
  info.label = o.label;
  info.config_json = config->document.dump();
  info.events_path = o.events;
  info.events_sha256 = events_sha256;  // of the bytes replayed, hashed as they were read
  info.engine_version = "liqsim 0.1.0";
  info.started_unix_ms = wall_clock_ms();

  EngineOptions eo;
  eo.reference_scan = o.reference_scan;
  eo.check_ledger = o.check;
  Engine engine(*config, symbols, eo);
  MetricsCollector metrics(engine.config(), symbols);
  Status begun = outputs.begin(info, symbols);
  if (!begun) return report_error(begun.error());

  Progress progress(events->size(), o.quiet ? Progress::off : (o.progress ? Progress::on : Progress::automatic));
  std::vector<DerivedEvent> derived;
  for (std::size_t i = 0; i < events->size(); ++i) {
    const InputEvent& ev = (*events)[i];
    auto seq = static_cast<std::int64_t>(i);
    derived.clear();
    try {
      engine.apply(ev, seq, derived);
    } catch (const OverflowError& ex) {
      outputs.abandon();
      Error e = make_error(ErrorKind::input, std::string(ex.what()) + kOverflowHint);
      e.seq = seq;
      return report_error(locate_event_error(e, o.events));
    }
    metrics.observe(ev, seq, derived, engine);
    Status st = outputs.write(ev, seq, derived, engine, symbols);
    if (!st) {
      outputs.abandon();
      return report_error(st.error());
    }
    progress.tick(i + 1);
  }
  progress.finish();

  Status ledger = engine.check_ledger();
  if (!ledger) {
    outputs.abandon();
    return report_error(ledger.error());
  }
  // Everything printed or stored is computed before any output is published.
  Summary summary;
  ExtraFields extra;
  Result<std::vector<std::string>> published = std::vector<std::string>{};
  try {
    summary = engine.summary();
    extra = metrics.summary_fields(engine);
    published = outputs.publish(summary, metrics, engine);
  } catch (const OverflowError& ex) {
    outputs.abandon();
    return report_error(make_file_error(ErrorKind::input, o.events,
                                        std::string(ex.what()) + " in the run's totals" + kOverflowHint));
  }
  if (!published) return report_error(published.error());
  if (o.json) {
    std::printf("%s\n", summary_json(summary, extra).c_str());
  } else {
    std::printf("%s", summary_text(summary, extra, o.label).c_str());
    for (const auto& line : *published) std::printf("%s\n", line.c_str());
  }
  return 0;
}

}  // namespace liqsim::cli
