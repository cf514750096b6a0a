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
int cmd_sweep(const Args& args);
int cmd_results(const Args& args);
int cmd_stress(const Args& args);

// A command made of subcommands (`log convert`, `import candles`, `gen
// population`), named by args[0] and described in options.cpp: with no
// subcommand, its help on stderr and exit 2; `--help`, `-h` or `help [SUB]`
// as the subcommand, help on stdout and exit 0; otherwise the named
// subcommand runs with the same arguments (and answers --help itself). An
// unknown subcommand is a usage error with the closest known one.
struct Subcommand {
  const char* name;
  int (*run)(const Args& args);
};
int dispatch(const Args& args, std::initializer_list<Subcommand> subcommands);
// `liqsim help [COMMAND [SUBCOMMAND]]`: WORDS are the words after "help".
int help_command(const Args& words);

// The whole `liqsim` command line (argv[0] the program); its exit code.
int run_liqsim(int argc, char** argv);
// RC, or 2 when standard output could not be flushed (reported on stderr).
int checked_stdout(int rc);

// Prints "liqsim: <error>" to stderr and returns its exit code.
int report_error(const Error& e);
// The same, but a usage error also points to 'liqsim help COMMAND'.
int report_error(const std::string& command, const Error& e);
// "liqsim: <message> (see 'liqsim --help')" on stderr; returns 2.
int usage_error(const std::string& message);
// "liqsim: COMMAND: <message> (see 'liqsim help COMMAND')" on stderr; returns 2.
int usage_error(const std::string& command, const std::string& message);
int usage_error(const std::string& command, const Error& e);
// Whether two names are one file: the same device and inode when the first
// exists, else the same absolute path (names that do not exist yet).
bool same_file(const std::string& a, const std::string& b);
// A packaged scenario folder DIR as inputs: CONFIG = DIR/config.json,
// EVENTS = DIR/events.evlog or DIR/events.jsonl (both present is a usage
// error), and LABEL, when empty, DIR's last name. Given --config or
// --events as well (CONFIG or EVENTS not empty) is a usage error.
Status scenario_folder_inputs(const std::string& dir, std::string& config, std::string& events,
                              std::string& label);
// An error when PATH (given with OPTION) is one of the side files SQLite
// keeps beside the results database DB_PATH (results_side_files).
Status refuse_side_file(const std::string& option, const std::string& path, const std::string& db_path);
// The inputs of a merge into OUT (results merge, stress merge): each a
// non-empty name of a regular file that is neither OUT nor one of its side
// files. The error is of kind usage, or io for an input that is not there.
Status check_merge_inputs(const std::string& out, const std::vector<std::string>& inputs);

}  // namespace liqsim::cli
