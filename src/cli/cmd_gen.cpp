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

namespace liqsim::cli {

namespace {

const char* kGenHelp =
    "usage:\n"
    "  liqsim gen population --accounts N --seed S --market ETH-PERP --asset ETH --price P\n"
    "        [--ts T] [--leverage-mean 10] [--max-leverage 20] [--equity-median 2000]\n"
    "        [--isolated-share 0.3] [--long-share 0.5]\n"
    "        [--collateral USD:0.7,ETH:0.2,USDC:0.1] [--collateral-mode pick|split]\n"
    "        [--asset-price ASSET:P ...] [--with-price] [--account-prefix acct-]\n"
    "        [--out FILE.jsonl] [--meta FILE.meta.json]\n"
    "\n"
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
    "same bytes on every machine. See tools/POPULATION.md.\n";

struct Options {
  std::map<std::string, std::string> values;
  std::vector<std::string> asset_prices;
  bool has(const std::string& k) const { return values.count(k) != 0; }
};

Error usage(const std::string& option, const std::string& msg) { return make_error(ErrorKind::usage, msg, option); }

Result<std::int64_t> decimal_option(const Options& o, const std::string& name, std::int64_t def) {
  auto it = o.values.find(name);
  if (it == o.values.end()) return def;
  std::int64_t raw = 0;
  std::string err = parse_decimal_raw(it->second, raw);
  if (!err.empty()) return usage(name, err);
  return raw;
}

// "USD:0.7,ETH:0.2" → (asset, raw) pairs.
Result<std::vector<std::pair<std::string, std::int64_t>>> pairs_option(const std::string& name, const std::string& text) {
  std::vector<std::pair<std::string, std::int64_t>> out;
  std::size_t begin = 0;
  while (begin <= text.size()) {
    std::size_t comma = text.find(',', begin);
    std::string item = text.substr(begin, comma == std::string::npos ? std::string::npos : comma - begin);
    std::size_t colon = item.find(':');
    if (colon == std::string::npos || colon == 0)
      return usage(name, "expected ASSET:NUMBER, got '" + item + "'");
    std::int64_t raw = 0;
    std::string err = parse_decimal_raw(item.substr(colon + 1), raw);
    if (!err.empty()) return usage(name, item + ": " + err);
    out.emplace_back(item.substr(0, colon), raw);
    if (comma == std::string::npos) break;
    begin = comma + 1;
  }
  return out;
}

Result<population::PopulationParams> build_params(const Options& o) {
  population::PopulationParams p;
  for (const char* req : {"--accounts", "--seed", "--market", "--asset", "--price"})
    if (!o.has(req)) return usage(req, "is required");
  const std::string& n = o.values.at("--accounts");
  if (n.empty() || n.size() > 9 || n.find_first_not_of("0123456789") != std::string::npos)
    return usage("--accounts", "not a positive integer");
  p.accounts = std::stoll(n);
  const std::string& seed = o.values.at("--seed");
  if (seed.empty() || seed.size() > 20 || seed.find_first_not_of("0123456789") != std::string::npos)
    return usage("--seed", "not an unsigned 64-bit integer");
  unsigned long long sv = 0;
  for (char c : seed) {
    if (sv > (UINT64_MAX - static_cast<unsigned>(c - '0')) / 10) return usage("--seed", "above 2^64 - 1");
    sv = sv * 10 + static_cast<unsigned>(c - '0');
  }
  p.seed = sv;
  p.market = o.values.at("--market");
  p.asset = o.values.at("--asset");
  auto price = decimal_option(o, "--price", 0);
  if (!price) return price.error();
  p.price_raw = *price;
  if (o.has("--ts")) {
    std::string err = import::parse_time_arg(o.values.at("--ts"), p.ts_ms);
    if (!err.empty()) return usage("--ts", err);
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
    const std::string& m = o.values.at("--collateral-mode");
    if (m == "pick") p.collateral_mode = population::CollateralMode::pick;
    else if (m == "split") p.collateral_mode = population::CollateralMode::split;
    else return usage("--collateral-mode", "must be pick or split");
  }
  if (o.has("--account-prefix")) p.account_prefix = o.values.at("--account-prefix");
  p.with_price = o.has("--with-price");
  std::map<std::string, std::int64_t> prices = {{"USD", kScale}, {"USDC", kScale}, {"USDT", kScale},
                                                 {"DAI", kScale}, {"BUSD", kScale}};
  prices[p.asset] = p.price_raw;
  for (const auto& text : o.asset_prices) {
    auto pairs = pairs_option("--asset-price", text);
    if (!pairs) return pairs.error();
    for (auto& [asset, raw] : *pairs) {
      if (asset == "USD") return usage("--asset-price", "USD is always 1");
      if (asset == p.asset) return usage("--asset-price", asset + " is priced by --price");
      prices[asset] = raw;
    }
  }
  if (o.has("--collateral")) {
    auto pairs = pairs_option("--collateral", o.values.at("--collateral"));
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
  Options o;
  const std::vector<std::string> with_value = {
      "--accounts", "--seed", "--market", "--asset", "--price", "--ts", "--leverage-mean", "--max-leverage",
      "--equity-median", "--isolated-share", "--long-share", "--collateral", "--collateral-mode",
      "--account-prefix", "--out", "--meta"};
  for (std::size_t i = 2; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--with-price") {
      o.values[a] = "";
      continue;
    }
    bool known = a == "--asset-price";
    for (const auto& w : with_value) known = known || a == w;
    if (!known) return usage_error("gen population: unknown option '" + a + "'");
    if (i + 1 >= args.size()) return report_error(usage(a, "needs a value"));
    if (a == "--asset-price") {
      o.asset_prices.push_back(args[++i]);
      continue;
    }
    if (o.has(a)) return report_error(usage(a, "given twice"));
    o.values[a] = args[++i];
  }
  auto params = build_params(o);
  if (!params) return report_error(params.error());
  const std::string out = o.has("--out") ? o.values.at("--out") : "";
  std::string meta_path = o.has("--meta") ? o.values.at("--meta") : (out.empty() ? "" : out + ".meta.json");
  if (!out.empty() && !meta_path.empty() && same_file(out, meta_path))
    return usage_error("--out " + out + " and --meta " + meta_path + " name the same file");
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

int cmd_gen(const Args& args) { return dispatch(args, kGenHelp, {{"population", gen_population}}); }

}  // namespace liqsim::cli
