// cmd_gen.cpp — `liqsim gen population`: seeded synthetic accounts as events.
#include <cstdio>
#include <map>
#include <optional>

#include "commands.hpp"
#include "liqsim/fixed.hpp"
#include "liqsim/import.hpp"
#include "liqsim/jsonl.hpp"
#include "liqsim/output_file.hpp"
#include "liqsim/population.hpp"
#include "options.hpp"

namespace liqsim::cli {

namespace {

// The options and their help are described in options.cpp ("gen population").
using Options = ParsedOptions;

Error usage(const std::string& option, const std::string& msg) {
  return make_error(ErrorKind::usage, msg, option);
}

Result<std::int64_t> decimal_option(const Options& o, const std::string& name, std::int64_t def) {
  if (!o.has(name)) return def;
  Result<std::int64_t> raw = parse_decimal_raw(o.get(name));
  if (!raw) return usage(name, raw.error().message);
  return raw;
}

// "USD:0.7,ETH:0.2" → (asset, raw) pairs.
Result<std::vector<std::pair<std::string, std::int64_t>>> pairs_option(const std::string& name,
                                                                       const std::string& text) {
  std::vector<std::pair<std::string, std::int64_t>> out;
  std::size_t begin = 0;
  while (begin <= text.size()) {
    std::size_t comma = text.find(',', begin);
    std::string item = text.substr(begin, comma == std::string::npos ? std::string::npos : comma - begin);
    std::size_t colon = item.find(':');
    if (colon == std::string::npos || colon == 0)
      return usage(name, "expected ASSET:NUMBER, got '" + item + "'");
    Result<std::int64_t> raw = parse_decimal_raw(item.substr(colon + 1));
    if (!raw) return usage(name, item + ": " + raw.error().message);
    out.emplace_back(item.substr(0, colon), *raw);
    if (comma == std::string::npos) break;
    begin = comma + 1;
  }
  return out;
}

Result<population::PopulationParams> build_params(const Options& o) {
  population::PopulationParams p;
  const std::string n = o.get("--accounts");
  if (n.empty() || n.size() > 9 || n.find_first_not_of("0123456789") != std::string::npos)
    return usage("--accounts", "not a positive integer");
  p.accounts = std::stoll(n);
  const std::string seed = o.get("--seed");
  if (seed.empty() || seed.size() > 20 || seed.find_first_not_of("0123456789") != std::string::npos)
    return usage("--seed", "not an unsigned 64-bit integer");
  unsigned long long sv = 0;
  for (char c : seed) {
    if (sv > (UINT64_MAX - static_cast<unsigned>(c - '0')) / 10) return usage("--seed", "above 2^64 - 1");
    sv = sv * 10 + static_cast<unsigned>(c - '0');
  }
  p.seed = sv;
  p.market = o.get("--market");
  p.asset = o.get("--asset");
  auto price = decimal_option(o, "--price", 0);
  if (!price) return price.error();
  p.price_raw = *price;
  if (o.has("--ts")) {
    Result<std::int64_t> ts = import::parse_time_arg(o.get("--ts"));
    if (!ts) return usage("--ts", ts.error().message);
    p.ts_ms = *ts;
  }
  struct Dec {
    const char* name;
    std::int64_t* slot;
  };
  for (Dec d : {Dec{"--leverage-mean", &p.leverage_mean_raw}, Dec{"--max-leverage", &p.max_leverage_raw},
                Dec{"--equity-median", &p.equity_median_raw}, Dec{"--isolated-share", &p.isolated_share_raw},
                Dec{"--long-share", &p.long_share_raw}}) {
    auto v = decimal_option(o, d.name, *d.slot);
    if (!v) return v.error();
    *d.slot = *v;
  }
  if (o.has("--collateral-mode")) {
    const std::string m = o.get("--collateral-mode");
    if (m == "pick")
      p.collateral_mode = population::CollateralMode::pick;
    else if (m == "split")
      p.collateral_mode = population::CollateralMode::split;
    else
      return usage("--collateral-mode", "must be pick or split");
  }
  if (o.has("--account-prefix")) p.account_prefix = o.get("--account-prefix");
  p.with_price = o.has("--with-price");
  std::map<std::string, std::int64_t> prices = {
      {"USD", kScale}, {"USDC", kScale}, {"USDT", kScale}, {"DAI", kScale}, {"BUSD", kScale}};
  prices[p.asset] = p.price_raw;
  for (const auto& text : o.all("--asset-price")) {
    auto pairs = pairs_option("--asset-price", text);
    if (!pairs) return pairs.error();
    for (auto& [asset, raw] : *pairs) {
      if (asset == "USD") return usage("--asset-price", "USD is always 1");
      if (asset == p.asset) return usage("--asset-price", asset + " is priced by --price");
      prices[asset] = raw;
    }
  }
  if (o.has("--collateral")) {
    auto pairs = pairs_option("--collateral", o.get("--collateral"));
    if (!pairs) return pairs.error();
    for (auto& [asset, raw] : *pairs) {
      auto it = prices.find(asset);
      p.collateral.push_back({asset, raw, it == prices.end() ? 0 : it->second});
    }
  }
  if (Status s = population::validate(p); !s) return s.error();
  return p;
}

// The events, encoded and hashed as they are generated, in chunks to an
// output file (whole or nothing, output_file.hpp) or standard output.
class PopulationWriter {
 public:
  explicit PopulationWriter(OutputFile* file) : file_(file) {}
  Status write(const InputEvent& e, const Symbols& names) {
    buf_ += encode_event(e, names);
    buf_ += '\n';
    if (buf_.size() >= kChunkBytes) return flush();
    return {};
  }
  Status flush() {
    if (buf_.empty()) return {};
    hash_ = population::fnv1a64(buf_, hash_);
    Status st;
    if (file_)
      st = file_->write(buf_);
    else if (std::fwrite(buf_.data(), 1, buf_.size(), stdout) != buf_.size())
      st = make_file_error(ErrorKind::io, "<stdout>", "write failed");
    buf_.clear();
    return st;
  }
  std::uint64_t hash() const { return hash_; }

 private:
  static constexpr std::size_t kChunkBytes = 1 << 20;
  OutputFile* file_;
  std::string buf_;
  std::uint64_t hash_ = population::fnv1a64("");
};

int gen_population(const Args& args) {
  const std::string path = "gen population";
  auto command_line = parse_command_line(path, args, 2);
  if (!command_line) return usage_error(path, command_line.error());
  if (command_line->help) return print_help(path);
  const Options& o = *command_line;
  auto params = build_params(o);
  if (!params) return report_error(path, params.error());
  const std::string out = o.has("--out") ? o.get("--out") : "";
  std::string meta_path = o.has("--meta") ? o.get("--meta") : (out.empty() ? "" : out + ".meta.json");
  if (!out.empty() && !meta_path.empty() && same_file(out, meta_path))
    return usage_error(path, "--out " + out + " and --meta " + meta_path + " name the same file");
  // Both files are opened before the first event and written out before
  // either is renamed into place, so a full disk leaves neither. The events
  // are written as they are generated: memory does not grow with --accounts.
  std::optional<OutputFile> out_file, meta_file;
  if (!out.empty()) {
    auto f = OutputFile::create(out);
    if (!f) return report_error(f.error());
    out_file.emplace(std::move(*f));
  }
  if (!meta_path.empty()) {
    auto f = OutputFile::create(meta_path);
    if (!f) return report_error(f.error());
    meta_file.emplace(std::move(*f));
  }
  population::PopulationStats stats;
  PopulationWriter writer(out_file ? &*out_file : nullptr);
  Status generated = population::stream_population(
      *params, stats, [&](const InputEvent& e, const Symbols& names) { return writer.write(e, names); });
  if (generated) generated = writer.flush();
  if (!generated) return report_error(generated.error());
  const std::string meta = population::meta_json(*params, stats, writer.hash());
  if (out_file) {
    if (Status s = out_file->prepare(); !s) return report_error(s.error());
  } else if (std::fflush(stdout) != 0) {
    return report_error(make_file_error(ErrorKind::io, "<stdout>", "write failed"));
  }
  if (meta_file) {
    if (Status s = meta_file->write(meta); !s) return report_error(s.error());
    if (Status s = meta_file->prepare(); !s) return report_error(s.error());
  }
  if (out_file) {
    if (Status s = out_file->commit(); !s) return report_error(s.error());
  }
  if (meta_file) {
    if (Status s = meta_file->commit(); !s) return report_error(s.error());
  } else {
    std::fputs(meta.c_str(), stderr);
  }
  if (stats.zero_positions > 0)
    std::fprintf(stderr, "liqsim gen population: %lld accounts too small for a position of 1e-8 (no trade)\n",
                 static_cast<long long>(stats.zero_positions));
  return 0;
}

}  // namespace

int cmd_gen(const Args& args) { return dispatch(args, {{"population", gen_population}}); }

}  // namespace liqsim::cli
