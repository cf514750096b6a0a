// commands.hpp — one entry point per `liqsim` subcommand.
//
// Each takes the arguments after its own name (argv[0] is the command name
// for messages) and returns the process exit code of CONTRACT §5:
// 0 success, 2 usage/configuration/input error, 3 corrupt or truncated log.
// Commands print errors to stderr as "liqsim: <where>: <what>".
#pragma once

#include <initializer_list>
#include <string>
#include <vector>

#include "liqsim/error.hpp"

namespace liqsim::cli {

using Args = std::vector<std::string>;

int cmd_replay(const Args& args);
int cmd_log(const Args& args);
int cmd_import(const Args& args);
int cmd_gen(const Args& args);
int cmd_report(const Args& args);
int cmd_bench(const Args& args);

// A command made of subcommands (`import candles`, `gen population`): with no
// subcommand, usage on stderr and exit 2; `--help` anywhere, help on stdout
// and exit 0; otherwise the named subcommand runs with the same arguments.
struct Subcommand {
  const char* name;
  int (*run)(const Args& args);
};
int dispatch(const Args& args, const char* help, std::initializer_list<Subcommand> subcommands);

// Prints "liqsim: <error>" to stderr and returns its exit code.
int report_error(const Error& e);
int usage_error(const std::string& message);
// Whether two names are one file: the same device and inode when the first
// exists, else the same absolute path (names that do not exist yet).
bool same_file(const std::string& a, const std::string& b);
// An error when PATH (given with OPTION) is one of the side files SQLite
// keeps beside the results database DB_PATH (results_side_files).
Status refuse_side_file(const std::string& option, const std::string& path, const std::string& db_path);

}  // namespace liqsim::cli
