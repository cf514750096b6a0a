#include "commands.hpp"

namespace liqsim::cli {

// Placeholder until the import command lands; says so instead of pretending.
int cmd_import(const Args&) { return usage_error("'import' is not built yet"); }

}  // namespace liqsim::cli
