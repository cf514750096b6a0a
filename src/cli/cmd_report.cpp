#include "commands.hpp"

namespace liqsim::cli {

// Placeholder until the report command lands; says so instead of pretending.
int cmd_report(const Args&) { return usage_error("'report' is not built yet"); }

}  // namespace liqsim::cli
