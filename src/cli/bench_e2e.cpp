// bench_e2e.cpp — `liqsim bench`'s end-to-end section: what a user runs.
//
// Each row is `liqsim replay` itself, run as a child process (this same
// binary, /proc/self/exe) on files written to a scratch directory: its wall
// time from fork to exit, events/s, ns/event, and its peak RSS (wait4's
// ru_maxrss). Beside it, the engine-only figure: the same events through a
// Replay in this process with no metrics, no sink and no file (the figures of
// the table above). "× engine" is the end-to-end ns/event over the engine's.
// Rows:
//   quiet ticks at 1e3 accounts (1e7 ticks, 1e6 with --quick), from JSON
//   Lines and from the binary log (`liqsim log convert` of the same file);
//   the flagship (replays/eth-2020-03-12, or --flagship DIR) with --json
//   only, with --journal, with --out, and with --out --report;
//   a crash at 1e6 accounts from JSON Lines (not with --quick).
#include "bench_e2e.hpp"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "liqsim/jsonl.hpp"
#include "liqsim/log.hpp"
#include "liqsim/replay.hpp"
#include "liqsim/stress_run.hpp"
#include "liqsim/workload.hpp"

namespace liqsim::cli {

namespace {

double now_s() {
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}

struct ChildRun {
  bool ok = false;
  double seconds = 0;
  double peak_mb = 0;
};

// Runs `liqsim ARGS...` (this binary) with stdout and stderr to `log`.
ChildRun run_liqsim(const std::vector<std::string>& args, const std::string& log) {
  ChildRun r;
  std::vector<char*> argv;
  static char name[] = "liqsim";
  argv.push_back(name);
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::fflush(nullptr);
  const double t0 = now_s();
  const pid_t pid = fork();
  if (pid < 0) return r;
  if (pid == 0) {
    const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
      close(fd);
    }
    execv("/proc/self/exe", argv.data());
    _exit(127);
  }
  int status = 0;
  struct rusage ru {};
  if (wait4(pid, &status, 0, &ru) != pid) return r;
  r.seconds = now_s() - t0;
  r.peak_mb = static_cast<double>(ru.ru_maxrss) / 1024.0;
  r.ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  return r;
}

// The engine alone over `events`: seconds.
double engine_only_seconds(const Config& config, Symbols& symbols, const std::vector<InputEvent>& events) {
  ReplayOptions o;
  o.metrics = false;
  Replay r(config, symbols, o);
  const double t0 = now_s();
  Status st = r.run(events, 0, events.size());
  const double t = now_s() - t0;
  LIQSIM_ASSERT(st.ok(), "a bench workload stays inside the fixed-point range");
  return t;
}

bool write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  return static_cast<bool>(out);
}

bool write_jsonl(const std::string& path, const std::vector<InputEvent>& events, const Symbols& symbols) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  std::string buf;
  buf.reserve(1 << 20);
  for (const InputEvent& e : events) {
    buf += encode_event(e, symbols);
    buf += '\n';
    if (buf.size() > (1 << 20) - 4096) {
      out << buf;
      buf.clear();
    }
  }
  out << buf;
  return static_cast<bool>(out);
}

struct Printer {
  void header() const {
    std::printf("%-44s %10s %11s %9s %9s %10s %9s\n", "end to end (liqsim replay, from a file)", "events",
                "events/s", "ns/event", "peak MB", "engine ns", "x engine");
  }
  void row(const std::string& what, std::size_t events, const ChildRun& r, double engine_s) const {
    if (!r.ok) {
      std::printf("%-44s %10zu   failed (see the scratch log)\n", what.c_str(), events);
      return;
    }
    const double ns = r.seconds * 1e9 / static_cast<double>(events);
    const double engine_ns = engine_s * 1e9 / static_cast<double>(events);
    std::printf("%-44s %10zu %11.0f %9.1f %9.1f %10.1f %8.1fx\n", what.c_str(), events,
                static_cast<double>(events) / r.seconds, ns, r.peak_mb, engine_ns, ns / engine_ns);
    std::fflush(stdout);
  }
};

}  // namespace

int bench_sweeps(const EndToEndOptions& opt, const std::string& dir, const std::string& log);
int bench_stress(const EndToEndOptions& opt, const std::string& dir, const std::string& log);

int bench_end_to_end(const EndToEndOptions& opt) {
  namespace fs = std::filesystem;
  char tmpl[] = "/tmp/liqsim-bench-XXXXXX";
  const char* dir_c = mkdtemp(tmpl);
  if (!dir_c) {
    std::perror("liqsim: bench: mkdtemp");
    return 2;
  }
  const std::string dir = dir_c;
  const std::string log = dir + "/child.log";
  Printer p;
  p.header();
  int rc = 0;
  auto check = [&](const ChildRun& r) {
    if (!r.ok) {
      rc = 2;
      std::fprintf(stderr, "liqsim: bench: a child replay failed; its output is in %s\n", log.c_str());
    }
    return r.ok;
  };

  {  // Quiet ticks at 1e3 accounts, from JSON Lines and from the binary log.
    WorkloadSpec spec;
    spec.seed = 42;
    spec.accounts = 1'000;
    spec.markets = 1;
    spec.params = false;
    spec.activity_ppm = 0;
    spec.ticks = opt.quiet_ticks;
    spec.volatility_bp = 10;
    spec.mean_revert = true;
    Symbols symbols;
    Workload w = make_workload(spec, symbols);
    const std::string config = dir + "/quiet-config.json", jsonl = dir + "/quiet.jsonl",
                      evlog = dir + "/quiet.evlog";
    if (!write_text(config, w.config.document.dump()) || !write_jsonl(jsonl, w.events, symbols)) {
      std::fprintf(stderr, "liqsim: bench: cannot write the scratch files in %s\n", dir.c_str());
      return 2;
    }
    const double engine = engine_only_seconds(w.config, symbols, w.events);
    const std::size_t n = w.events.size();
    const std::string label = std::to_string(opt.quiet_ticks) + " quiet ticks, 1e3 accounts, ";
    w.events.clear();
    w.events.shrink_to_fit();
    ChildRun r = run_liqsim({"replay", "--config", config, "--events", jsonl, "--json"}, log);
    if (check(r)) p.row(label + "JSONL", n, r, engine);
    ChildRun c = run_liqsim({"log", "convert", jsonl, evlog}, log);
    if (check(c)) {
      r = run_liqsim({"replay", "--config", config, "--events", evlog, "--json"}, log);
      if (check(r)) p.row(label + "binary", n, r, engine);
    }
    fs::remove(jsonl);
    fs::remove(evlog);
  }

  if (fs::exists(opt.flagship + "/config.json")) {  // The flagship, with and without outputs.
    auto config = load_config(opt.flagship + "/config.json");
    Symbols symbols;
    std::string events_path = opt.flagship + "/events.jsonl";
    if (!fs::exists(events_path)) events_path = opt.flagship + "/events.evlog";
    auto events = read_event_log(events_path, symbols);
    if (!config || !events) {
      std::fprintf(stderr, "liqsim: bench: cannot read the flagship in %s\n", opt.flagship.c_str());
      return 2;
    }
    const double engine = engine_only_seconds(*config, symbols, *events);
    const std::size_t n = events->size();
    const std::string db = dir + "/flagship.sqlite", journal = dir + "/flagship.jsonl",
                      report = dir + "/flagship.html";
    const std::string name = fs::path(opt.flagship).filename().string();
    struct Variant {
      const char* what;
      std::vector<std::string> extra;
    };
    const std::vector<Variant> variants = {{" --json", {}},
                                           {" --journal", {"--journal", journal}},
                                           {" --out", {"--out", db}},
                                           {" --out --report", {"--out", db, "--report", report}}};
    for (const Variant& v : variants) {
      fs::remove(db);
      std::vector<std::string> args = {"replay", opt.flagship, "--json"};
      args.insert(args.end(), v.extra.begin(), v.extra.end());
      ChildRun r = run_liqsim(args, log);
      if (check(r)) p.row(name + v.what, n, r, engine);
    }
    fs::remove(db);
    fs::remove(journal);
    fs::remove(report);
  } else {
    std::printf("(no flagship at %s: run from the repository root, or give --flagship DIR)\n",
                opt.flagship.c_str());
  }

  if (opt.crash_accounts > 0) {  // A crash at 1e6 accounts from a file.
    WorkloadSpec c;
    c.seed = 42;
    c.accounts = opt.crash_accounts;
    c.markets = 1;
    c.params = false;
    c.activity_ppm = 0;
    c.ticks = 600;
    c.volatility_bp = 5;
    c.crash_at = 60;
    c.crash_ticks = 60;
    c.crash_bp = 1000;
    Symbols symbols;
    Workload w = make_workload(c, symbols);
    const std::string config = dir + "/crash-config.json", jsonl = dir + "/crash.jsonl";
    if (!write_text(config, w.config.document.dump()) || !write_jsonl(jsonl, w.events, symbols)) {
      std::fprintf(stderr, "liqsim: bench: cannot write the scratch files in %s\n", dir.c_str());
      return 2;
    }
    const double engine = engine_only_seconds(w.config, symbols, w.events);
    const std::size_t n = w.events.size();
    w = Workload{};
    ChildRun r = run_liqsim({"replay", "--config", config, "--events", jsonl, "--json"}, log);
    if (check(r))
      p.row("crash at " + std::to_string(opt.crash_accounts) + " accounts (set-up + 600 ticks), JSONL", n, r,
            engine);
    fs::remove(jsonl);
  }
  if (opt.sweep_points > 0 && fs::exists(opt.flagship + "/config.json")) {
    if (bench_sweeps(opt, dir, log) != 0) rc = 2;
  }
  if ((opt.stress_paths > 0 || opt.stress_book_accounts > 0) && fs::exists(opt.flagship + "/config.json")) {
    if (bench_stress(opt, dir, log) != 0) rc = 2;
  }
  if (rc == 0) fs::remove_all(dir);
  return rc;
}

// Sweeps of the flagship, each `liqsim sweep` (or `liqsim replay`) a child
// process on files: points/s at --jobs 1 and 2, the cost per point beyond
// the replay itself (`liqsim replay --set ... --out`, one process per
// point, the way a shell loop runs them), and what --at saves.
int bench_sweeps(const EndToEndOptions& opt, const std::string& dir, const std::string& log) {
  namespace fs = std::filesystem;
  const std::uint32_t n = opt.sweep_points;
  // Insurance funds from 10 M up: every point liquidates as the flagship does
  // (no ADL; a smaller fund makes ADL, whose cost is the engine's).
  std::string grid = "liquidation.insurance_fund=";
  for (std::uint32_t i = 0; i < n; ++i) grid += (i ? "," : "") + std::to_string(10'000'000 + 100'000 * i);
  const std::string db = dir + "/sweep.sqlite";
  std::printf(
      "\nsweeps of %s, %u points (liquidation.insurance_fund 10 M, 10.1 M, ...), into a new database\n",
      fs::path(opt.flagship).filename().string().c_str(), n);
  std::printf("%-52s %9s %10s %12s %9s\n", "", "seconds", "points/s", "s/point", "peak MB");
  auto row = [&](const std::string& what, const ChildRun& r, std::uint32_t points) {
    std::printf("%-52s %9.2f %10.2f %12.3f %9.1f\n", what.c_str(), r.seconds, points / r.seconds,
                r.seconds / points, r.peak_mb);
    std::fflush(stdout);
  };
  auto failed = [&] {
    std::fprintf(stderr, "liqsim: bench: a child sweep failed; its output is in %s\n", log.c_str());
    return 2;
  };
  // The replay itself: one process per point, three points, their mean.
  double single = 0;
  const std::uint32_t singles = std::min<std::uint32_t>(3, n);
  for (std::uint32_t i = 0; i < singles; ++i) {
    fs::remove(db);
    ChildRun r = run_liqsim(
        {"replay", opt.flagship, "--set",
         "liquidation.insurance_fund=" + std::to_string(10'000'000 + 100'000 * i), "--out", db, "--quiet"},
        log);
    if (!r.ok) return failed();
    single += r.seconds / singles;
  }
  ChildRun one{true, single, 0};
  row("liqsim replay --set ... --out, one process a point", one, 1);
  double jobs1 = 0;
  for (int jobs : {1, 2}) {
    fs::remove(db);
    ChildRun r = run_liqsim(
        {"sweep", opt.flagship, "--grid", grid, "--out", db, "--jobs", std::to_string(jobs), "--quiet"}, log);
    if (!r.ok) return failed();
    row("liqsim sweep --jobs " + std::to_string(jobs), r, n);
    if (jobs == 1) {
      jobs1 = r.seconds;
      std::printf("  per point beyond the replay itself: %+.1f %%\n", (r.seconds / n / single - 1) * 100);
    } else {
      std::printf("  speedup of --jobs 2 over --jobs 1: %.2fx\n", jobs1 / r.seconds);
    }
  }
  // --rows summary: each point's summary, metrics and cascades only.
  double summary1 = 0;
  for (int jobs : {1, 2}) {
    fs::remove(db);
    ChildRun r = run_liqsim({"sweep", opt.flagship, "--grid", grid, "--rows", "summary", "--out", db,
                             "--jobs", std::to_string(jobs), "--quiet"},
                            log);
    if (!r.ok) return failed();
    row("liqsim sweep --rows summary --jobs " + std::to_string(jobs), r, n);
    if (jobs == 1)
      summary1 = r.seconds;
    else
      std::printf("  speedup of --jobs 2 over --jobs 1: %.2fx\n", summary1 / r.seconds);
  }
  // --at: the last tenth of the log replayed per point, the rest once.
  auto count = [&]() -> std::int64_t {
    std::ifstream in(opt.flagship + "/events.jsonl");
    std::int64_t lines = 0;
    std::string line;
    while (std::getline(in, line)) ++lines;
    return lines;
  }();
  if (count > 10) {
    const std::int64_t at = count - count / 10;
    for (bool summary : {false, true}) {
      fs::remove(db);
      std::vector<std::string> args = {"sweep", opt.flagship, "--grid", grid, "--at",   std::to_string(at),
                                       "--out", db,           "--jobs", "1",  "--quiet"};
      if (summary) args.insert(args.end(), {"--rows", "summary"});
      ChildRun r = run_liqsim(args, log);
      if (!r.ok) return failed();
      row("liqsim sweep --at " + std::to_string(at) + (summary ? " --rows summary" : "") + " --jobs 1", r, n);
      const double without = summary ? summary1 : jobs1;
      std::printf("  forking at event %lld instead of replaying the prefix: %+.1f %% time\n",
                  static_cast<long long>(at), (r.seconds / without - 1) * 100);
    }
  }
  fs::remove(db);
  return 0;
}

// Stress runs (issue 14): GBM paths of 60 one-minute steps at 150 %
// annualised volatility from the flagship's book at --stress-at, each
// `liqsim stress run` a child process: paths/s at --jobs 1 (a tenth of the
// paths) and --jobs 2; the cost of one fork of the start state, in process;
// then the same paths from a book of --stress-book accounts (`liqsim gen
// population` at the flagship's price, its depth and fund scaled with the
// book, so that the cascade per account is the flagship's).
int bench_stress(const EndToEndOptions& opt, const std::string& dir, const std::string& log) {
  namespace fs = std::filesystem;
  auto scenarios = [&](std::uint32_t paths) {
    const std::string path = dir + "/stress-" + std::to_string(paths) + ".json";
    write_text(path, R"({"scenarios": [{"name": "gbm", "kind": "gbm", "paths": )" + std::to_string(paths) +
                         R"(, "seed": 1, "steps": 60, "interval_ms": 60000, "vol": {"ETH": "1.5"}}]})");
    return path;
  };
  const std::string db = dir + "/stress.sqlite";
  auto failed = [&] {
    std::fprintf(stderr, "liqsim: bench: a child stress run failed; its output is in %s\n", log.c_str());
    return 2;
  };
  std::printf(
      "\nstress runs: GBM paths of 60 one-minute steps, ETH volatility 150 %%, into a new database\n");
  std::printf("%-72s %9s %10s %12s %9s\n", "", "seconds", "paths/s", "ms/path", "peak MB");
  auto row = [&](const std::string& what, const ChildRun& r, std::uint32_t paths) {
    std::printf("%-72s %9.2f %10.1f %12.2f %9.1f\n", what.c_str(), r.seconds, paths / r.seconds,
                r.seconds * 1e3 / paths, r.peak_mb);
    std::fflush(stdout);
  };
  const std::string at = std::to_string(opt.stress_at);
  const std::string name = fs::path(opt.flagship).filename().string();
  if (opt.stress_paths > 0) {
    for (int jobs : {1, 2}) {
      const std::uint32_t paths =
          jobs == 1 ? std::max<std::uint32_t>(1, opt.stress_paths / 10) : opt.stress_paths;
      fs::remove(db);
      ChildRun r = run_liqsim({"stress", "run", opt.flagship, "--scenarios", scenarios(paths), "--at", at,
                               "--out", db, "--jobs", std::to_string(jobs), "--quiet"},
                              log);
      if (!r.ok) return failed();
      row(name + " at event " + at + ", " + std::to_string(paths) + " paths, --jobs " + std::to_string(jobs) +
              " (with its set-up)",
          r, paths);
    }
    // One fork: a copy of the start state (engine, index), what every path
    // pays before its first event.
    StressRequest request;
    request.config_path = opt.flagship + "/config.json";
    request.events_path = opt.flagship + "/events.jsonl";
    request.scenarios_path = scenarios(1);
    request.at_seq = opt.stress_at;
    auto run = StressRun::prepare(request);
    if (!run) {
      std::fprintf(stderr, "liqsim: bench: %s\n", run.error().message.c_str());
      return 2;
    }
    constexpr int kForks = 200;
    const double t0 = now_s();
    std::size_t accounts = 0;
    for (int i = 0; i < kForks; ++i) {
      Engine fork((*run)->snapshot());
      accounts += fork.account_count();
    }
    const double us = (now_s() - t0) * 1e6 / kForks;
    std::printf("  one fork of the start state (%zu accounts): %.0f us, %.1f ns/account\n", accounts / kForks,
                us, us * 1e3 / static_cast<double>(accounts / kForks));
  }
  if (opt.stress_book_accounts > 0 && opt.stress_book_paths > 0) {
    const std::uint32_t n = opt.stress_book_accounts;
    std::ifstream in(opt.flagship + "/config.json");
    nlohmann::json config = nlohmann::json::parse(in, nullptr, false);
    if (config.is_discarded()) return failed();
    const double scale = n / 20'000.0;  // the flagship's book is 20,000 accounts
    auto scaled = [&](const nlohmann::json& v) {
      return std::to_string(static_cast<long long>(std::stod(v.get<std::string>()) * scale));
    };
    for (auto& [m, market] : config["markets"].items())
      if (market.contains("depth")) market["depth"] = scaled(market["depth"]);
    if (config.contains("liquidation") && config["liquidation"].contains("insurance_fund"))
      config["liquidation"]["insurance_fund"] = scaled(config["liquidation"]["insurance_fund"]);
    const std::string book_config = dir + "/book-config.json", book = dir + "/book.jsonl";
    write_text(book_config, config.dump());
    ChildRun g = run_liqsim({"gen", "population", "--accounts", std::to_string(n), "--seed", "1", "--market",
                             "ETH-PERP", "--asset", "ETH", "--price", "200", "--with-price", "--out", book},
                            log);
    if (!g.ok) return failed();
    fs::remove(db);
    const std::uint32_t paths = opt.stress_book_paths;
    ChildRun r = run_liqsim({"stress", "run", "--config", book_config, "--events", book, "--scenarios",
                             scenarios(paths), "--out", db, "--jobs", "2", "--quiet"},
                            log);
    if (!r.ok) return failed();
    row(std::to_string(n) + "-account book, " + std::to_string(paths) + " paths, --jobs 2 (with its set-up)",
        r, paths);
    fs::remove(book);
  }
  fs::remove(db);
  return 0;
}

}  // namespace liqsim::cli
