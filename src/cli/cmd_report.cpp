// cmd_report.cpp — `liqsim report RUN.sqlite -o REPORT.html [--run ID] [--baseline ID]`.
#include <cstdio>
#include <string>
#include <utility>

#include "commands.hpp"
#include "liqsim/input_file.hpp"
#include "liqsim/results.hpp"
#include "options.hpp"

namespace liqsim::cli {

// The options and their help are described in options.cpp ("report").
int cmd_report(const Args& args) {
  const std::string path = "report";
  auto command_line = parse_command_line(path, args, 1);
  if (!command_line) return usage_error(path, command_line.error());
  if (command_line->help) return print_help(path);
  const ParsedOptions& cl = *command_line;
  const std::string db_path = cl.operands().front();
  const std::string out_path = cl.get("--out");
  ReportOptions options;
  // --run and --baseline: a positive run id (whether the database holds it is
  // render_report's check, an Error of kind usage naming the option).
  for (auto [option, id_out] :
       {std::pair{"--run", &options.run_id}, std::pair{"--baseline", &options.baseline_run_id}}) {
    if (!cl.has(option)) continue;
    const std::string v = cl.get(option);
    std::int64_t id = 0;
    bool digits = !v.empty() && v.size() <= 18 && v.find_first_not_of("0123456789") == std::string::npos;
    if (digits) id = std::stoll(v);
    if (!digits || id <= 0)
      return usage_error(path, std::string(option) + " needs a positive run id, not '" + excerpt(v) + "'");
    *id_out = id;
  }
  if (db_path.empty()) return usage_error(path, "the results database is an empty name");
  if (out_path.empty()) return usage_error(path, "-o needs a file name (-o REPORT.html)");
  if (same_file(out_path, db_path))
    return usage_error(path, "-o " + out_path + " is the results database " + db_path + " itself");
  if (Status st = refuse_side_file("-o", out_path, db_path); !st) return usage_error(path, st.error());
  if (Status st = require_regular_input(db_path, "results database"); !st) return report_error(st.error());
  if (Status st = write_report(db_path, out_path, options); !st.ok()) return report_error(st.error());
  return 0;
}

}  // namespace liqsim::cli
