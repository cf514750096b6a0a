// replay.cpp — the replay pipeline (replay.hpp).
#include "liqsim/replay.hpp"

#include <initializer_list>
#include <string_view>

#include "liqsim/json.hpp"
#include "liqsim/jsonl.hpp"

namespace liqsim {

namespace {

Error overflow_in_totals(const OverflowError& ex) {
  return make_error(ErrorKind::input,
                    std::string(ex.what()) +
                        " in the run's totals: a sum over the run is outside the fixed-point range "
                        "of ±92233720368.54775807");
}

}  // namespace

std::string ReplayResult::json() const {
  const Summary& s = summary;
  std::string o = "{";
  auto field = [&o](std::string_view key, std::string_view json_value) {
    if (o.size() > 1) o.push_back(',');
    o.append(json_quote(std::string(key)));
    o.push_back(':');
    o.append(json_value);
  };
  auto count = [&](const char* key, std::int64_t v) { field(key, std::to_string(v)); };
  auto money = [&](const char* key, const std::string& v) { field(key, json_quote(v)); };
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
  for (const auto& [k, v] : fields) field(k, v);
  o.push_back('}');
  return o;
}

std::string ReplayResult::text(const std::string& label) const {
  // Built as a string of any length: a long label or a metric of many assets
  // is printed whole, never cut by a buffer.
  const Summary& s = summary;
  auto n = [](std::int64_t v) { return std::to_string(v); };
  std::string o;
  auto line = [&o](std::initializer_list<std::string_view> parts) {
    for (std::string_view p : parts) o.append(p);
    o.push_back('\n');
  };
  line({"liqsim replay: ", printable(label)});
  line({"  events             ", n(s.events), " (", n(s.rejected), " rejected), ", n(s.accounts),
        " accounts"});
  line({"  margin calls       ", n(s.margin_calls)});
  line({"  liquidations       ", n(s.liquidations), " fills, notional ", s.liquidated_notional.str(),
        " USD, fees ", s.liquidation_fees.str(), " USD"});
  line({"  cascades           up to ", n(s.cascade_rounds_max), " rounds in one event; ",
        n(s.impact_liquidations), " fills caused by liquidation impact"});
  line({"  bad debt           ", s.bad_debt.str(), " USD in ", n(s.bankruptcies),
        " bankruptcies: insurance paid ", s.insurance_paid.str(), ", ADL ", s.adl_amount.str(), " (",
        n(s.adl_events), " events), socialized ", s.socialized_loss.str()});
  line({"  insurance fund     ", s.insurance_fund.str(), " USD at the end"});
  line({"  state hash         ", s.state_hash});
  if (!fields.empty()) {
    o += "  metrics\n";
    for (const auto& [k, v] : fields) {
      std::string_view val = v;
      if (val.size() >= 2 && val.front() == '"' && val.back() == '"') val = val.substr(1, val.size() - 2);
      std::string key = "    " + k;
      if (key.size() < 38) key.resize(38, ' ');
      line({key, " ", val});
    }
  }
  return o;
}

Replay::Replay(Config config, Symbols& symbols, ReplayOptions options)
    : engine_(std::move(config), symbols, options.engine),
      metrics_(engine_.config(), symbols),
      metrics_on_(options.metrics) {}

Replay::Replay(const Replay& other)
    : engine_(other.engine_),
      metrics_(other.metrics_),
      metrics_on_(other.metrics_on_),
      next_seq_(other.next_seq_),
      error_(other.error_) {}  // not begun: the fork's own sinks begin with its first event

void Replay::add_sink(ReplaySink& sink) {
  LIQSIM_ASSERT(!begun_, "sinks are added before the first event");
  sinks_.push_back(&sink);
}

Status Replay::fail(Status st) {
  if (!st.ok() && !error_) error_ = st.error();
  return st;
}

Status Replay::apply(const InputEvent& event) {
  if (error_) return *error_;
  LIQSIM_ASSERT(!result_, "apply after finish");
  if (!begun_) {
    begun_ = true;
    for (ReplaySink* s : sinks_)
      if (Status st = s->on_begin(engine_); !st) return fail(st);
  }
  const std::int64_t seq = next_seq_++;
  derived_.clear();
  if (Status st = engine_.apply(event, seq, derived_); !st) return fail(st);
  try {
    if (metrics_on_) metrics_.observe(event, seq, derived_, engine_);
  } catch (const OverflowError& ex) {
    Error e = overflow_in_totals(ex);
    e.seq = seq;
    return fail(e);
  }
  for (ReplaySink* s : sinks_)
    if (Status st = s->on_event(event, seq, derived_, engine_); !st) return fail(st);
  return {};
}

Status Replay::run(const std::vector<InputEvent>& events, std::size_t from, std::size_t to) {
  if (to > events.size()) to = events.size();
  for (std::size_t i = from; i < to; ++i)
    if (Status st = apply(events[i]); !st) return st;
  return {};
}

Result<ReplayResult> Replay::finish() {
  if (error_) return *error_;
  if (result_) return *result_;
  if (!begun_) {
    begun_ = true;
    for (ReplaySink* s : sinks_)
      if (Status st = s->on_begin(engine_); !st) return fail(st).error();
  }
  ReplayResult r;
  try {
    r.summary = engine_.summary();
    if (metrics_on_) r.fields = metrics_.summary_fields(engine_);
  } catch (const OverflowError& ex) {
    return fail(overflow_in_totals(ex)).error();
  }
  for (ReplaySink* s : sinks_)
    if (Status st = s->on_finish(r, metrics_, engine_); !st) return fail(st).error();
  result_ = std::move(r);
  return *result_;
}

Status Replay::publish() {
  if (error_) return *error_;
  LIQSIM_ASSERT(result_.has_value(), "publish before finish");
  for (ReplaySink* s : sinks_)
    if (Status st = s->on_publish(); !st) return fail(st);
  return {};
}

void Replay::abandon() {
  for (ReplaySink* s : sinks_) s->on_abandon();
}

Result<ReplayResult> replay_events(const Config& config, Symbols& symbols,
                                   const std::vector<InputEvent>& events,
                                   const std::vector<ReplaySink*>& sinks, ReplayOptions options) {
  Replay replay(config, symbols, options);
  for (ReplaySink* s : sinks) replay.add_sink(*s);
  Status ran = replay.run(events);
  if (!ran) {
    replay.abandon();
    return ran.error();
  }
  auto result = replay.finish();
  if (!result) {
    replay.abandon();
    return result.error();
  }
  if (Status st = replay.publish(); !st) {
    replay.abandon();
    return st.error();
  }
  return result;
}

}  // namespace liqsim
