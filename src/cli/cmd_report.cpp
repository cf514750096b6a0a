// cmd_report.cpp — `liqsim report RUN.sqlite -o REPORT.html [--run ID]`.
#include <cstdio>

#include "commands.hpp"
#include "liqsim/input_file.hpp"
#include "liqsim/results.hpp"

namespace liqsim::cli {

namespace {

const char* kReportHelp =
    "usage:\n"
    "  liqsim report RUN.sqlite -o REPORT.html [--run ID]\n"
    "\n"
    "Writes one self-contained HTML page (inline SVG charts, no scripts, no\n"
    "network) from a results database written by 'liqsim replay --out'.\n"
    "Without --run it shows the newest complete run; with several runs in the\n"
    "database it adds a side-by-side comparison of their summaries and metrics.\n";

}  // namespace

int cmd_report(const Args& args) {
  std::string db_path, out_path;
  ReportOptions options;
  for (std::size_t i = 1; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--help" || a == "-h") {
      std::fputs(kReportHelp, stdout);
      return 0;
    }
    if (a == "-o" || a == "--out" || a == "--run") {
      if (i + 1 >= args.size()) return usage_error("report: " + a + " needs a value");
      const std::string& v = args[++i];
      if (a == "--run") {
        std::int64_t id = 0;
        bool digits = !v.empty() && v.size() <= 18 && v.find_first_not_of("0123456789") == std::string::npos;
        if (digits) id = std::stoll(v);
        if (!digits || id <= 0) return usage_error("report: --run needs a positive run id, not '" + v + "'");
        options.run_id = id;
      } else {
        out_path = v;
      }
      continue;
    }
    if (!a.empty() && a[0] == '-') return usage_error("report: unknown option '" + a + "'");
    if (!db_path.empty()) return usage_error("report: one database only ('" + db_path + "' and '" + a + "')");
    db_path = a;
  }
  if (db_path.empty()) return usage_error("report: name the results database (liqsim report RUN.sqlite -o R.html)");
  if (out_path.empty()) return usage_error("report: -o REPORT.html is required");
  if (same_file(out_path, db_path))
    return usage_error("report: -o " + out_path + " is the results database " + db_path + " itself");
  if (Status st = refuse_side_file("-o", out_path, db_path); !st) return usage_error("report: " + st.error().message);
  if (Status st = require_regular_input(db_path, "results database"); !st) return report_error(st.error());
  if (Status st = write_report(db_path, out_path, options); !st.ok()) return report_error(st.error());
  return 0;
}

}  // namespace liqsim::cli
