#include "replay_support.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <fstream>

#include "commands.hpp"
#include "liqsim/jsonl.hpp"
#include "liqsim/log.hpp"

namespace liqsim::cli {

Error locate_event_error(Error e, const std::string& events_path) {
  e.file = events_path;
  if (e.seq < 0 || is_binary_log(events_path)) return e;
  // JSON Lines: the event with this seq is the seq-th non-blank line.
  std::ifstream in(events_path, std::ios::binary);
  std::string line;
  std::int64_t n = 0, seen = 0;
  while (std::getline(in, line)) {
    ++n;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    if (seen++ == e.seq) {
      e.line = n;
      break;
    }
  }
  return e;
}

std::int64_t wall_clock_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

namespace {
std::string q(const std::string& s) { return json_quote(s); }
}  // namespace

std::string summary_json(const Summary& s, const ExtraFields& extra) {
  // Appended piece by piece: GCC 12 warns falsely (-Wrestrict) on chained temporaries.
  std::string o = "{";
  auto field = [&o](const char* key, const std::string& json_value) {
    if (o.size() > 1) o.push_back(',');
    o.append(json_quote(key));
    o.push_back(':');
    o.append(json_value);
  };
  auto count = [&](const char* key, std::int64_t v) { field(key, std::to_string(v)); };
  auto money = [&](const char* key, const std::string& v) { field(key, q(v)); };
  count("events", s.events);
  count("rejected", s.rejected);
  count("margin_calls", s.margin_calls);
  count("liquidations", s.liquidations);
  money("liquidated_notional", s.liquidated_notional.str());
  money("liquidation_fees", s.liquidation_fees.str());
  money("bad_debt", s.bad_debt.str());
  money("insurance_fund", s.insurance_fund.str());
  count("adl_events", s.adl_events);
  money("socialized_loss", s.socialized_loss.str());
  money("state_hash", s.state_hash);
  count("accounts", s.accounts);
  count("bankruptcies", s.bankruptcies);
  money("insurance_paid", s.insurance_paid.str());
  money("adl_amount", s.adl_amount.str());
  count("cascade_rounds_max", s.cascade_rounds_max);
  count("impact_liquidations", s.impact_liquidations);
  for (const auto& [k, v] : extra) field(k.c_str(), v);
  o.push_back('}');
  return o;
}

std::string summary_text(const Summary& s, const ExtraFields& extra, const std::string& label) {
  // Built as a string of any length: a long label or a metric of many assets
  // is printed whole, never cut by a buffer.
  auto n = [](std::int64_t v) { return std::to_string(v); };
  std::string o;
  auto line = [&o](std::initializer_list<std::string_view> parts) {
    for (std::string_view p : parts) o.append(p);
    o.push_back('\n');
  };
  line({"liqsim replay: ", printable(label)});
  line({"  events             ", n(s.events), " (", n(s.rejected), " rejected), ", n(s.accounts), " accounts"});
  line({"  margin calls       ", n(s.margin_calls)});
  line({"  liquidations       ", n(s.liquidations), " fills, notional ", s.liquidated_notional.str(), " USD, fees ",
        s.liquidation_fees.str(), " USD"});
  line({"  cascades           up to ", n(s.cascade_rounds_max), " rounds in one event; ", n(s.impact_liquidations),
        " fills caused by liquidation impact"});
  line({"  bad debt           ", s.bad_debt.str(), " USD in ", n(s.bankruptcies),
        " bankruptcies: insurance paid ", s.insurance_paid.str(), ", ADL ", s.adl_amount.str(), " (",
        n(s.adl_events), " events), socialized ", s.socialized_loss.str()});
  line({"  insurance fund     ", s.insurance_fund.str(), " USD at the end"});
  line({"  state hash         ", s.state_hash});
  if (!extra.empty()) {
    o += "  metrics\n";
    for (const auto& [k, v] : extra) {
      std::string_view val = v;
      if (val.size() >= 2 && val.front() == '"' && val.back() == '"') val = val.substr(1, val.size() - 2);
      std::string key = "    " + k;
      if (key.size() < 38) key.resize(38, ' ');
      line({key, " ", val});
    }
  }
  return o;
}

ReplayOutputs::~ReplayOutputs() { abandon(); }

Status ReplayOutputs::open(const std::string& journal, const std::string& db, const std::string& report,
                           const ResultsOptions& results_options) {
  db_ = db;
  report_ = report;
  // The report is drawn after the run is committed: a name it could never be
  // written under (a directory, a dangling link) is refused before anything.
  if (!report_.empty()) {
    if (auto target = resolve_output(report_); !target) return target.error();
  }
  if (!journal.empty()) {
    auto file = OutputFile::create(journal);
    if (!file) return file.error();
    journal_.emplace(std::move(*file));
  }
  if (!db_.empty()) {
    auto r = ResultsDb::open(db_, results_options);
    if (!r) return r.error();
    results_ = std::move(*r);
  }
  return {};
}

Status ReplayOutputs::begin(const RunInfo& info, const Symbols& symbols) {
  if (results_) return results_->begin_run(info, symbols);
  return {};
}

Status ReplayOutputs::write(const InputEvent& ev, std::int64_t seq, const std::vector<DerivedEvent>& derived,
                            const Engine& engine, const Symbols& symbols) {
  if (journal_) {
    for (const DerivedEvent& d : derived) {
      line_ = encode_derived(d, symbols);
      line_.push_back('\n');
      if (Status st = journal_->write(line_); !st) return st;
    }
  }
  if (results_) return results_->observe(ev, seq, derived, engine);
  return {};
}

Result<std::vector<std::string>> ReplayOutputs::publish(const Summary& summary, const MetricsCollector& metrics,
                                                        const Engine& engine) {
  std::vector<std::string> lines;
  // Order: the journal is written out and fsync'd (where a full disk shows),
  // then the run is committed to the database, then the journal is renamed
  // into place. A failure before the database commit leaves no output.
  if (journal_) {
    if (Status st = journal_->prepare(); !st) {
      abandon();
      return st.error();
    }
  }
  if (results_) {
    auto run = results_->finish_run(summary, metrics, engine, wall_clock_ms());
    results_.reset();
    if (!run) {
      abandon();
      return run.error();
    }
    lines.push_back("  results database   " + db_ + " (run " + std::to_string(*run) + ")");
  }
  if (journal_) {
    Status st = journal_->commit();
    std::string name = journal_->path();
    journal_.reset();
    if (!st) return st.error();
    lines.insert(lines.begin(), "  journal            " + name);
  }
  if (!db_.empty()) {
    if (!report_.empty()) {
      int rc = cmd_report({"report", db_, "-o", report_});
      // cmd_report has printed why.
      if (rc != 0)
        return make_file_error(ErrorKind::io, report_,
                               "the report was not written (the run is in " + db_ + "; 'liqsim report' draws it)");
      lines.push_back("  report             " + report_);
    }
  }
  return lines;
}

void ReplayOutputs::abandon() {
  journal_.reset();  // removes an unpublished journal
  if (results_) {
    // Rolled back and closed; a database file this replay created holds
    // nothing then (the schema is part of the run's transaction) and is
    // removed, unless another process has it open (results.hpp).
    results_->abort_run();
    results_.reset();
  }
}

Progress::Progress(std::size_t total, Mode mode) : total_(total), start_ms_(wall_clock_ms()) {
  enabled_ = mode == on || (mode == automatic && ::isatty(2) == 1 && total >= 100000);
}

void Progress::draw(std::size_t done) {
  double secs = static_cast<double>(wall_clock_ms() - start_ms_) / 1000.0;
  double rate = secs > 0 ? static_cast<double>(done) / secs : 0.0;
  int width = 30;
  int filled = total_ ? static_cast<int>(width * done / total_) : width;
  std::fprintf(stderr, "\r[%.*s%*s] %zu/%zu events  %.0f events/s", filled, "##############################",
               width - filled, "", done, total_, rate);
  std::fflush(stderr);
}

void Progress::finish() {
  if (!enabled_) return;
  draw(total_);
  std::fputc('\n', stderr);
}

}  // namespace liqsim::cli
