#include "commands.hpp"

namespace liqsim::cli {

// Placeholder until the bench command lands; says so instead of pretending.
int cmd_bench(const Args&) { return usage_error("'bench' is not built yet"); }

}  // namespace liqsim::cli
