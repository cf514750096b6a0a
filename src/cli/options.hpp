// options.hpp — the command line of every `liqsim` command, one layer over
// Boost.Program_options.
//
// Every command and subcommand is described once, in the table of
// options.cpp: its synopsis, a paragraph on what it does, its operands and
// its options (name, short form, value name, help text). From that one
// description come its parser, its `--help` (the same text as `liqsim help
// CMD [SUB]`) and its part of `liqsim --help`, so the help cannot drift from
// what the parser accepts.
//
// The parser accepts `--opt value` and `--opt=value` (`--opt=` is an empty
// value), `-o value` and `-ovalue` for a short form, `--` to end the options,
// and operands anywhere. Option names are exact (no abbreviations). It refuses,
// as a usage Error naming the option: an unknown option (with the closest
// known one, by edit distance), a missing value, a value given to a flag, a
// single-valued option given twice, a missing required option, too many or
// too few operands. A flag given twice is the flag. `--help` or `-h` anywhere
// before `--` asks for the help instead, whatever else is wrong.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "commands.hpp"
#include "liqsim/error.hpp"

namespace liqsim::cli {

// One option of a command.
struct OptionSpec {
  const char* name;                  // the long name without dashes: "out"
  char short_name = 0;               // 'o' for -o, or 0
  const char* value_name = nullptr;  // "FILE" for an option with a value; nullptr for a flag
  const char* help = "";
  bool required = false;
  bool repeatable = false;  // given any number of times; every value is kept, in order
};

// One command (`replay`, `report`) or subcommand (`log convert`).
struct CommandSpec {
  const char* path;                   // "replay", "log convert", "import candles"
  const char* summary;                // one line for the lists
  std::vector<const char*> usage;     // synopses, each "liqsim ..."
  const char* description;            // paragraphs, lines of at most 80 columns
  std::vector<const char*> operands;  // operand names in order ("IN", "OUT")
  std::size_t min_operands = 0;       // at least this many; at most operands.size()
  std::vector<OptionSpec> options;    // without --help, which every command has
};

// A command made of subcommands: log, import, gen.
struct GroupSpec {
  const char* name;
  const char* summary;
  const char* description;  // what the subcommands share; may be empty
};

// The description of PATH ("log convert"), or nullptr.
const CommandSpec* find_command(std::string_view path);
const GroupSpec* find_group(std::string_view name);
// Every command, in the order `liqsim --help` lists them.
const std::vector<CommandSpec>& command_specs();

// The help texts, each ending in a newline.
std::string command_help(const CommandSpec& spec);  // `liqsim help replay`
std::string group_help(const GroupSpec& group);     // `liqsim help log`
std::string top_help();                             // `liqsim --help`: every command and option

// What a command line said, by long name with dashes ("--out").
class ParsedOptions {
 public:
  bool help = false;  // --help or -h was given: print the help, nothing else

  bool has(std::string_view name) const { return values_.find(name) != values_.end(); }
  // The value of a single-valued option, or DEFAULT_VALUE when it was not given.
  std::string get(std::string_view name, const std::string& default_value = {}) const;
  // Every value of a repeatable option, in command-line order.
  std::vector<std::string> all(std::string_view name) const;
  const std::vector<std::string>& operands() const { return operands_; }
  // An integer option in [LOW, HIGH], DEFAULT_VALUE when not given; anything
  // else is a usage Error naming the option.
  Result<std::int64_t> integer(std::string_view name, std::int64_t default_value, std::int64_t low,
                               std::int64_t high) const;

 private:
  friend Result<ParsedOptions> parse_command_line(const CommandSpec& spec, const Args& args,
                                                  std::size_t first);
  std::map<std::string, std::vector<std::string>, std::less<>> values_;
  std::vector<std::string> operands_;
};

// Parses ARGS[FIRST...] against SPEC (FIRST is 1 for `replay`, 2 for `log
// convert`). A usage Error's message is ready for usage_error(spec.path, ...).
Result<ParsedOptions> parse_command_line(const CommandSpec& spec, const Args& args, std::size_t first);
// The same for the command described as PATH ("log convert"), which must be.
Result<ParsedOptions> parse_command_line(std::string_view path, const Args& args, std::size_t first);

// The closest of CANDIDATES to WORD by edit distance (insertions, deletions,
// substitutions and transpositions of neighbours, each 1), if it is close
// enough to be a likely typo (at most 2 edits, or a third of the longer
// word); ties go to the candidate first in byte order. Empty if none.
std::string closest_match(std::string_view word, const std::vector<std::string>& candidates);

// Prints the help of PATH on stdout; returns 0.
int print_help(std::string_view path);

}  // namespace liqsim::cli
