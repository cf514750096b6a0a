// cmd_report.cpp — `liqsim report RUN.sqlite -o REPORT.html [--run ID]`.
#include <cstdio>
#include <string>

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
  if (cl.has("--run")) {
    const std::string v = cl.get("--run");
    std::int64_t id = 0;
    bool digits = !v.empty() && v.size() <= 18 && v.find_first_not_of("0123456789") == std::string::npos;
    if (digits) id = std::stoll(v);
    if (!digits || id <= 0)
      return usage_error(path, "--run needs a positive run id, not '" + excerpt(v) + "'");
    options.run_id = id;
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
