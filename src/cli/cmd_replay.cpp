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
#include <cstdio>
#include <cstdlib>
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
#include "liqsim/replay.hpp"
#include "liqsim/replay_sinks.hpp"
#include "liqsim/results.hpp"
#include "liqsim/sweep.hpp"
#include "liqsim/validate.hpp"
#include "options.hpp"
#include "replay_support.hpp"

namespace liqsim::cli {

namespace {

// The options and their help are described in options.cpp ("replay").
struct Options {
  std::string dir, config, events, journal, out, report, label;
  std::vector<std::string> overrides;  // --set PATH=VALUE, in order
  std::int64_t at = -1;                // --at SEQ: the overrides as a governance change before event SEQ
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
    for (const Named& n : {Named{"--config", o.config}, Named{"--events", o.events},
                           Named{"--journal", o.journal}, Named{"--report", o.report}}) {
      if (n.path.empty()) continue;
      if (Status st = refuse_side_file(n.option, n.path, o.out); !st) return st;
    }
  }
  return {};
}

Result<Options> parse_options(const ParsedOptions& cl) {
  Options o;
  struct Text {
    const char* option;
    std::string* slot;
  };
  for (Text t : {Text{"--config", &o.config}, Text{"--events", &o.events}, Text{"--journal", &o.journal},
                 Text{"--out", &o.out}, Text{"--report", &o.report}, Text{"--label", &o.label}}) {
    *t.slot = cl.get(t.option);
    if (cl.has(t.option) && t.slot->empty() && t.slot != &o.label)
      return make_error(ErrorKind::usage, std::string("option ") + t.option + " needs a file name");
  }
  if (cl.has("--busy-timeout")) {
    auto ms = cl.integer("--busy-timeout", o.busy_timeout_ms, 0, 3'600'000);
    if (!ms)
      return make_error(ErrorKind::usage, "--busy-timeout takes milliseconds from 0 to 3600000, not '" +
                                              excerpt(cl.get("--busy-timeout")) + "'");
    o.busy_timeout_ms = static_cast<int>(*ms);
  }
  o.overrides = cl.all("--set");
  if (cl.has("--at")) {
    auto at = cl.integer("--at", 0, 0, INT64_MAX / 2);
    if (!at) return at.error();
    if (o.overrides.empty())
      return make_error(ErrorKind::usage,
                        "--at says when the --set overrides apply: give at least one --set");
    o.at = *at;
  }
  o.json = cl.has("--json");
  o.check = cl.has("--check");
  o.reference_scan = cl.has("--reference-scan");
  o.progress = cl.has("--progress");
  o.quiet = cl.has("--quiet");
  if (!cl.operands().empty()) {
    o.dir = cl.operands().front();
    if (o.dir.empty()) return make_error(ErrorKind::usage, "the scenario folder is an empty name");
  }
  if (!o.dir.empty())
    if (Status st = scenario_folder_inputs(o.dir, o.config, o.events, o.label); !st) return st.error();
  if (o.config.empty()) return make_error(ErrorKind::usage, "missing --config (or a scenario folder)");
  if (o.events.empty()) return make_error(ErrorKind::usage, "missing --events (or a scenario folder)");
  if (!o.report.empty() && o.out.empty()) return make_error(ErrorKind::usage, "--report needs --out");
  if (o.out == ":memory:" || o.out.rfind("file:", 0) == 0)
    return make_error(ErrorKind::usage,
                      "--out names a results database file (" + o.out + " would keep nothing)");
  if (o.label.empty()) o.label = o.events;
  if (Status st = check_distinct_files(o); !st) return st.error();
  return o;
}

// An error of the event being replayed (or read) gets the log's name and,
// for JSON Lines, the line it is on.
Error located(Error e, const EventFileReader& reader) {
  e.file = reader.path();
  if (e.seq >= 0 && !reader.binary()) e.line = reader.line();
  return e;
}

}  // namespace

int cmd_replay(const Args& args) {
  auto command_line = parse_command_line("replay", args, 1);
  if (!command_line) return usage_error("replay", command_line.error());
  if (command_line->help) return print_help("replay");
  auto opts = parse_options(*command_line);
  if (!opts) return usage_error("replay", opts.error());
  const Options& o = *opts;

  if (Status st = require_regular_input(o.config, "configuration"); !st) return report_error(st.error());
  auto config = load_config(o.config);
  if (!config) return report_error(config.error());
  // The overrides change the document before anything is read or replayed;
  // the run records the changed document (runs.config_json).
  // With --at they are a governance change at that event instead
  // (overrides_as_params, as `liqsim sweep --at` applies them).
  // (With --at they are checked where they apply: the configuration in
  // force at SEQ may accept what the base refuses.)
  if (!o.overrides.empty() && o.at < 0) {
    config = apply_overrides(config->document, o.overrides, o.config);
    if (!config) return report_error("replay", config.error());
  }

  // The log is streamed: each event is read, checked against the
  // configuration (EventValidator) and applied, so memory does not grow with
  // the log. Every output is a temporary file (or an uncommitted
  // transaction) until the whole log has replayed, so a log that turns out
  // bad at its last line still changes nothing. A journal streamed into a
  // pipe or device cannot be taken back: then the log is read and checked
  // once first, and replayed only if all of it is good.
  Symbols symbols;
  auto opened = EventFileReader::open(o.events, symbols);
  if (!opened) return report_error(opened.error());
  std::optional<EventFileReader> reader(std::move(*opened));

  // Outputs are opened before anything is replayed (a name that cannot be
  // written is refused first) and published only after the whole run: the
  // journal is made durable, the run committed, then the journal renamed.
  if (!o.report.empty()) {
    if (auto target = resolve_output(o.report); !target) return report_error(target.error());
  }
  std::unique_ptr<JournalSink> journal;
  if (!o.journal.empty()) {
    auto sink = JournalSink::open(o.journal, symbols);
    if (!sink) return report_error(sink.error());
    journal = std::move(*sink);
  }
  std::string checked_sha256;  // of the log as the first pass read it
  if (journal && journal->streaming()) {
    EventValidator validator(*config, symbols);
    // With --at, the configuration the overrides meet there (the log's
    // params applied in order) and the governance params they become are
    // checked too.
    Config current = *config;
    auto governance = [&](std::int64_t ts, std::int64_t& seq) -> Status {
      auto params = overrides_as_params(current, o.overrides, o.config);
      if (!params) {
        Error e = params.error();
        e.message = "--at " + std::to_string(o.at) + ": " + e.message;
        return e;
      }
      for (const ParamEvent& p : *params) {
        if (Status st = validator.check(InputEvent{ts, p}, seq++); !st) return st;
        (void)apply_param_in_place(current, p.path, p.value_json);
      }
      return {};
    };
    InputEvent ev;
    std::int64_t log_events = 0, last_ts = 0;
    for (std::int64_t seq = 0;; ++seq) {
      auto more = reader->next(ev);
      if (!more) return report_error(more.error());
      if (!*more) break;
      if (log_events == o.at)
        if (Status st = governance(ev.ts_ms, seq); !st) return report_error("replay", st.error());
      if (Status st = validator.check(ev, seq); !st) return report_error(located(st.error(), *reader));
      if (const auto* p = std::get_if<ParamEvent>(&ev.body))
        (void)apply_param_in_place(current, p->path, p->value_json);
      else if (const auto* l = std::get_if<LiquidityEvent>(&ev.body))
        (void)apply_param_in_place(current, "markets." + symbols.name(l->market) + ".depth",
                                   "\"" + l->depth.str() + "\"");
      ++log_events;
      last_ts = ev.ts_ms;
    }
    if (o.at >= 0 && o.at == log_events) {
      std::int64_t seq = log_events;
      if (Status st = governance(last_ts, seq); !st) return report_error("replay", st.error());
    }
    if (o.at > log_events)
      return report_error(
          "replay", make_error(ErrorKind::usage, "--at " + std::to_string(o.at) + ": the log has " +
                                                     std::to_string(log_events) + " events; --at takes 0.." +
                                                     std::to_string(log_events)));
    checked_sha256 = reader->sha256_hex();
    reader.reset();
    auto again = EventFileReader::open(o.events, symbols);
    if (!again) return report_error(again.error());
    reader.emplace(std::move(*again));
  }
  std::unique_ptr<ResultsSink> results;
  if (!o.out.empty()) {
    ResultsOptions results_options;
    results_options.busy_timeout_ms = o.busy_timeout_ms;
    auto db = ResultsDb::open(o.out, results_options);
    if (!db) return report_error(db.error());
    RunInfo info;
    info.label = o.label;
    info.config_json = config->document.dump();
    info.events_path = o.events;
    info.engine_version = "liqsim 0.1.0";
    info.started_unix_ms = wall_clock_ms();
    results = std::make_unique<ResultsSink>(std::move(*db), std::move(info), symbols, wall_clock_ms);
  }

  ReplayOptions ro;
  ro.engine.reference_scan = o.reference_scan;
  ro.engine.check_ledger = o.check;
  Replay replay(*config, symbols, ro);
  if (journal) replay.add_sink(*journal);
  if (results) replay.add_sink(*results);
  Progress progress(reader->file_size(),
                    o.quiet ? Progress::off : (o.progress ? Progress::on : Progress::automatic));

  auto failed = [&](Error e) {
    replay.abandon();
    if (e.seq >= 0 || (e.kind == ErrorKind::input && e.file.empty())) e = located(std::move(e), *reader);
    return report_error(e);
  };
  {
    EventValidator validator(*config, symbols);
    InputEvent ev;
    std::int64_t log_events = 0, last_ts = 0;
    // --at: the overrides as param events with the ts of the event they
    // precede (the last event's at the end), checked and applied like the
    // log's own.
    auto governance = [&](std::int64_t ts) -> Status {
      auto params = overrides_as_params(replay.config(), o.overrides, o.config);
      if (!params) {
        Error e = params.error();
        e.message = "--at " + std::to_string(o.at) + ": " + e.message;
        return e;
      }
      for (const ParamEvent& p : *params) {
        InputEvent pe{ts, p};
        if (Status st = validator.check(pe, replay.next_seq()); !st) return st;
        if (Status st = replay.apply(pe); !st) return st;
      }
      return {};
    };
    for (;;) {
      auto more = reader->next(ev);
      if (!more) return failed(more.error());
      if (!*more) break;
      if (log_events == o.at)
        if (Status st = governance(ev.ts_ms); !st) return failed(st.error());
      if (Status st = validator.check(ev, replay.next_seq()); !st) return failed(st.error());
      if (Status st = replay.apply(ev); !st) return failed(st.error());
      ++log_events;
      last_ts = ev.ts_ms;
      progress.tick(replay.next_seq(), reader->bytes_read());
    }
    if (o.at >= 0 && o.at == log_events)
      if (Status st = governance(last_ts); !st) return failed(st.error());
    if (o.at > log_events)
      return failed(make_error(ErrorKind::usage, "--at " + std::to_string(o.at) + ": the log has " +
                                                     std::to_string(log_events) + " events; --at takes 0.." +
                                                     std::to_string(log_events)));
  }
  progress.finish(replay.next_seq());
  const std::string warning = reader->warning();
  // The checksum of the bytes replayed, taken as they were read.
  const std::string events_sha256 = reader->sha256_hex();
  if (!checked_sha256.empty() && checked_sha256 != events_sha256)
    return failed(make_file_error(ErrorKind::io, o.events,
                                  "changed while it was being replayed (its SHA-256 differs between the "
                                  "check and the replay): nothing was published"));
  if (results) results->set_events_sha256(events_sha256);
  if (!warning.empty()) std::fprintf(stderr, "liqsim: warning: %s\n", printable(warning).c_str());
  if (Status ledger = replay.engine().check_ledger(); !ledger) return failed(ledger.error());
  // Everything printed or stored is computed before any output is published.
  auto result = replay.finish();
  if (!result) return failed(result.error());
  if (Status st = replay.publish(); !st) return failed(st.error());

  std::vector<std::string> lines;
  if (journal) lines.push_back("  journal            " + journal->path());
  if (results) {
    lines.push_back("  results database   " + o.out + " (run " + std::to_string(results->run_id()) + ")");
    if (!o.report.empty()) {
      int rc = cmd_report({"report", o.out, "-o", o.report});
      // cmd_report has printed why.
      if (rc != 0)
        return report_error(make_file_error(
            ErrorKind::io, o.report,
            "the report was not written (the run is in " + o.out + "; 'liqsim report' draws it)"));
      lines.push_back("  report             " + o.report);
    }
  }
  if (o.json) {
    std::printf("%s\n", result->json().c_str());
  } else {
    std::printf("%s", result->text(o.label).c_str());
    for (const auto& line : lines) std::printf("%s\n", line.c_str());
  }
  return 0;
}

}  // namespace liqsim::cli
