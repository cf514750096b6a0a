#include "commands.hpp"

namespace liqsim::cli {

// Placeholder until the replay command lands; says so instead of pretending.
int cmd_replay(const Args&) { return usage_error("'replay' is not built yet"); }

}  // namespace liqsim::cli
