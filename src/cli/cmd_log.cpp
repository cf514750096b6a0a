#include "commands.hpp"

namespace liqsim::cli {

// Placeholder until the log command lands; says so instead of pretending.
int cmd_log(const Args&) { return usage_error("'log' is not built yet"); }

}  // namespace liqsim::cli
