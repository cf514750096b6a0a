// merge.cpp — `liqsim stress merge`: the shards of one stress run (each
// written by `liqsim stress run --shard I/N`) joined into the database the
// unsharded run writes (stress_run.hpp).
//
// A shard holds its stress_runs row, its stress_paths rows and, per scenario,
// what the statistics need of its paths beyond their rows: the worst path's
// two largest defaulters (stress_shard_scenarios) and each assessed
// account's largest equity losses (stress_shard_tails, at most the count the
// 99 % estimator reads of the whole run). The merge checks that the inputs
// are every shard of one run once, copies the rows and recomputes each
// scenario's statistics from them with the accumulator the unsharded run
// uses.
#include <algorithm>
#include <charconv>
#include <map>

#include "liqsim/results.hpp"
#include "liqsim/stress_run.hpp"

namespace liqsim {

namespace {

using i128 = __int128;
using Row = ResultsReader::Row;
using Value = ResultsDb::SqlValue;

// The stress_runs columns every shard of one run has alike.
const char* const kRunKey[] = {
    "command",          "label",    "scenarios_json",   "config_json", "config_sha256",     "events_sha256",
    "at_seq",           "start_ts", "start_state_hash", "accounts",    "assessed_accounts", "insurance_fund",
    "insurance_fund_f", "paths",    "engine_version"};

Error refuse(const std::string& file, const std::string& what) {
  return make_file_error(ErrorKind::usage, file, what);
}

std::string text_of(const Value& v) {
  if (const auto* s = std::get_if<std::string>(&v)) return *s;
  if (const auto* i = std::get_if<std::int64_t>(&v)) return std::to_string(*i);
  return std::string();
}

std::int64_t int_of(const Value& v) {
  if (const auto* i = std::get_if<std::int64_t>(&v)) return *i;
  return -1;
}

// A decimal of the stress tables (at most 8 places; wider than 64 bits for
// an equity), as raw 1e-8 units.
std::optional<i128> wide_decimal(const std::string& t) {
  std::size_t i = 0;
  const bool neg = !t.empty() && t[0] == '-';
  if (neg) ++i;
  i128 whole = 0;
  std::size_t digits = 0;
  for (; i < t.size() && t[i] >= '0' && t[i] <= '9'; ++i, ++digits) {
    if (digits >= 30) return std::nullopt;
    whole = whole * 10 + (t[i] - '0');
  }
  if (digits == 0) return std::nullopt;
  i128 frac = 0;
  int places = 0;
  if (i < t.size() && t[i] == '.') {
    for (++i; i < t.size() && t[i] >= '0' && t[i] <= '9'; ++i) {
      if (++places > 8) return std::nullopt;
      frac = frac * 10 + (t[i] - '0');
    }
    if (places == 0) return std::nullopt;
  }
  if (i != t.size()) return std::nullopt;
  for (; places < 8; ++places) frac *= 10;
  const i128 raw = whole * kScale + frac;
  return neg ? -raw : raw;
}

struct ShardIn {
  std::string file;
  std::unique_ptr<ResultsReader> db;
  std::int64_t id = 0, index = 0, count = 0, shard_paths = 0;
  std::vector<std::string> run_columns;  // stress_runs' but id and finished_ms
  Row run;
  const Value& run_value(const std::string& column) const {
    static const Value none;
    for (std::size_t i = 0; i < run_columns.size(); ++i)
      if (run_columns[i] == column) return run[i];
    return none;
  }
};

Result<std::vector<Row>> rows(ResultsReader& db, const std::string& sql, const Row& args) {
  std::vector<Row> out;
  if (Status st = db.query(sql, args,
                           [&](const Row& r) -> Status {
                             out.push_back(r);
                             return {};
                           });
      !st)
    return st.error();
  return out;
}

Result<ShardIn> open_shard(const std::string& file) {
  ShardIn s;
  s.file = file;
  auto db = ResultsReader::open(file);
  if (!db) return db.error();
  s.db = std::move(*db);
  for (const char* table : {"stress_runs", "stress_shards", "stress_shard_scenarios", "stress_shard_accounts",
                            "stress_shard_tails", "stress_paths"}) {
    auto has = s.db->has_table(table);
    if (!has) return has.error();
    if (!*has)
      return refuse(file, "holds no shard of a stress run (no table " + std::string(table) +
                              "; 'liqsim stress run --shard I/N' writes one)");
  }
  auto found =
      rows(*s.db,
           "SELECT s.stress_id, s.shard_index, s.shard_count, s.shard_paths FROM stress_shards s "
           "JOIN stress_runs r ON r.id = s.stress_id WHERE r.finished_ms IS NOT NULL ORDER BY s.stress_id",
           {});
  if (!found) return found.error();
  if (found->empty()) return refuse(file, "holds no finished shard of a stress run");
  if (found->size() > 1)
    return refuse(file, "holds " + std::to_string(found->size()) +
                            " shards of stress runs; 'liqsim stress merge' takes one shard per file");
  const Row& f = found->front();
  s.id = int_of(f[0]);
  s.index = int_of(f[1]);
  s.count = int_of(f[2]);
  s.shard_paths = int_of(f[3]);
  if (s.count < 2 || s.index < 0 || s.index >= s.count || s.shard_paths < 0)
    return refuse(file, "stress_shards: shard " + text_of(f[1]) + "/" + text_of(f[2]) + " is not a shard");
  auto columns = s.db->columns("stress_runs");
  if (!columns) return columns.error();
  std::string sql = "SELECT ";
  for (const std::string& c : *columns) {
    if (c == "id" || c == "finished_ms") continue;
    sql += (s.run_columns.empty() ? "" : ", ") + c;
    s.run_columns.push_back(c);
  }
  auto run = rows(*s.db, sql + " FROM stress_runs WHERE id = ?", {s.id});
  if (!run) return run.error();
  if (run->size() != 1) return refuse(file, "stress_runs: no row for stress run " + std::to_string(s.id));
  s.run = std::move(run->front());
  return s;
}

Result<ScenarioKind> kind_of(const std::string& file, const std::string& name) {
  for (ScenarioKind k : {ScenarioKind::shock, ScenarioKind::historical, ScenarioKind::fhs, ScenarioKind::gbm,
                         ScenarioKind::depeg, ScenarioKind::freeze})
    if (name == scenario_kind_name(k)) return k;
  return refuse(file, "stress_shard_scenarios: unknown kind '" + name + "'");
}

// The scenarios and assessed accounts of shard SHARD, into FRAME (the first
// shard) or checked against it (the others).
Status read_frame(const ShardIn& shard, StressFrame& frame, Symbols& symbols, bool first) {
  const std::string& file = shard.file;
  auto sc = rows(*shard.db,
                 "SELECT scenario, name, kind, spec_json, paths, first_path FROM stress_shard_scenarios "
                 "WHERE stress_id = ? ORDER BY scenario",
                 {shard.id});
  if (!sc) return sc.error();
  if (!first && sc->size() != frame.scenarios.size())
    return refuse(file, "stress_shard_scenarios: " + std::to_string(sc->size()) + " scenarios, not " +
                            std::to_string(frame.scenarios.size()));
  std::int64_t next = 0;
  for (std::size_t i = 0; i < sc->size(); ++i) {
    const Row& r = (*sc)[i];
    const std::int64_t paths = int_of(r[4]), first_path = int_of(r[5]);
    if (int_of(r[0]) != static_cast<std::int64_t>(i) || paths < 1 || first_path != next)
      return refuse(file, "stress_shard_scenarios: scenario " + text_of(r[0]) + " is out of order");
    next += paths;
    if (first) {
      Scenario s;
      s.name = text_of(r[1]);
      auto kind = kind_of(file, text_of(r[2]));
      if (!kind) return kind.error();
      s.kind = *kind;
      s.spec_json = text_of(r[3]);
      s.paths = paths;
      frame.scenarios.push_back(std::move(s));
      frame.first_path.push_back(first_path);
    } else {
      const Scenario& s = frame.scenarios[i];
      if (s.name != text_of(r[1]) || scenario_kind_name(s.kind) != text_of(r[2]) ||
          s.spec_json != text_of(r[3]) || s.paths != paths)
        return refuse(file, "stress_shard_scenarios: scenario " + std::to_string(i) +
                                " differs from the first shard's");
    }
  }
  if (next != frame.paths)
    return refuse(file, "stress_shard_scenarios: the scenarios have " + std::to_string(next) +
                            " paths, not " + std::to_string(frame.paths));
  std::size_t a = 0;
  Status bad;
  Status st = shard.db->query(
      "SELECT account_index, account, equity, maintenance FROM stress_shard_accounts WHERE stress_id = ? "
      "ORDER BY account_index",
      {shard.id}, [&](const Row& r) -> Status {
        const std::string where = "stress_shard_accounts: account " + text_of(r[0]);
        if (int_of(r[0]) != static_cast<std::int64_t>(a)) return refuse(file, where + " is out of order");
        const std::string name = text_of(r[1]);
        auto equity = wide_decimal(text_of(r[2]));
        auto maintenance = parse_decimal_raw(text_of(r[3]));
        if (name.empty() || !equity || !maintenance) return refuse(file, where + ": a field is not valid");
        if (first) {
          StressAccount x;
          x.name = symbols.intern(name);
          x.engine_index = a;
          x.equity = *equity;
          x.maintenance = *maintenance;
          frame.accounts.push_back(x);
        } else if (a >= frame.accounts.size() || symbols.name(frame.accounts[a].name) != name ||
                   frame.accounts[a].equity != *equity || frame.accounts[a].maintenance != *maintenance) {
          return refuse(file, where + " differs from the first shard's");
        }
        ++a;
        return {};
      });
  if (!st) return st;
  const std::int64_t assessed = int_of(shard.run_value("assessed_accounts"));
  if (static_cast<std::int64_t>(a) != assessed || (!first && a != frame.accounts.size()))
    return refuse(file, "stress_shard_accounts: " + std::to_string(a) + " accounts, not the " +
                            std::to_string(assessed) + " assessed");
  return {};
}

// Checks that SHARD's stress_paths rows are its paths, all of them.
Status check_paths(const ShardIn& shard, std::int64_t paths) {
  auto n = rows(
      *shard.db,
      "SELECT COUNT(*), SUM(path < 0 OR path >= ? OR path % ? != ?) FROM stress_paths WHERE stress_id = ?",
      {paths, shard.count, shard.index, shard.id});
  if (!n) return n.error();
  const std::int64_t count = int_of(n->front()[0]), stray = std::max<std::int64_t>(0, int_of(n->front()[1]));
  const std::int64_t expected = shard_path_count(paths, Shard{shard.index, shard.count});
  if (stray > 0)
    return refuse(shard.file, "stress_paths: " + std::to_string(stray) + " paths are not shard " +
                                  std::to_string(shard.index) + "/" + std::to_string(shard.count) + "'s");
  if (count != expected || shard.shard_paths != expected)
    return refuse(shard.file, "stress_paths: " + std::to_string(count) + " paths, not the " +
                                  std::to_string(expected) + " of shard " + std::to_string(shard.index) +
                                  "/" + std::to_string(shard.count));
  return {};
}

// SHARD's worst paths and tails into the accumulators.
Status read_parts(const ShardIn& shard, StressFrame& frame, Symbols& symbols,
                  std::vector<ScenarioAccumulator>& acc) {
  const std::string& file = shard.file;
  Status st = shard.db->query(
      "SELECT scenario, worst_path, worst_bad_debt, cover1_account, cover1, cover2_account, cover2 "
      "FROM stress_shard_scenarios WHERE stress_id = ? ORDER BY scenario",
      {shard.id}, [&](const Row& r) -> Status {
        const auto s = static_cast<std::size_t>(int_of(r[0]));
        const std::int64_t worst = int_of(r[1]);
        if (worst < 0) return {};  // no path of this scenario in the shard
        auto bad = wide_decimal(text_of(r[2]));
        if (!bad) return refuse(file, "stress_shard_scenarios: worst_bad_debt is not a decimal");
        std::vector<std::pair<Sym, UsdSum>> cover;
        for (int k = 0; k < 2; ++k) {
          if (std::holds_alternative<std::monostate>(r[3 + 2 * k])) break;
          auto deficit = wide_decimal(text_of(r[4 + 2 * k]));
          if (!deficit)
            return refuse(file,
                          "stress_shard_scenarios: cover" + std::to_string(k + 1) + " is not a decimal");
          cover.emplace_back(symbols.intern(text_of(r[3 + 2 * k])), UsdSum::from_raw(*deficit));
        }
        acc[s].offer_worst(worst, UsdSum::from_raw(*bad), cover);
        return {};
      });
  if (!st) return st;
  return shard.db->query(
      "SELECT scenario, account_index, losses FROM stress_shard_tails WHERE stress_id = ? "
      "ORDER BY scenario, account_index",
      {shard.id}, [&](const Row& r) -> Status {
        const std::int64_t s = int_of(r[0]), a = int_of(r[1]);
        if (s < 0 || s >= static_cast<std::int64_t>(acc.size()) || a < 0 ||
            a >= static_cast<std::int64_t>(frame.accounts.size()))
          return refuse(file, "stress_shard_tails: scenario " + text_of(r[0]) + " account " + text_of(r[1]) +
                                  " is not of the run");
        const std::string losses = text_of(r[2]);
        const char* p = losses.data();
        const char* end = p + losses.size();
        while (p < end) {
          std::int64_t loss = 0;
          auto [next, ec] = std::from_chars(p, end, loss);
          if (ec != std::errc() || (next < end && *next != ' '))
            return refuse(file, "stress_shard_tails: scenario " + text_of(r[0]) + " account " +
                                    text_of(r[1]) + ": losses is not a list of integers");
          acc[static_cast<std::size_t>(s)].offer_loss(static_cast<std::size_t>(a), loss);
          p = next < end ? next + 1 : next;
        }
        return {};
      });
}

}  // namespace

Result<std::unique_ptr<StressMerged>> merge_stress_shards(const std::string& out,
                                                          const std::vector<std::string>& inputs,
                                                          int busy_timeout_ms, std::int64_t now_unix_ms) {
  if (inputs.empty()) return make_error(ErrorKind::usage, "no shard to merge");
  std::vector<ShardIn> shards;
  for (const std::string& file : inputs) {
    auto s = open_shard(file);
    if (!s) return s.error();
    shards.push_back(std::move(*s));
  }
  // One run, every shard once.
  const ShardIn& head = shards.front();
  const std::int64_t count = head.count;
  std::vector<const ShardIn*> by_index(static_cast<std::size_t>(count), nullptr);
  for (const ShardIn& s : shards) {
    if (s.count != count)
      return refuse(s.file, "is shard " + std::to_string(s.index) + "/" + std::to_string(s.count) + " but " +
                                head.file + " is shard " + std::to_string(head.index) + "/" +
                                std::to_string(count) + ": not shards of one run");
    for (const char* column : kRunKey)
      if (s.run_value(column) != head.run_value(column))
        return refuse(s.file, std::string("is not a shard of the stress run ") + head.file + " is of (" +
                                  column + " differs)");
    const ShardIn*& slot = by_index[static_cast<std::size_t>(s.index)];
    if (slot)
      return refuse(s.file, "is shard " + std::to_string(s.index) + "/" + std::to_string(count) + ", as " +
                                slot->file + " is: a shard given twice");
    slot = &s;
  }
  std::string missing;
  for (std::size_t i = 0; i < by_index.size(); ++i)
    if (!by_index[i]) missing += (missing.empty() ? "" : ", ") + std::to_string(i);
  if (!missing.empty())
    return make_error(ErrorKind::usage, "the run has " + std::to_string(count) + " shards and shard" +
                                            (missing.find(',') == std::string::npos ? " " : "s ") + missing +
                                            "/" + std::to_string(count) + " is not among the inputs");
  if (text_of(head.run_value("command")) != "run")
    return refuse(head.file, "is not a shard of a 'stress run'");

  auto merged = std::make_unique<StressMerged>();
  StressFrame& frame = merged->frame;
  frame.symbols = &merged->symbols;
  merged->label = text_of(head.run_value("label"));
  frame.start_seq = int_of(head.run_value("at_seq"));
  frame.start_ts = int_of(head.run_value("start_ts"));
  frame.start_state_hash = text_of(head.run_value("start_state_hash"));
  frame.start_accounts = int_of(head.run_value("accounts"));
  frame.paths = int_of(head.run_value("paths"));
  auto fund = parse_decimal_raw(text_of(head.run_value("insurance_fund")));
  if (!fund) return refuse(head.file, "stress_runs: insurance_fund is not a decimal");
  frame.insurance_fund = Usd::from_raw(*fund);
  if (frame.paths < count)
    return refuse(head.file, "stress_runs: " + std::to_string(frame.paths) + " paths in " +
                                 std::to_string(count) + " shards");
  for (std::size_t i = 0; i < by_index.size(); ++i) {
    if (Status st = read_frame(*by_index[i], frame, merged->symbols, i == 0); !st) return st.error();
    if (Status st = check_paths(*by_index[i], frame.paths); !st) return st.error();
  }
  std::vector<ScenarioAccumulator> acc;
  for (std::size_t s = 0; s < frame.scenarios.size(); ++s) acc.emplace_back(frame, s);
  for (const ShardIn* s : by_index)
    if (Status st = read_parts(*s, frame, merged->symbols, acc); !st) return st.error();

  // Everything is checked: the rows, in one transaction.
  ResultsOptions o;
  o.busy_timeout_ms = busy_timeout_ms;
  auto db = ResultsDb::open(out, o);
  if (!db) return db.error();
  ResultsDb& w = **db;
  if (Status st = w.begin_import(); !st) return st.error();
  auto fail = [&](const Error& e) -> Error {
    w.abort_run();
    return e;
  };
  {
    std::vector<std::string> columns;
    std::vector<Value> values;
    for (std::size_t i = 0; i < head.run_columns.size(); ++i) {
      columns.push_back(head.run_columns[i]);
      values.push_back(head.run[i]);
      if (head.run_columns[i] == "started_ms") {  // the earliest shard's start
        std::int64_t started = int_of(head.run[i]);
        for (const ShardIn& s : shards) started = std::min(started, int_of(s.run_value("started_ms")));
        values.back() = started;
      }
    }
    auto id = w.insert_row("stress_runs", columns, values);
    if (!id) return fail(id.error());
    merged->id = *id;
  }
  // The paths, shard by shard, with their figures into the statistics.
  for (const ShardIn* s : by_index) {
    auto columns = s->db->columns("stress_paths");
    if (!columns) return fail(columns.error());
    std::string sql = "SELECT ";
    std::vector<std::string> names;
    int at_scenario = -1, at_bad = -1, at_liq = -1, at_draw = -1, at_exhausted = -1, at_id = -1;
    for (const std::string& c : *columns) {
      const int i = static_cast<int>(names.size());
      if (c == "stress_id") at_id = i;
      if (c == "scenario") at_scenario = i;
      if (c == "bad_debt") at_bad = i;
      if (c == "liquidated_notional") at_liq = i;
      if (c == "insurance_drawdown") at_draw = i;
      if (c == "exhausted") at_exhausted = i;
      sql += (names.empty() ? "" : ", ") + c;
      names.push_back(c);
    }
    if (std::min({at_id, at_scenario, at_bad, at_liq, at_draw, at_exhausted}) < 0)
      return fail(refuse(s->file, "stress_paths lacks a column of this version"));
    Row copy;
    Status st = s->db->query(
        sql + " FROM stress_paths WHERE stress_id = ? ORDER BY path", {s->id}, [&](const Row& r) -> Status {
          const std::int64_t sc = int_of(r[at_scenario]);
          auto bad = wide_decimal(text_of(r[at_bad]));
          auto liq = wide_decimal(text_of(r[at_liq]));
          auto draw = wide_decimal(text_of(r[at_draw]));
          if (sc < 0 || sc >= static_cast<std::int64_t>(acc.size()) || !bad || !liq || !draw)
            return refuse(s->file, "stress_paths: a path's scenario or figures are not valid");
          try {
            acc[static_cast<std::size_t>(sc)].add_figures(UsdSum::from_raw(*bad), UsdSum::from_raw(*liq),
                                                          UsdSum::from_raw(*draw),
                                                          int_of(r[at_exhausted]) != 0);
          } catch (const std::exception& ex) {
            return refuse(s->file, std::string("stress_paths: ") + ex.what());
          }
          copy = r;
          copy[static_cast<std::size_t>(at_id)] = merged->id;
          auto row = w.insert_row("stress_paths", names, copy);
          if (!row) return row.error();
          return {};
        });
    if (!st) return fail(st.error());
  }
  for (ScenarioAccumulator& a : acc) {
    if (a.paths_added() != frame.scenarios[a.scenario()].paths)
      return fail(make_error(ErrorKind::usage,
                             "scenario " + frame.scenarios[a.scenario()].name + ": the shards hold " +
                                 std::to_string(a.paths_added()) + " of its " +
                                 std::to_string(frame.scenarios[a.scenario()].paths) + " paths"));
    auto stats = a.finish();
    if (!stats) return fail(stats.error());
    if (Status st = write_scenario_rows(w, merged->id, frame, *stats); !st) return fail(st.error());
    merged->stats.push_back(std::move(*stats));
  }
  if (Status st = w.update_finished("stress_runs", merged->id, now_unix_ms); !st) return fail(st.error());
  if (Status st = w.commit_import(); !st) return fail(st.error());
  return merged;
}

}  // namespace liqsim
