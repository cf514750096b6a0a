#include "commands.hpp"

namespace liqsim::cli {

// Placeholder until the gen command lands; says so instead of pretending.
int cmd_gen(const Args&) { return usage_error("'gen' is not built yet"); }

}  // namespace liqsim::cli
