// liqsim bench — replay speed and memory at 1e3 … 1e6 accounts.
//
// Each size runs in its own child process (fork), so its peak RSS and its
// memory per account are its own. Workloads are generated in-process from a
// seed (liqsim/workload.hpp). Phases, timed separately:
//   set-up   deposits and opening trades (≈ 2 events per account)
//   quiet    price ticks within ±0.1 % of the set-up price, liquidating no one
//   crash    a 10 % fall over a minute of 1-second ticks, then recovery
//   ref      the same quiet ticks with --reference-scan (every account after
//            every tick), on a bounded number of ticks at large sizes
//   day      (with --day) one day of 1-second ticks with a crash, end to end
//   params   governance params on one market of three (accounts spread over
//            the three): a risk key (maintenance_margin_ratio), which re-rates
//            that market's holders, and a key that re-rates no one
//            (liquidation_fee_ratio); beside them, what re-rating one of those
//            units costs when a price tick reaches it. Measured after the peak
//            RSS is taken, so the table above is unchanged by it
#include <malloc.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "bench_e2e.hpp"
#include "commands.hpp"
#include "liqsim/engine.hpp"
#include "liqsim/replay.hpp"
#include "liqsim/workload.hpp"
#include "options.hpp"

namespace liqsim::cli {

namespace {

double now_s() {
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}

std::int64_t rss_bytes() {
  std::ifstream in("/proc/self/statm");
  std::int64_t pages_total = 0, pages_resident = 0;
  in >> pages_total >> pages_resident;
  return pages_resident * sysconf(_SC_PAGESIZE);
}

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  return "unknown cpu";
}

struct Row {
  std::uint32_t accounts = 0;
  double setup_eps = 0;
  double quiet_tps = 0;
  double quiet_ns = 0;
  double crash_eps = 0;
  std::int64_t crash_liquidations = 0;
  double ref_tps = 0;
  double speedup = 0;
  double bytes_per_account = 0;
  double peak_rss_mb = 0;
  double log_mb = 0;
  double day_seconds = 0;
  std::int64_t day_events = 0;
  std::int64_t day_liquidations = 0;
  std::uint32_t params = 0;      // param events of the fee key
  std::uint32_t mmr_params = 0;  // param events of the mmr key (fewer at 1e6 accounts)
  double mmr_params_ps = 0;      // markets.SOL-PERP.maintenance_margin_ratio
  double mmr_param_us = 0;
  double evals_per_param = 0;  // units re-rated by one mmr param (the market's holders)
  double ns_per_eval = 0;
  double fee_params_ps = 0;  // markets.SOL-PERP.liquidation_fee_ratio
  double fee_param_us = 0;
  double tick_ns_per_eval = 0;  // SOL ticks of ±4 %: the index re-rating the holders they reach
  double fork_us = 0;           // one fork (copy) of the whole replay after the set-up
  double fork_bytes_per_account = 0;
};

// Replays events [from, to) through the replay pipeline and returns the
// seconds taken. The bench's engine figures run without metrics or sinks: the
// engine's own cost (end-to-end figures are a replay of a file).
double run(Replay& r, const std::vector<InputEvent>& ev, std::size_t from, std::size_t to) {
  double t0 = now_s();
  Status st = r.run(ev, from, to);
  double t = now_s() - t0;
  LIQSIM_ASSERT(st.ok(), "a bench workload stays inside the fixed-point range");
  return t;
}

ReplayOptions engine_only(EngineOptions engine = {}) {
  ReplayOptions o;
  o.engine = engine;
  o.metrics = false;
  return o;
}

// `n` params on `path`, alternating between two values, after the last event.
std::vector<InputEvent> param_events(std::int64_t after_ts, std::uint32_t n, const std::string& path,
                                     const char* a, const char* b) {
  std::vector<InputEvent> v;
  v.reserve(n);
  for (std::uint32_t i = 0; i < n; ++i) {
    ParamEvent p;
    p.path = path;
    p.value_json = i % 2 == 0 ? a : b;
    v.push_back(InputEvent{after_ts + 1 + i, std::move(p)});
  }
  return v;
}

// The params phase: set-up of three markets, then the params of each key.
void measure_params(std::uint32_t accounts, std::uint32_t n, Row& r) {
  r.params = n;
  if (n == 0) return;
  WorkloadSpec spec;
  spec.seed = 42;
  spec.accounts = accounts;
  spec.markets = 3;
  spec.params = false;
  spec.activity_ppm = 0;
  spec.ticks = 0;
  Symbols symbols;
  Workload w = make_workload(spec, symbols);
  Replay e(w.config, symbols, engine_only());
  run(e, w.events, 0, w.events.size());
  const std::int64_t last_ts = w.events.empty() ? 0 : w.events.back().ts_ms;
  // Each mmr param re-rates a third of the accounts: at 1e6 accounts a
  // twentieth as many keeps that row near 20 s.
  const std::uint32_t n_mmr = accounts >= 1'000'000 ? std::max<std::uint32_t>(1, n / 20) : n;
  r.mmr_params = n_mmr;
  auto mmr =
      param_events(last_ts, n_mmr, "markets.SOL-PERP.maintenance_margin_ratio", "\"0.04\"", "\"0.05\"");
  std::int64_t evals0 = e.engine().totals().evaluations;
  double t = run(e, mmr, 0, mmr.size());
  std::int64_t evals = e.engine().totals().evaluations - evals0;
  r.mmr_params_ps = n_mmr / t;
  r.mmr_param_us = t * 1e6 / n_mmr;
  r.evals_per_param = static_cast<double>(evals) / n_mmr;
  r.ns_per_eval = evals > 0 ? t * 1e9 / static_cast<double>(evals) : 0;
  auto fee =
      param_events(last_ts + n_mmr, n, "markets.SOL-PERP.liquidation_fee_ratio", "\"0.02\"", "\"0.01\"");
  t = run(e, fee, 0, fee.size());
  r.fee_params_ps = n / t;
  r.fee_param_us = t * 1e6 / n;
  // For comparison, the same market's units re-rated by the index on price
  // ticks: SOL moving 4 % and back crosses the bands of part of its holders.
  const std::uint32_t n_ticks =
      std::min<std::uint32_t>(200, std::max<std::uint32_t>(20, 20'000'000 / accounts));
  const Sym sol = symbols.intern("SOL");
  std::vector<InputEvent> ticks;
  for (std::uint32_t i = 0; i < n_ticks; ++i)
    ticks.push_back(
        InputEvent{last_ts + n_mmr + n + 1 + i, PriceEvent{sol, Price::from_units(i % 2 == 0 ? 144 : 150)}});
  evals0 = e.engine().totals().evaluations;
  t = run(e, ticks, 0, ticks.size());
  evals = e.engine().totals().evaluations - evals0;
  r.tick_ns_per_eval = evals > 0 ? t * 1e9 / static_cast<double>(evals) : 0;
}

Row measure(std::uint32_t accounts, std::uint32_t quiet_ticks, bool day, std::uint32_t params) {
  Row r;
  r.accounts = accounts;
  WorkloadSpec spec;
  spec.seed = 42;
  spec.accounts = accounts;
  spec.markets = 1;
  spec.multi_collateral = true;
  spec.isolated = true;
  spec.params = false;
  spec.activity_ppm = 0;
  spec.ticks = quiet_ticks;
  spec.volatility_bp = 10;  // ±0.1 % around the set-up price: moves that liquidate no one
  spec.mean_revert = true;
  Symbols symbols;
  Workload w = make_workload(spec, symbols);
  std::size_t setup_end = w.events.size() - quiet_ticks;
  r.log_mb = static_cast<double>(w.events.capacity() * sizeof(InputEvent)) / 1e6;

  malloc_trim(0);
  std::int64_t rss0 = rss_bytes();
  {
    Replay e(w.config, symbols, engine_only());
    double t = run(e, w.events, 0, setup_end);
    r.setup_eps = static_cast<double>(setup_end) / t;
    r.bytes_per_account = static_cast<double>(rss_bytes() - rss0) / accounts;
    std::int64_t liq_before = e.engine().totals().liquidations;
    t = run(e, w.events, setup_end, w.events.size());
    r.quiet_tps = quiet_ticks / t;
    r.quiet_ns = t * 1e9 / quiet_ticks;
    if (e.engine().totals().liquidations != liq_before)
      std::fprintf(stderr, "bench: note: %lld liquidations during quiet ticks\n",
                   static_cast<long long>(e.engine().totals().liquidations - liq_before));
    // A fork of the whole replay (engine, index, metrics), as sweeps and
    // stress paths take one: its time and the memory it adds, per account.
    malloc_trim(0);
    const std::int64_t before_fork = rss_bytes();
    const int forks = accounts >= 1'000'000 ? 3 : 10;
    std::vector<Replay> copies;
    copies.reserve(forks);
    double t0 = now_s();
    for (int i = 0; i < forks; ++i) copies.emplace_back(e);
    r.fork_us = (now_s() - t0) * 1e6 / forks;
    r.fork_bytes_per_account = static_cast<double>(rss_bytes() - before_fork) / forks / accounts;
  }
  {
    // The same quiet ticks on the reference scan: bounded work at large sizes.
    std::size_t ref_ticks = std::max<std::size_t>(20, 20'000'000 / accounts);
    ref_ticks = std::min<std::size_t>(ref_ticks, quiet_ticks);
    EngineOptions o;
    o.reference_scan = true;
    Replay e(w.config, symbols, engine_only(o));
    run(e, w.events, 0, setup_end);
    double t = run(e, w.events, setup_end, setup_end + ref_ticks);
    r.ref_tps = static_cast<double>(ref_ticks) / t;
    r.speedup = r.quiet_tps / r.ref_tps;
  }
  {
    WorkloadSpec c = spec;
    c.ticks = 600;
    c.mean_revert = false;
    c.volatility_bp = 5;
    c.crash_at = 60;
    c.crash_ticks = 60;
    c.crash_bp = 1000;
    Symbols s2;
    Workload cw = make_workload(c, s2);
    Replay e(cw.config, s2, engine_only());
    std::size_t begin = cw.events.size() - c.ticks;
    run(e, cw.events, 0, begin);
    std::int64_t liq_before = e.engine().totals().liquidations;
    double t = run(e, cw.events, begin, cw.events.size());
    r.crash_eps = c.ticks / t;
    r.crash_liquidations = e.engine().totals().liquidations - liq_before;
  }
  if (day) {
    WorkloadSpec d = spec;
    d.ticks = 86'400;
    d.mean_revert = false;
    d.volatility_bp = 2;
    d.crash_at = 36'000;
    d.crash_ticks = 600;
    d.crash_bp = 2000;
    Symbols s3;
    Workload dw = make_workload(d, s3);
    Replay e(dw.config, s3, engine_only());
    double t = run(e, dw.events, 0, dw.events.size());
    r.day_seconds = t;
    r.day_events = static_cast<std::int64_t>(dw.events.size());
    r.day_liquidations = e.engine().totals().liquidations;
  }
  struct rusage ru {};
  getrusage(RUSAGE_SELF, &ru);
  r.peak_rss_mb = static_cast<double>(ru.ru_maxrss) / 1024.0;
  measure_params(accounts, params, r);
  return r;
}

bool measure_in_child(std::uint32_t accounts, std::uint32_t quiet_ticks, bool day, std::uint32_t params,
                      Row& row) {
  int fds[2];
  if (pipe(fds) != 0) return false;
  std::fflush(nullptr);
  pid_t pid = fork();
  if (pid < 0) return false;
  if (pid == 0) {
    close(fds[0]);
    Row r = measure(accounts, quiet_ticks, day, params);
    ssize_t n = write(fds[1], &r, sizeof r);
    _exit(n == static_cast<ssize_t>(sizeof r) ? 0 : 1);
  }
  close(fds[1]);
  ssize_t n = read(fds[0], &row, sizeof row);
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  return n == static_cast<ssize_t>(sizeof row) && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

}  // namespace

int cmd_bench(const Args& args) {
  auto command_line = parse_command_line("bench", args, 1);
  if (!command_line) return usage_error("bench", command_line.error());
  if (command_line->help) return print_help("bench");
  const bool quick = command_line->has("--quick"), day = !command_line->has("--no-day");
  auto ticks_opt = command_line->integer("--ticks", 2'000'000, 1, 1'000'000'000);
  if (!ticks_opt) return usage_error("bench", ticks_opt.error());
  auto params_opt = command_line->integer("--params", 2'000, 0, 1'000'000);
  if (!params_opt) return usage_error("bench", params_opt.error());
  auto e2e_ticks_opt = command_line->integer("--e2e-ticks", quick ? 1'000'000 : 10'000'000, 1, 1'000'000'000);
  if (!e2e_ticks_opt) return usage_error("bench", e2e_ticks_opt.error());
  auto crash_opt = command_line->integer("--crash-accounts", quick ? 100'000 : 1'000'000, 0, 10'000'000);
  if (!crash_opt) return usage_error("bench", crash_opt.error());
  auto sweep_opt = command_line->integer("--sweep-points", quick ? 6 : 20, 0, 10'000);
  if (!sweep_opt) return usage_error("bench", sweep_opt.error());
  auto stress_opt = command_line->integer("--stress-paths", quick ? 1'000 : 10'000, 0, 10'000'000);
  if (!stress_opt) return usage_error("bench", stress_opt.error());
  auto stress_at_opt = command_line->integer("--stress-at", 40'001, 0, INT64_MAX);
  if (!stress_at_opt) return usage_error("bench", stress_at_opt.error());
  auto book_opt = command_line->integer("--stress-book", quick ? 0 : 1'000'000, 0, 10'000'000);
  if (!book_opt) return usage_error("bench", book_opt.error());
  auto book_paths_opt = command_line->integer("--stress-book-paths", 200, 1, 1'000'000);
  if (!book_paths_opt) return usage_error("bench", book_paths_opt.error());
  EndToEndOptions e2e;
  e2e.sweep_points = static_cast<std::uint32_t>(*sweep_opt);
  e2e.stress_paths = static_cast<std::uint32_t>(*stress_opt);
  e2e.stress_at = *stress_at_opt;
  e2e.stress_book_accounts = static_cast<std::uint32_t>(*book_opt);
  e2e.stress_book_paths = static_cast<std::uint32_t>(*book_paths_opt);
  e2e.quiet_ticks = static_cast<std::uint32_t>(*e2e_ticks_opt);
  e2e.crash_accounts = static_cast<std::uint32_t>(*crash_opt);
  if (command_line->has("--flagship")) e2e.flagship = command_line->get("--flagship");
  const bool end_to_end = !command_line->has("--no-e2e");
  if (command_line->has("--e2e-only")) return bench_end_to_end(e2e);
  const auto ticks = static_cast<std::uint32_t>(*ticks_opt);
  const auto params = static_cast<std::uint32_t>(*params_opt);
  std::vector<std::uint32_t> sizes = {1'000, 10'000, 100'000};
  if (!quick) sizes.push_back(1'000'000);
  std::printf("liqsim bench — %s, %u hardware threads, single-threaded replay\n", cpu_model().c_str(),
              std::thread::hardware_concurrency());
  std::printf("%9s %12s %12s %8s %12s %7s %12s %9s %9s %9s %8s\n", "accounts", "setup ev/s", "quiet tick/s",
              "ns/tick", "crash ev/s", "liqs", "ref tick/s", "speedup", "B/account", "peak MB", "log MB");
  Row last;
  std::vector<Row> rows;
  for (std::uint32_t n : sizes) {
    Row r;
    bool with_day = day && !quick && n == sizes.back();
    if (!measure_in_child(n, ticks, with_day, params, r)) {
      std::fprintf(stderr, "liqsim: bench at %u accounts failed\n", n);
      return 2;
    }
    std::printf("%9u %12.0f %12.0f %8.1f %12.0f %7lld %12.1f %8.0fx %9.0f %9.1f %8.1f\n", r.accounts,
                r.setup_eps, r.quiet_tps, r.quiet_ns, r.crash_eps,
                static_cast<long long>(r.crash_liquidations), r.ref_tps, r.speedup, r.bytes_per_account,
                r.peak_rss_mb, r.log_mb);
    std::fflush(stdout);
    last = r;
    rows.push_back(r);
  }
  if (last.day_events > 0)
    std::printf(
        "one day of 1-second ticks with a crash at %u accounts: %lld events in %.2f s (%lld liquidations)\n",
        last.accounts, static_cast<long long>(last.day_events), last.day_seconds,
        static_cast<long long>(last.day_liquidations));
  std::printf("forks: one copy of the whole replay after the set-up (engine, index, metrics)\n");
  std::printf("%9s %12s %12s %12s\n", "accounts", "us/fork", "ns/account", "B/account");
  for (const Row& r : rows)
    std::printf("%9u %12.1f %12.1f %12.0f\n", r.accounts, r.fork_us, r.fork_us * 1e3 / r.accounts,
                r.fork_bytes_per_account);
  if (params > 0) {
    std::printf(
        "params on one market of three (accounts spread over BTC/ETH/SOL-PERP): maintenance_margin_ratio\n"
        "re-rates the market's holders, liquidation_fee_ratio no one; tick ns/eval: SOL ticks of 4 %%\n");
    std::printf("%9s %8s %12s %10s %11s %9s %8s %12s %10s %13s\n", "accounts", "params", "mmr param/s",
                "us/param", "evals/param", "ns/eval", "params", "fee param/s", "us/param", "tick ns/eval");
    for (const Row& r : rows)
      std::printf("%9u %8u %12.0f %10.2f %11.0f %9.1f %8u %12.0f %10.2f %13.1f\n", r.accounts, r.mmr_params,
                  r.mmr_params_ps, r.mmr_param_us, r.evals_per_param, r.ns_per_eval, r.params,
                  r.fee_params_ps, r.fee_param_us, r.tick_ns_per_eval);
  }
  if (end_to_end) return bench_end_to_end(e2e);
  return 0;
}

}  // namespace liqsim::cli
