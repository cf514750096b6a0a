// options.cpp — the descriptions of every command and the parser built from
// them (options.hpp).
#include "options.hpp"

#include <algorithm>
#include <boost/program_options.hpp>
#include <cstdio>
#include <sstream>

namespace liqsim::cli {

namespace po = boost::program_options;

namespace {

// ---------------------------------------------------------------------------
// The descriptions. One entry per command; `liqsim --help` lists them in this
// order. An option's help is one sentence without a final period; Boost
// wraps it.

const std::vector<GroupSpec> kGroups = {
    {"log", "the event log tools: convert, verify, cat, append, repair",
     "append, convert (onto an existing OUT) and repair take the log's lock: while one\n"
     "holds it, the others are refused at once (exit 2) and change nothing.\n"
     "\n"
     "exit codes: 0 success, 2 usage/input/I-O error, 3 corrupt or truncated log\n"},
    {"import", "market data CSV to price events: candles, trades",
     "Writes canonical `price` events (JSON Lines, ts in ms) to stdout or --out.\n"
     "Strict by default: a gap, duplicate, out-of-order row, non-positive price,\n"
     "impossible high/low or malformed line is an error naming file:line and column.\n"
     "--repair fixes what it can and reports each repair on stderr. --out appears\n"
     "whole or not at all.\n"},
    {"gen", "synthetic inputs: population", ""},
    {"stress", "stress tests of collateral adequacy: run, merge, curve, var",
     "exit codes: 0 success, 2 usage/input/I-O error\n"},
    {"results", "results database tools: merge",
     "exit codes: 0 success, 2 usage/input/I-O error (nothing is written)\n"},
};

const std::vector<CommandSpec> kCommands = {
    {"replay",
     "replays an event log through the margin engine",
     {"liqsim replay --config C --events E [options]", "liqsim replay DIR [options]"},
     "Replays an event log (JSON Lines or the binary log, told apart by its first\n"
     "bytes) against a configuration and prints a summary ending in the state hash.\n"
     "DIR is a packaged scenario: DIR/config.json and DIR/events.evlog or\n"
     "DIR/events.jsonl. Nothing is replayed until the whole log and configuration\n"
     "are valid; every output is written to a temporary file and appears only when\n"
     "the replay succeeded (a pipe or device is written into, never replaced).\n",
     {"DIR"},
     0,
     {
         {"config", 0, "C", "the configuration (JSON)"},
         {"events", 0, "E", "the event log: JSON Lines or binary"},
         {"set", 0, "PATH=VALUE",
          "override a configuration value before the replay: PATH as in a param event, with list indexes "
          "(markets.M.tiers[0].maintenance_margin_ratio); VALUE is JSON, or a bare word taken as a "
          "string; applied in order, then validated as the configuration is",
          false, true},
         {"at", 0, "SEQ",
          "apply the --set overrides as a governance change just before event SEQ (param events with its ts) "
          "instead of at the start"},
         {"json", 0, nullptr, "print the summary as one JSON object on stdout"},
         {"journal", 0, "J.jsonl", "write the derived events as JSON Lines"},
         {"out", 0, "R.sqlite", "add this run to a results database"},
         {"report", 0, "R.html", "also write an HTML report of this run (needs --out)"},
         {"label", 0, "NAME",
          "the run's label in the summary and the results database (default: DIR's name, "
          "else E)"},
         {"busy-timeout", 0, "MS",
          "wait up to MS milliseconds for another writer of the results database "
          "(0 to 3600000, default 5000)"},
         {"check", 0, nullptr, "verify the double-entry ledger after every event"},
         {"reference-scan", 0, nullptr,
          "evaluate every account after every event, with no index (slow; for "
          "differential tests; the results are identical)"},
         {"progress", 0, nullptr,
          "force the progress bar on stderr (default: only when stderr is a terminal and the log is 8 MiB or "
          "more)"},
         {"quiet", 0, nullptr, "no progress bar"},
     }},
    {"sweep",
     "one replay per point of a parameter grid, into one results database",
     {"liqsim sweep --config C --events E --grid PATH=V1,V2,... [--grid ...] --out R.sqlite [options]",
      "liqsim sweep DIR --grid PATH=V1,V2,... [--grid ...] --out R.sqlite [options]"},
     "Replays the log once per point of the grid: the Cartesian product of the\n"
     "--grid axes (the last changes fastest), or with --zip the axes taken in step.\n"
     "A point's values are applied as `liqsim replay --set PATH=VALUE` applies them\n"
     "(the same paths and checks; a tier's later maintenance_amount is computed\n"
     "again for continuity), so a point's summary and state hash are those of that\n"
     "replay. With --at SEQ they are a governance change just before event SEQ\n"
     "(param events with its ts): the prefix runs once and every point forks from\n"
     "its snapshot. Every point is checked before any runs; the log is read once\n"
     "and shared by the workers; one writer stores the points in point order in one\n"
     "transaction, so the database is the same whatever --jobs is, and a failed\n"
     "sweep writes nothing. Prints one row per point (or --json: one object each).\n",
     {"DIR"},
     0,
     {
         {"config", 0, "C", "the configuration (JSON)"},
         {"events", 0, "E", "the event log: JSON Lines or binary"},
         {"grid", 0, "PATH=V1,V2,...",
          "sweep PATH over these values (JSON or bare words; commas inside [..], {..} or \"..\" do not "
          "split)",
          false, true},
         {"grid-file", 0, "G.json",
          "more axes from a JSON file: {\"PATH\": [V1, V2, ...], ...} or {\"grid\": {...}, \"zip\": true}"},
         {"zip", 0, nullptr, "take the axes in step (all of one length) instead of their product"},
         {"out", 0, "R.sqlite", "the results database the runs go into", true},
         {"jobs", 'j', "K", "worker threads (1 to 1024; default: the machine's cores)"},
         {"shard", 0, "I/N",
          "run only the points whose index is I modulo N, into this database ('liqsim results merge' joins "
          "the shards)"},
         {"at", 0, "SEQ",
          "apply the values as a governance change before event SEQ, forking every point there"},
         {"rows", 0, "all|summary",
          "what each point's run stores: all its rows (default), or its summary, metrics, markets, "
          "collateral and "
          "cascades without the rows by event and by account (events, market_series, insurance_fund, "
          "accounts, "
          "episodes)"},
         {"json", 0, nullptr, "print one JSON object per point instead of the table"},
         {"label", 0, "NAME",
          "the sweep's label (default: DIR's name, else E); point K's run is 'NAME point K'"},
         {"busy-timeout", 0, "MS",
          "wait up to MS milliseconds for another writer of the results database (0 to 3600000, default "
          "5000)"},
         {"progress", 0, nullptr,
          "force the progress bar on stderr (default: only when stderr is a terminal)"},
         {"quiet", 0, nullptr, "no progress bar"},
     }},
    {"stress run",
     "stress paths forked from the book: VaR and ES of bad debt, the fund's adequacy",
     {"liqsim stress run --config C --events E --scenarios S.json --out R.sqlite [options]",
      "liqsim stress run DIR --scenarios S.json --out R.sqlite [options]"},
     "The start state is the book after the log's events up to --at (default: the\n"
     "whole log). Every path of every scenario in S.json (kinds shock, historical,\n"
     "fhs, gbm, depeg, freeze; README, \"Stress tests\") forks from it and applies its\n"
     "price path through the same engine: margin, liquidation rounds, impact, the\n"
     "insurance fund, ADL, socialized loss. Each path's bad debt, fund, liquidations,\n"
     "largest deficit and state hash go into stress_paths; per scenario, VaR and ES\n"
     "at 95, 97.5 and 99 % of bad debt, liquidated notional and insurance drawdown\n"
     "(losses from the largest, w = n(1 - alpha), VaR = L(ceil w), ES = (sum of the\n"
     "floor(w) largest + (w - floor w) L(floor w + 1)) / w, exact, rounded down), the\n"
     "paths that exhaust the fund, cover-1 and cover-2 of the worst path, and each\n"
     "account's 99 % VaR and ES of its equity loss against its maintenance margin.\n"
     "Everything is checked before a path runs; one transaction; the database is the\n"
     "same whatever --jobs is. With --shard I/N the database holds the shard's paths\n"
     "and what the merge needs of them; 'liqsim stress merge' joins the N shards.\n",
     {"DIR"},
     0,
     {
         {"config", 0, "C", "the configuration (JSON)"},
         {"events", 0, "E", "the event log: JSON Lines or binary"},
         {"scenarios", 0, "S.json", "the scenarios: {\"scenarios\": [...]} or one scenario object", true},
         {"out", 0, "R.sqlite", "the results database the stress tables go into", true},
         {"at", 0, "SEQ", "start from the book before event SEQ (default: after the whole log)"},
         {"jobs", 'j', "K", "worker threads (1 to 1024; default: the machine's cores)"},
         {"shard", 0, "I/N",
          "run the paths p with p mod N = I alone, for 'liqsim stress merge' to join (0 <= I < N; N at most "
          "the paths)"},
         {"json", 0, nullptr, "print one JSON object instead of the tables"},
         {"label", 0, "NAME", "the stress run's label (default: DIR's name, else E)"},
         {"busy-timeout", 0, "MS",
          "wait up to MS milliseconds for another writer of the results database (0 to 3600000, default "
          "5000)"},
         {"progress", 0, nullptr,
          "force the progress bar on stderr (default: only when stderr is a terminal)"},
         {"quiet", 0, nullptr, "no progress bar"},
     }},
    {"stress merge",
     "join the shards of a stress run into one database, with its statistics",
     {"liqsim stress merge OUT.sqlite IN.sqlite... [--json]"},
     "Joins the shards of one stress run (each written by 'liqsim stress run --shard\n"
     "I/N', one per input) into OUT as the unsharded run writes it: the stress_runs\n"
     "row, every path, and each scenario's statistics (VaR and ES, the fund's\n"
     "exhaustion, cover-1 and cover-2, the accounts' 99 % tails) computed from the\n"
     "shards' paths and tails. Refuses inputs of different runs, a shard given\n"
     "twice and missing shards before anything is written; one transaction. Prints\n"
     "the tables 'liqsim stress run' prints.\n",
     {"OUT.sqlite", "IN.sqlite..."},
     2,
     {
         {"json", 0, nullptr, "print one JSON object instead of the tables"},
         {"busy-timeout", 0, "MS",
          "wait up to MS milliseconds for another writer of OUT (0 to 3600000, default 5000)"},
     }},
    {"stress curve",
     "liquidatable notional and bad debt for instantaneous moves of each underlying",
     {"liqsim stress curve --config C --events E [--at SEQ] [--step S] [--max M] [--out R.sqlite] [--json]",
      "liqsim stress curve DIR [options]"},
     "From the start state (the book before event --at, default after the whole\n"
     "log), each underlying of the configuration's markets alone moved by -M ... -S\n"
     "and +S ... +M (default 0.01 to 0.50 in steps of 0.01): without the cascade, the\n"
     "units below maintenance at the moved price, their notional and their negative\n"
     "equity (nothing liquidated); with it, the move as one price event through the\n"
     "engine, its liquidations, liquidated notional and bad debt.\n",
     {"DIR"},
     0,
     {
         {"config", 0, "C", "the configuration (JSON)"},
         {"events", 0, "E", "the event log: JSON Lines or binary"},
         {"at", 0, "SEQ", "start from the book before event SEQ (default: after the whole log)"},
         {"step", 0, "S", "the step between moves (0.00001 to 0.5, default 0.01)"},
         {"max", 0, "M", "the largest move each way (0.00001 to 0.99, default 0.5)"},
         {"out", 0, "R.sqlite", "also store the curve in this results database (table stress_curve)"},
         {"jobs", 'j', "K", "worker threads (1 to 1024; default: the machine's cores)"},
         {"json", 0, nullptr, "print one JSON object instead of the table"},
         {"label", 0, "NAME", "the label (default: DIR's name, else E)"},
         {"busy-timeout", 0, "MS",
          "wait up to MS milliseconds for another writer of the results database (0 to 3600000, default "
          "5000)"},
     }},
    {"stress var",
     "VaR and ES of one asset's price series (historical or filtered historical)",
     {"liqsim stress var --prices P --asset A --alpha A [--side long|short] [--method hs|fhs] [--lambda L] "
      "[--json]"},
     "The simple-return losses of consecutive price events of asset A in P (a price\n"
     "log, JSON Lines or binary): a long's loss per unit of value from p(t) to\n"
     "p(t+1) is 1 - p(t+1)/p(t), a short's p(t+1)/p(t) - 1, each to 8 decimals\n"
     "rounded up. --method fhs rescales each loss by EWMA volatility, sigma(now) /\n"
     "sigma(t) (sigma^2 starts at the mean square, then lambda*sigma^2 + (1-lambda)*r^2\n"
     "after each return). VaR and ES at alpha by the fixed estimator: losses from the\n"
     "largest, w = n(1 - alpha), VaR = L(ceil w), ES = (sum of the floor(w) largest +\n"
     "(w - floor w) L(floor w + 1)) / w, exact in fixed point, rounded down. Prints\n"
     "n, VaR, ES, the worst and the mean loss.\n",
     {},
     0,
     {
         {"prices", 0, "P", "the price log (JSON Lines or binary); events other than A's prices are skipped",
          true},
         {"asset", 0, "A", "the asset whose prices to read", true},
         {"alpha", 0, "ALPHA", "the confidence level, strictly between 0 and 1 (0.99)", true},
         {"side", 0, "long|short", "the position whose loss is measured (default long)"},
         {"method", 0, "hs|fhs", "historical simulation (default) or filtered historical simulation"},
         {"lambda", 0, "L", "the EWMA decay of --method fhs, strictly between 0 and 1 (default 0.94)"},
         {"json", 0, nullptr, "print one JSON object"},
     }},
    {"results merge",
     "join the shards of a sweep into one database",
     {"liqsim results merge OUT.sqlite IN.sqlite..."},
     "Copies the shards of one sweep (each written by 'liqsim sweep --shard I/N')\n"
     "into OUT as the unsharded sweep writes them: the prefix run (with --at), then\n"
     "every point's run in point order, and one sweeps row. Refuses inputs of\n"
     "different sweeps, a shard given twice, points in two inputs and missing\n"
     "points, before anything is written; the merge is one transaction.\n",
     {"OUT.sqlite", "IN.sqlite..."},
     2,
     {
         {"busy-timeout", 0, "MS",
          "wait up to MS milliseconds for another writer of OUT (0 to 3600000, default 5000)"},
     }},
    {"log convert",
     "JSON Lines -> binary log, or binary -> JSON Lines",
     {"liqsim log convert IN OUT"},
     "Converts JSON Lines to the binary log, or the binary log to JSON Lines (told by\n"
     "IN's first bytes). Writes OUT.tmp-PID-N, fsyncs it and renames it to OUT (a\n"
     "regular file; for a pipe or device use 'liqsim log cat').\n",
     {"IN", "OUT"},
     2,
     {}},
    {"log verify",
     "checks every record of a log",
     {"liqsim log verify LOG"},
     "Checks every record (JSON Lines or binary) and prints a summary. Exit 3 on a\n"
     "corrupt or torn (truncated) binary log, naming the first bad record by byte\n"
     "offset and seq; 2 on bad JSON Lines. A record that a live append is writing\n"
     "is not a torn tail: exit 0, verified up to the last complete record.\n",
     {"LOG"},
     1,
     {}},
    {"log cat",
     "prints a log as canonical JSON Lines",
     {"liqsim log cat LOG"},
     "Prints the log as canonical JSON Lines on stdout (a torn tail is end of file\n"
     "plus a warning).\n",
     {"LOG"},
     1,
     {}},
    {"log append",
     "appends JSON Lines events from stdin to a binary log",
     {"liqsim log append LOG < EVENTS.jsonl"},
     "Appends JSON Lines events from stdin to a binary log (created if missing).\n"
     "All of stdin is validated first; nothing is appended unless all of it is\n"
     "valid. Reports only after fsync.\n",
     {"LOG"},
     1,
     {}},
    {"log repair",
     "cuts a torn tail off a binary log",
     {"liqsim log repair LOG"},
     "Cuts a torn tail (a crash mid-append) off a binary log; refuses a log that is\n"
     "corrupt before its end (exit 3). A 0-byte file or a cut header (a crash at\n"
     "creation) gets its header.\n",
     {"LOG"},
     1,
     {}},
    {"import candles",
     "OHLCV candles CSV -> price events",
     {"liqsim import candles --asset A --in FILE.csv [options]"},
     "A candle becomes ticks open, low, high, close (bar closes up or flat) or\n"
     "open, high, low, close (bar closes down) at t0 + k*bar/4; a tick equal to\n"
     "the previous one is dropped unless --keep-repeats. --repair fills gaps by\n"
     "carrying the previous close, keeps the first of duplicates, widens high/low\n"
     "and drops bad rows; it fills at most 1,000,000 bars per gap and 1,000,000\n"
     "plus one per data row in all.\n",
     {},
     0,
     {
         {"asset", 0, "A", "the asset the prices are for (not USD)", true},
         {"in", 0, "FILE.csv", "the candles (a regular file)", true},
         {"layout", 0, "LAYOUT",
          "the CSV layout: auto (default: told by the header), coinapi, binanceus or kline"},
         {"ticks-per-bar", 0, "N",
          "ticks per candle: 4 open, low/high, high/low, close (default); 2 open, close; "
          "1 the close, at the bar's start"},
         {"bar-seconds", 0, "S",
          "the bar length in seconds (default: CoinAPI's period, else the smallest step "
          "between rows)"},
         {"repair", 0, nullptr, "repair what strict mode refuses, reporting each repair on stderr"},
         {"from", 0, "T", "keep bars opening at or after T (RFC 3339 or ms)"},
         {"to", 0, "T", "keep bars opening before T (RFC 3339 or ms)"},
         {"max-move", 0, "R",
          "clip a bar's high to max(open,close)*(1+R) and its low to min(open,close)*(1-R); "
          "R in (0, 1)"},
         {"keep-repeats", 0, nullptr, "keep a tick equal to the one before it"},
         {"out", 0, "OUT.jsonl", "write the events to this file instead of stdout"},
     }},
    {"import trades",
     "trade-by-trade CSV (time, price[, qty]) -> price events",
     {"liqsim import trades --asset A --in FILE.csv [options]"},
     "Each trade becomes a `price` event at its time; a price equal to the one\n"
     "before it is dropped unless --keep-repeats. Columns are found by header name\n"
     "(time|timestamp|ts..., price|close|px, qty|quantity|size|amount|volume) or\n"
     "position. --repair drops malformed rows, non-positive prices or quantities\n"
     "and rows whose time goes backwards.\n",
     {},
     0,
     {
         {"asset", 0, "A", "the asset the prices are for (not USD)", true},
         {"in", 0, "FILE.csv", "the trades (a regular file)", true},
         {"time-unit", 0, "UNIT", "the unit of numeric times: auto (default), s, ms or us"},
         {"time-col", 0, "NAME", "the time column's header name"},
         {"price-col", 0, "NAME", "the price column's header name"},
         {"qty-col", 0, "NAME", "the quantity column's header name"},
         {"shift-ms", 0, "N",
          "add N milliseconds to every time (may be negative; at most a year either way)"},
         {"repair", 0, nullptr, "drop the rows strict mode refuses, reporting each on stderr"},
         {"from", 0, "T", "keep trades at or after T (RFC 3339 or ms)"},
         {"to", 0, "T", "keep trades before T (RFC 3339 or ms)"},
         {"keep-repeats", 0, nullptr, "keep a price equal to the one before it"},
         {"out", 0, "OUT.jsonl", "write the events to this file instead of stdout"},
     }},
    {"gen population",
     "seeded synthetic accounts: deposits and opening trades",
     {"liqsim gen population --accounts N --seed S --market M --asset A --price P [options]"},
     "Writes, for each account acct-000001..., its collateral deposit(s) and one\n"
     "opening trade at --price and --ts (qty = equity x leverage / price, floored\n"
     "to 8 dp). No price event unless --with-price: a trade needs a price of its\n"
     "underlying first, so put the price stream (or --with-price) before it.\n"
     "Keep --max-leverage below 1 / initial_margin_ratio of the market in the\n"
     "config, or the engine rejects the opening trades. Collateral of the market's\n"
     "asset is valued at --price, USDC/USDT/DAI/BUSD at 1 unless --asset-price says\n"
     "otherwise; isolated accounts always deposit USD. --out FILE also writes\n"
     "FILE.meta.json (seed, parameters, generator, version, output hash); without\n"
     "--out or --meta the meta goes to stderr. Same seed and parameters give the\n"
     "same bytes on every machine. See tools/POPULATION.md.\n",
     {},
     0,
     {
         {"accounts", 0, "N", "how many accounts (a positive integer)", true},
         {"seed", 0, "S", "the seed (an unsigned 64-bit integer)", true},
         {"market", 0, "M", "the market of the opening trades, e.g. ETH-PERP", true},
         {"asset", 0, "A", "the market's underlying, e.g. ETH", true},
         {"price", 0, "P", "the price of the opening trades and of --asset collateral", true},
         {"ts", 0, "T", "the time of every event (RFC 3339 or ms; default 0)"},
         {"leverage-mean", 0, "X", "mean effective leverage before the cap (default 10)"},
         {"max-leverage", 0, "X", "the leverage cap (default 20)"},
         {"equity-median", 0, "USD", "median account equity (default 2000)"},
         {"isolated-share", 0, "R", "share of isolated-margin accounts (default 0.3)"},
         {"long-share", 0, "R", "share of long accounts (default 0.5)"},
         {"collateral", 0, "ASSET:W,...",
          "the collateral mix, e.g. USD:0.7,ETH:0.2,USDC:0.1 (default USD:1)"},
         {"collateral-mode", 0, "MODE",
          "pick: one asset per account, drawn by weight (default); split: every "
          "asset in proportion"},
         {"asset-price", 0, "ASSET:P,...", "the generator's price of a collateral asset other than --asset",
          false, true},
         {"with-price", 0, nullptr, "write a price event of --asset at --ts first"},
         {"account-prefix", 0, "PREFIX", "account names are PREFIX000001... (default acct-)"},
         {"out", 0, "FILE.jsonl",
          "write the events here (and the meta to FILE.jsonl.meta.json), not to stdout"},
         {"meta", 0, "FILE.meta.json", "write the meta JSON here"},
     }},
    {"report",
     "the HTML report of a results database",
     {"liqsim report RUN.sqlite -o REPORT.html [--run ID] [--baseline ID]"},
     "Writes one self-contained HTML page (inline SVG charts, no scripts, no\n"
     "network) from a results database written by 'liqsim replay --out' or\n"
     "'liqsim sweep'. Without --run it shows the newest complete run; with several\n"
     "runs in the database it adds a comparison, one sortable row per run. A sweep\n"
     "gets one row per point, a heatmap (two axes) or line charts (one axis) and\n"
     "each point's configuration against the sweep's base. Differences are shown\n"
     "against the baseline run; a rerun of an identical run is flagged.\n",
     {"RUN.sqlite"},
     1,
     {
         {"out", 'o', "REPORT.html", "the HTML file to write", true},
         {"run", 0, "ID", "the run to show (a positive run id; default the newest complete run)"},
         {"baseline", 0, "ID",
          "the run every difference is against (a complete run's id; default a sweep's first point, "
          "else the first run compared)"},
     }},
    // Parsed by cmd_bench.cpp itself for now; described here so that `liqsim
    // help bench` and `liqsim --help` show it.
    {"bench",
     "speed and memory at 1e3 ... 1e6 accounts",
     {"liqsim bench [--quick] [--no-day] [--ticks N] [--params N] [--no-e2e | --e2e-only] [--e2e-ticks N]\n"
      "             [--crash-accounts N] [--sweep-points N] [--flagship DIR]\n"
      "             [--stress-paths N] [--stress-at SEQ] [--stress-book N] [--stress-book-paths N]"},
     "Builds seeded workloads in-process and prints, per size, set-up events/s,\n"
     "price ticks/s that liquidate no one, a crash, the reference scan on the same\n"
     "ticks, bytes per account and peak RSS, then a one-day replay at 1e6 accounts.\n"
     "Then, end to end: `liqsim replay` itself as a child process on files (quiet\n"
     "ticks from JSON Lines and from the binary log, the flagship with and without\n"
     "--journal, --out and --report, a crash from a file), with its events/s, peak\n"
     "RSS and its cost over the engine's alone. Then sweeps of the flagship and\n"
     "stress runs: GBM paths/s from the flagship's book, the cost of a fork, and\n"
     "paths from a 1e6-account book.\n",
     {},
     0,
     {
         {"quick", 0, nullptr, "sizes 1e3..1e5 only, no one-day replay"},
         {"no-day", 0, nullptr, "skip the one-day 1e6-account crash replay"},
         {"no-e2e", 0, nullptr, "skip the end-to-end table"},
         {"e2e-only", 0, nullptr, "only the end-to-end table"},
         {"e2e-ticks", 0, "N", "quiet ticks of the end-to-end rows (default 10000000, 1000000 with --quick)"},
         {"crash-accounts", 0, "N",
          "accounts of the end-to-end crash row (default 1000000, 100000 with --quick; 0 skips it)"},
         {"sweep-points", 0, "N",
          "points of the flagship sweeps at --jobs 1 and 2, with and without --at (default 20, 6 with "
          "--quick; "
          "0 skips them)"},
         {"flagship", 0, "DIR", "the scenario of the flagship rows (default replays/eth-2020-03-12)"},
         {"stress-paths", 0, "N",
          "GBM paths of the flagship stress runs at --jobs 2, a tenth of them at --jobs 1 (default 10000, "
          "1000 with --quick; 0 skips them)"},
         {"stress-at", 0, "SEQ", "the flagship stress runs' start event (default 40001: before the crash)"},
         {"stress-book", 0, "N",
          "accounts of the big-book stress row (default 1000000, 0 with --quick: skipped)"},
         {"stress-book-paths", 0, "N", "paths of the big-book stress row (default 200)"},
         {"ticks", 0, "N", "quiet ticks per size (default 2000000)"},
         {"params", 0, "N",
          "param events per key and size (default 2000, a twentieth of it for "
          "maintenance_margin_ratio at 1e6 accounts; 0 skips the params table)"},
     }},
};

// ---------------------------------------------------------------------------
// Help text.

constexpr unsigned kLineLength = 80;
constexpr const char* kOperandKey = "operand";  // the hidden option that collects operands

std::string long_name(const OptionSpec& o) { return std::string("--") + o.name; }

// "'--out' (-o)" or "'--asset'": an option as messages name it.
std::string shown_name(const OptionSpec& o) {
  std::string s = "'" + long_name(o) + "'";
  if (o.short_name != 0) s += std::string(" (-") + o.short_name + ")";
  return s;
}

po::options_description options_table(const CommandSpec& spec, bool with_help, unsigned line_length,
                                      const char* caption = "options") {
  po::options_description table(caption, line_length, line_length / 2);
  auto add = table.add_options();
  for (const OptionSpec& o : spec.options) {
    std::string names = o.name;
    if (o.short_name != 0) names += std::string(",") + o.short_name;
    std::string help = o.help;
    if (o.required) help += " (required)";
    if (o.repeatable) help += " (may be given more than once)";
    if (o.value_name == nullptr)
      add(names.c_str(), help.c_str());
    else if (o.repeatable)
      add(names.c_str(), po::value<std::vector<std::string>>()->value_name(o.value_name), help.c_str());
    else
      add(names.c_str(), po::value<std::string>()->value_name(o.value_name), help.c_str());
  }
  if (with_help) add("help,h", "print this help");
  return table;
}

std::string usage_lines(const CommandSpec& spec, const char* first_prefix, const char* prefix) {
  std::string s;
  for (std::size_t i = 0; i < spec.usage.size(); ++i)
    s += std::string(i == 0 ? first_prefix : prefix) + spec.usage[i] + "\n";
  return s;
}

std::string indent(const std::string& text, const std::string& by) {
  std::string out;
  std::size_t begin = 0;
  while (begin < text.size()) {
    std::size_t end = text.find('\n', begin);
    if (end == std::string::npos) end = text.size();
    if (end > begin) out += by;
    out.append(text, begin, end - begin);
    out += '\n';
    begin = end + 1;
  }
  return out;
}

// Boost's table, without the spaces it leaves at the end of wrapped lines.
std::string table_text(const po::options_description& table) {
  std::ostringstream s;
  s << table;
  std::string text = s.str(), out;
  std::size_t begin = 0;
  while (begin < text.size()) {
    std::size_t end = text.find('\n', begin);
    if (end == std::string::npos) end = text.size();
    std::size_t last = end;
    while (last > begin && text[last - 1] == ' ') --last;
    out.append(text, begin, last - begin);
    out += '\n';
    begin = end + 1;
  }
  return out;
}

std::vector<const CommandSpec*> subcommands_of(std::string_view group) {
  std::vector<const CommandSpec*> subs;
  for (const CommandSpec& c : kCommands) {
    std::string_view path = c.path;
    if (path.size() > group.size() && path.substr(0, group.size()) == group && path[group.size()] == ' ')
      subs.push_back(&c);
  }
  return subs;
}

// ---------------------------------------------------------------------------
// Edit distance: optimal string alignment (Levenshtein plus transposition of
// two neighbours), so "--lable" is one edit from "--label".
std::size_t edit_distance(std::string_view a, std::string_view b) {
  const std::size_t n = a.size(), m = b.size();
  std::vector<std::vector<std::size_t>> d(n + 1, std::vector<std::size_t>(m + 1, 0));
  for (std::size_t i = 0; i <= n; ++i) d[i][0] = i;
  for (std::size_t j = 0; j <= m; ++j) d[0][j] = j;
  for (std::size_t i = 1; i <= n; ++i)
    for (std::size_t j = 1; j <= m; ++j) {
      const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  return d[n][m];
}

std::string_view without_dashes(std::string_view s) {
  while (!s.empty() && s.front() == '-') s.remove_prefix(1);
  return s;
}

std::string with_suggestion(std::string message, std::string_view word,
                            const std::vector<std::string>& candidates) {
  std::string best = closest_match(word, candidates);
  if (!best.empty()) message += "; did you mean '" + best + "'?";
  return message;
}

// Whether TOKEN, met where a value was expected, is one of SPEC's options
// (`--out --json`: the value of --out is missing, not "--json").
bool names_an_option(const CommandSpec& spec, const std::string& token) {
  if (token == "--help" || token == "-h") return true;
  for (const OptionSpec& o : spec.options) {
    if (o.short_name != 0 && token == std::string("-") + o.short_name) return true;
    const std::string name = long_name(o);
    if (token.rfind(name, 0) == 0 && (token.size() == name.size() || token[name.size()] == '=')) return true;
  }
  return false;
}

const OptionSpec* find_option(const CommandSpec& spec, std::string_view long_name_without_dashes) {
  for (const OptionSpec& o : spec.options)
    if (long_name_without_dashes == o.name) return &o;
  return nullptr;
}

std::vector<std::string> option_names(const CommandSpec& spec) {
  std::vector<std::string> names = {"--help", "-h"};
  for (const OptionSpec& o : spec.options) {
    names.push_back(long_name(o));
    if (o.short_name != 0) names.push_back(std::string("-") + o.short_name);
  }
  return names;
}

Error usage(std::string message) { return make_error(ErrorKind::usage, std::move(message)); }

std::string quoted(const std::string& value) { return "'" + excerpt(value) + "'"; }

constexpr int kStyle = po::command_line_style::allow_long | po::command_line_style::long_allow_adjacent |
                       po::command_line_style::long_allow_next | po::command_line_style::allow_short |
                       po::command_line_style::short_allow_adjacent |
                       po::command_line_style::short_allow_next |
                       po::command_line_style::allow_dash_for_short;

// Boost's parse of the tokens, its exceptions turned into usage Errors.
Result<po::parsed_options> run_parser(const CommandSpec& spec, const std::vector<std::string>& tokens) {
  po::options_description table = options_table(spec, true, kLineLength);
  table.add_options()(kOperandKey, po::value<std::vector<std::string>>(), "");
  po::positional_options_description positional;
  positional.add(kOperandKey, -1);
  auto shown = [&](const std::string& boost_name) {
    const OptionSpec* o = find_option(spec, without_dashes(boost_name));
    return o != nullptr ? shown_name(*o) : "'" + boost_name + "'";
  };
  try {
    return po::command_line_parser(tokens).options(table).positional(positional).style(kStyle).run();
  } catch (const po::unknown_option& e) {
    std::string token = e.get_option_name();
    if (auto eq = token.find('='); eq != std::string::npos) token.resize(eq);
    return usage(with_suggestion("unknown option '" + excerpt(token) + "'", token, option_names(spec)));
  } catch (const po::invalid_command_line_syntax& e) {
    const std::string name = shown(e.get_option_name());
    if (e.kind() == po::invalid_syntax::empty_adjacent_parameter) {  // "--flag=" or "--unknown="
      const OptionSpec* o = find_option(spec, without_dashes(e.get_option_name()));
      if (o != nullptr || e.get_option_name() == "--help")
        return usage("option " + name + " is a flag and takes no value");
      const std::string token = "--" + std::string(without_dashes(e.get_option_name()));
      return usage(with_suggestion("unknown option '" + excerpt(token) + "'", token, option_names(spec)));
    }
    switch (e.kind()) {
      case po::invalid_syntax::missing_parameter:
        return usage("option " + name + " needs a value");
      case po::invalid_syntax::extra_parameter:
        return usage("option " + name + " is a flag and takes no value");
      default:
        return usage("option " + name + ": " + e.what());
    }
  } catch (const po::error& e) {
    return usage(e.what());
  }
}

}  // namespace

// ---------------------------------------------------------------------------

const CommandSpec* find_command(std::string_view path) {
  for (const CommandSpec& c : kCommands)
    if (path == c.path) return &c;
  return nullptr;
}

const GroupSpec* find_group(std::string_view name) {
  for (const GroupSpec& g : kGroups)
    if (name == g.name) return &g;
  return nullptr;
}

const std::vector<CommandSpec>& command_specs() { return kCommands; }

std::string command_help(const CommandSpec& spec) {
  std::string s = usage_lines(spec, "usage: ", "       ");
  s += "\n";
  s += spec.description;
  s += "\n";
  s += table_text(options_table(spec, true, kLineLength));
  return s;
}

std::string group_help(const GroupSpec& group) {
  std::string s =
      std::string("usage: liqsim ") + group.name + " SUBCOMMAND ...   (" + group.summary + ")\n\n";
  if (*group.description != '\0') s += std::string(group.description) + "\n";
  for (const CommandSpec* sub : subcommands_of(group.name)) {
    s += std::string("--- liqsim ") + sub->path + ": " + sub->summary + "\n";
    s += command_help(*sub);
    s += "\n";
  }
  s += std::string("'liqsim help ") + group.name + " SUBCOMMAND' prints one of these.\n";
  return s;
}

std::string top_help() {
  std::string s =
      "liqsim — deterministic, event-sourced liquidation simulator\n"
      "\n"
      "usage: liqsim COMMAND [SUBCOMMAND] [options] [operands]\n"
      "       liqsim help [COMMAND [SUBCOMMAND]]   the help of one command (also COMMAND --help)\n"
      "       liqsim --version\n"
      "\n"
      "Options are written --name VALUE or --name=VALUE, in any order among the\n"
      "operands; -- ends the options. Every command answers --help (-h).\n"
      "\n"
      "commands:\n";
  for (const CommandSpec& c : kCommands) {
    s += std::string("\n  ") + c.path + ": " + c.summary + "\n";
    s += usage_lines(c, "    ", "    ");
    if (!c.options.empty()) s += indent(table_text(options_table(c, false, kLineLength - 4, "")), "    ");
  }
  s += "\nexit codes: 0 success, 2 usage/configuration/input error, 3 corrupt or truncated log\n";
  return s;
}

std::string ParsedOptions::get(std::string_view name, const std::string& default_value) const {
  auto it = values_.find(name);
  return it == values_.end() || it->second.empty() ? default_value : it->second.back();
}

std::vector<std::string> ParsedOptions::all(std::string_view name) const {
  auto it = values_.find(name);
  return it == values_.end() ? std::vector<std::string>{} : it->second;
}

Result<std::int64_t> ParsedOptions::integer(std::string_view name, std::int64_t default_value,
                                            std::int64_t low, std::int64_t high) const {
  if (!has(name)) return default_value;
  const std::string v = get(name);
  const std::size_t start = !v.empty() && v[0] == '-' ? 1 : 0;
  if (v.size() == start || v.size() - start > 18 ||
      v.find_first_not_of("0123456789", start) != std::string::npos)
    return make_error(ErrorKind::usage, "not an integer: " + quoted(v), std::string(name));
  const std::int64_t x = std::stoll(v);
  if (x < low || x > high)
    return make_error(
        ErrorKind::usage,
        "must be between " + std::to_string(low) + " and " + std::to_string(high) + ", not " + quoted(v),
        std::string(name));
  return x;
}

Result<ParsedOptions> parse_command_line(const CommandSpec& spec, const Args& args, std::size_t first) {
  ParsedOptions p;
  // --help anywhere before "--" wins, and `--opt=` is `--opt ""` (Boost
  // refuses an empty value after '=').
  std::vector<std::string> tokens;
  bool options_ended = false;
  for (std::size_t i = first; i < args.size(); ++i) {
    const std::string& t = args[i];
    if (!options_ended) {
      if (t == "--") options_ended = true;
      if (t == "--help" || t == "-h") {
        p.help = true;
        return p;
      }
      // "--=x" (no name) and the hidden option that collects operands are
      // unknown options.
      const std::string_view name = std::string_view(t).substr(0, t.find('='));
      if (t.rfind("--=", 0) == 0 || name == std::string("--") + kOperandKey)
        return usage(with_suggestion(
            "unknown option '" + excerpt(t.rfind("--=", 0) == 0 ? t : std::string(name)) + "'", name,
            option_names(spec)));
      if (t.size() > 3 && t.rfind("--", 0) == 0 && t.find('=') == t.size() - 1) {
        const OptionSpec* o = find_option(spec, std::string_view(t).substr(2, t.size() - 3));
        if (o != nullptr && o->value_name != nullptr) {
          tokens.push_back(t.substr(0, t.size() - 1));
          tokens.emplace_back();
          continue;
        }
      }
    }
    tokens.push_back(t);
  }
  auto parsed = run_parser(spec, tokens);
  if (!parsed) return parsed.error();
  for (const po::option& o : parsed->options) {
    if (o.string_key == kOperandKey) {
      if (o.position_key < 0)
        return usage(
            with_suggestion("unknown option '--" + o.string_key + "'", o.string_key, option_names(spec)));
      p.operands_.insert(p.operands_.end(), o.value.begin(), o.value.end());
      continue;
    }
    const OptionSpec* spec_option = find_option(spec, o.string_key);
    if (spec_option == nullptr) continue;  // --help, handled above
    std::vector<std::string>& slot = p.values_[long_name(*spec_option)];
    if (spec_option->value_name == nullptr) {  // a flag: given twice is given
      if (slot.empty()) slot.emplace_back();
      continue;
    }
    const std::string value = o.value.empty() ? std::string() : o.value.front();
    if (o.original_tokens.size() >= 2 && names_an_option(spec, value))
      return usage("option " + shown_name(*spec_option) + " needs a value, and " + quoted(value) +
                   " is an option (write " + long_name(*spec_option) +
                   "=VALUE for a value that starts with '-')");
    if (!slot.empty() && !spec_option->repeatable)
      return usage("option " + shown_name(*spec_option) + " given twice (" + quoted(slot.front()) + " and " +
                   quoted(value) + ")");
    slot.push_back(value);
  }
  for (const OptionSpec& o : spec.options)
    if (o.required && !p.has(long_name(o)))
      return usage((o.short_name != 0 ? std::string("-") + o.short_name : long_name(o)) + " " + o.value_name +
                   " is required");
  // An operand named "NAME..." (the last) takes any number of arguments.
  const bool variadic = !spec.operands.empty() && std::string_view(spec.operands.back()).ends_with("...");
  if (!variadic && p.operands_.size() > spec.operands.size())
    return usage("unexpected argument " + quoted(p.operands_[spec.operands.size()]));
  if (p.operands_.size() < spec.min_operands) {
    std::string missing;
    for (std::size_t i = p.operands_.size(); i < spec.min_operands; ++i)
      missing += std::string(missing.empty() ? "" : " ") + spec.operands[i];
    return usage("missing " + missing + "; usage: " + spec.usage.front());
  }
  return p;
}

Result<ParsedOptions> parse_command_line(std::string_view path, const Args& args, std::size_t first) {
  const CommandSpec* spec = find_command(path);
  LIQSIM_ASSERT(spec != nullptr, "every command is described in options.cpp");
  return parse_command_line(*spec, args, first);
}

std::string closest_match(std::string_view word, const std::vector<std::string>& candidates) {
  const std::string_view core = without_dashes(word);
  std::string best;
  std::size_t best_distance = 0;
  for (const std::string& c : candidates) {
    const std::string_view c_core = without_dashes(c);
    const std::size_t d = edit_distance(core, c_core);
    const std::size_t longer = std::max(core.size(), c_core.size());
    // The same name with other dashes, or a likely typo: at most two edits,
    // fewer than the word has letters, and not most of the longer name.
    if (d != 0 && (d > 2 || d >= core.size() || 2 * d > longer)) continue;
    if (best.empty() || d < best_distance || (d == best_distance && c < best)) {
      best = c;
      best_distance = d;
    }
  }
  return best;
}

int print_help(std::string_view path) {
  std::string text;
  if (const CommandSpec* c = find_command(path))
    text = command_help(*c);
  else if (const GroupSpec* g = find_group(path))
    text = group_help(*g);
  else
    text = top_help();
  std::fputs(text.c_str(), stdout);
  return 0;
}

}  // namespace liqsim::cli
