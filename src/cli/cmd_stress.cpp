// liqsim stress — stress tests of collateral adequacy (stress.hpp). Today:
// `stress var`, VaR and ES of one asset's price series.
#include <cstdio>
#include <string>
#include <vector>

#include "commands.hpp"
#include "liqsim/input_file.hpp"
#include "liqsim/json.hpp"
#include "liqsim/log.hpp"
#include "liqsim/stress.hpp"
#include "options.hpp"

namespace liqsim::cli {

namespace {

// The options and their help are described in options.cpp ("stress var").
int stress_var(const Args& args) {
  const std::string path = "stress var";
  auto cl = parse_command_line(path, args, 2);
  if (!cl) return usage_error(path, cl.error());
  if (cl->help) return print_help(path);
  const std::string prices_path = cl->get("--prices"), asset = cl->get("--asset");
  if (prices_path.empty()) return usage_error(path, "--prices needs a file name");
  if (asset.empty()) return usage_error(path, "--asset needs an asset name");
  const std::string side_text = cl->get("--side", "long");
  if (side_text != "long" && side_text != "short")
    return usage_error(path, "--side takes long or short, not '" + excerpt(side_text) + "'");
  const PositionSide side = side_text == "long" ? PositionSide::long_side : PositionSide::short_side;
  const std::string method = cl->get("--method", "hs");
  if (method != "hs" && method != "fhs")
    return usage_error(path, "--method takes hs or fhs, not '" + excerpt(method) + "'");
  auto ratio_option = [&](const char* name, const std::string& text) -> Result<Ratio> {
    auto raw = parse_decimal_raw(text);
    if (!raw || *raw <= 0 || *raw >= kScale)
      return make_error(
          ErrorKind::usage,
          std::string(name) + " takes a decimal strictly between 0 and 1, not '" + excerpt(text) + "'");
    return Ratio::from_raw(*raw);
  };
  auto alpha = ratio_option("--alpha", cl->get("--alpha"));
  if (!alpha) return usage_error(path, alpha.error());
  if (cl->has("--lambda") && method != "fhs") return usage_error(path, "--lambda is for --method fhs");
  auto lambda = ratio_option("--lambda", cl->get("--lambda", "0.94"));
  if (!lambda) return usage_error(path, lambda.error());

  if (Status st = require_regular_input(prices_path, "price log"); !st) return report_error(st.error());
  Symbols symbols;
  auto reader = EventFileReader::open(prices_path, symbols);
  if (!reader) return report_error(reader.error());
  std::vector<Price> prices;
  std::int64_t other = 0;
  InputEvent ev;
  for (;;) {
    auto more = reader->next(ev);
    if (!more) return report_error(more.error());
    if (!*more) break;
    const auto* p = std::get_if<PriceEvent>(&ev.body);
    if (p && symbols.name(p->asset) == asset)
      prices.push_back(p->price);
    else
      ++other;
  }
  if (prices.size() < 2)
    return report_error(make_file_error(ErrorKind::input, prices_path,
                                        "has " + std::to_string(prices.size()) + " price event" +
                                            (prices.size() == 1 ? "" : "s") + " of '" + excerpt(asset) +
                                            "': VaR needs at least two (one return)"));
  auto losses = simple_losses(prices, side);
  if (!losses) {
    Error e = losses.error();
    e.file = prices_path;
    return report_error(e);
  }
  if (method == "fhs") {
    auto scaled = fhs_losses(*losses, *lambda);
    if (!scaled) {
      Error e = scaled.error();
      e.file = prices_path;
      return report_error(e);
    }
    losses = std::move(*scaled);
  }
  auto stats = var_es(std::move(*losses), *alpha);
  if (!stats) return usage_error(path, stats.error());
  if (cl->has("--json")) {
    std::printf(
        "{\"asset\":%s,\"side\":\"%s\",\"method\":\"%s\",\"alpha\":\"%s\",\"lambda\":%s,\"prices\":%zu,"
        "\"n\":%lld,\"var\":\"%s\",\"es\":\"%s\",\"worst\":\"%s\",\"mean\":\"%s\"}\n",
        json_quote(asset).c_str(), side_text.c_str(), method.c_str(), alpha->str().c_str(),
        method == "fhs" ? ("\"" + lambda->str() + "\"").c_str() : "null", prices.size(),
        static_cast<long long>(stats->n), stats->var.str().c_str(), stats->es.str().c_str(),
        stats->worst.str().c_str(), stats->mean.str().c_str());
    return 0;
  }
  std::printf("liqsim stress var: %s %s, %s%s, alpha %s\n", printable(asset).c_str(), side_text.c_str(),
              method.c_str(), method == "fhs" ? (" (lambda " + lambda->str() + ")").c_str() : "",
              alpha->str().c_str());
  std::printf("  prices             %zu (%lld other events skipped)\n", prices.size(),
              static_cast<long long>(other));
  std::printf("  losses             %lld (simple returns, per unit of value)\n",
              static_cast<long long>(stats->n));
  std::printf("  VaR                %s\n", stats->var.str().c_str());
  std::printf("  ES                 %s\n", stats->es.str().c_str());
  std::printf("  worst loss         %s\n", stats->worst.str().c_str());
  std::printf("  mean loss          %s\n", stats->mean.str().c_str());
  return 0;
}

}  // namespace

int cmd_stress(const Args& args) { return dispatch(args, {{"var", stress_var}}); }

}  // namespace liqsim::cli
