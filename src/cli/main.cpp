#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <string>
#include <vector>

#include "commands.hpp"
#include "liqsim/input_file.hpp"
#include "liqsim/results.hpp"
#include "options.hpp"

namespace liqsim::cli {

int report_error(const Error& e) {
  std::fprintf(stderr, "liqsim: %s\n", e.describe().c_str());
  return e.exit_code();
}

Status scenario_folder_inputs(const std::string& dir, std::string& config, std::string& events,
                              std::string& label) {
  if (dir.empty()) return make_error(ErrorKind::usage, "the scenario folder is an empty name");
  if (!config.empty() || !events.empty())
    return make_error(ErrorKind::usage, "give either a scenario folder or --config and --events, not both");
  config = dir + "/config.json";
  struct stat sb {};
  const bool binary = ::stat((dir + "/events.evlog").c_str(), &sb) == 0;
  const bool jsonl = ::stat((dir + "/events.jsonl").c_str(), &sb) == 0;
  if (binary && jsonl)
    return make_error(
        ErrorKind::usage,
        dir +
            " holds both events.evlog and events.jsonl: remove one, or name the log with --config "
            "and --events");
  events = dir + (binary ? "/events.evlog" : "/events.jsonl");
  if (label.empty()) {
    std::string d = dir;
    while (d.size() > 1 && d.back() == '/') d.pop_back();
    const auto slash = d.rfind('/');
    label = slash == std::string::npos ? d : d.substr(slash + 1);
  }
  return {};
}

bool same_file(const std::string& a, const std::string& b) {
  struct stat sa {
  }, sb{};
  const bool a_exists = ::stat(a.c_str(), &sa) == 0, b_exists = ::stat(b.c_str(), &sb) == 0;
  if (a_exists || b_exists) return a_exists && b_exists && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
  std::error_code ec;
  auto canonical = [&](const std::string& p) {
    return std::filesystem::weakly_canonical(std::filesystem::absolute(p, ec), ec);
  };
  return canonical(a) == canonical(b);
}

Status refuse_side_file(const std::string& option, const std::string& path, const std::string& db_path) {
  for (const std::string& side : results_side_files(db_path))
    if (same_file(path, side))
      return make_error(ErrorKind::usage,
                        option + " " + path + " is where SQLite keeps a side file of the results " +
                            "database " + db_path +
                            " (it would be deleted as a hot journal): " + "name another file");
  return {};
}

Status check_merge_inputs(const std::string& out, const std::vector<std::string>& inputs) {
  for (const std::string& in : inputs) {
    if (in.empty()) return make_error(ErrorKind::usage, "an input is an empty name");
    if (same_file(in, out)) return make_error(ErrorKind::usage, "input " + in + " is OUT " + out + " itself");
    if (Status st = require_regular_input(in, "results database"); !st) return st;
    if (Status st = refuse_side_file("input", in, out); !st) return st;
  }
  return {};
}

int usage_error(const std::string& message) {
  std::fprintf(stderr, "liqsim: %s (see 'liqsim --help')\n", printable(message).c_str());
  return 2;
}

int usage_error(const std::string& command, const std::string& message) {
  std::fprintf(stderr, "liqsim: %s: %s (see 'liqsim help %s')\n", printable(command).c_str(),
               printable(message).c_str(), printable(command).c_str());
  return 2;
}

int usage_error(const std::string& command, const Error& e) { return usage_error(command, e.describe()); }

int report_error(const std::string& command, const Error& e) {
  return e.kind == ErrorKind::usage ? usage_error(command, e) : report_error(e);
}

namespace {

// "convert, verify, cat" and the closest of them to WORD, for messages.
std::string unknown_word(const std::string& what, const std::string& word,
                         const std::vector<std::string>& names) {
  std::string list;
  for (const std::string& n : names) list += (list.empty() ? "" : ", ") + n;
  std::string message = "unknown " + what + " '" + excerpt(word) + "'";
  std::string best = closest_match(word, names);
  if (!best.empty()) return message + "; did you mean '" + best + "'? (" + list + ")";
  return message + " (" + list + ")";
}

std::vector<std::string> subcommand_names(const std::string& group) {
  std::vector<std::string> names;
  for (const CommandSpec& c : command_specs()) {
    std::string path = c.path;
    if (path.rfind(group + " ", 0) == 0) names.push_back(path.substr(group.size() + 1));
  }
  return names;
}

std::vector<std::string> command_names() {
  std::vector<std::string> names;
  for (const CommandSpec& c : command_specs()) {
    std::string first = std::string(c.path).substr(0, std::string(c.path).find(' '));
    if (std::find(names.begin(), names.end(), first) == names.end()) names.push_back(first);
  }
  return names;
}

}  // namespace

int help_command(const Args& words) {
  if (words.empty()) {
    std::fputs(top_help().c_str(), stdout);
    return 0;
  }
  const std::string& command = words[0];
  if (find_group(command) != nullptr) {
    if (words.size() == 1) return print_help(command);
    const std::string path = command + " " + words[1];
    if (find_command(path) == nullptr)
      return usage_error(unknown_word(command + " subcommand", words[1], subcommand_names(command)));
    if (words.size() > 2) return usage_error("unexpected argument '" + excerpt(words[2]) + "'");
    return print_help(path);
  }
  if (find_command(command) == nullptr) return usage_error(unknown_word("command", command, command_names()));
  if (words.size() > 1)
    return usage_error(command + " has no subcommands: unexpected argument '" + excerpt(words[1]) + "'");
  return print_help(command);
}

int dispatch(const Args& args, std::initializer_list<Subcommand> subcommands) {
  const std::string& group = args[0];
  const GroupSpec* spec = find_group(group);
  LIQSIM_ASSERT(spec != nullptr, "every command group is described in options.cpp");
  if (args.size() < 2) {
    std::fputs(group_help(*spec).c_str(), stderr);
    return 2;
  }
  const std::string& sub = args[1];
  if (sub == "--help" || sub == "-h") return print_help(group);
  if (sub == "help") {
    Args words = {group};
    words.insert(words.end(), args.begin() + 2, args.end());
    return help_command(words);
  }
  std::vector<std::string> names;
  for (const Subcommand& s : subcommands) {
    if (sub == s.name) return s.run(args);
    names.emplace_back(s.name);
  }
  for (const auto& a : args)
    if (a == "--help" || a == "-h") return print_help(group);
  return usage_error(group, unknown_word("subcommand", sub, names));
}

// Standard output is an output like any other: a summary, `log cat` or an
// import written to a full disk is an error (exit 2), never a silent cut.
int checked_stdout(int rc) {
  errno = 0;
  bool flushed = std::fflush(stdout) == 0;
  int err = errno;
  if (flushed && !std::ferror(stdout)) return rc;
  if (rc != 0) return rc;  // the command has reported its own error
  std::string reason = err == ENOSPC ? "no space left on device"
                       : err != 0    ? std::strerror(err)
                                     : "I/O error";
  std::fprintf(stderr, "liqsim: <stdout>: write failed: %s\n", reason.c_str());
  return rc == 0 ? 2 : rc;
}

int run_liqsim(int argc, char** argv) {
  if (argc < 2) {
    std::fputs(top_help().c_str(), stderr);
    return 2;
  }
  std::string command = argv[1];
  if (command == "--help" || command == "-h") {
    std::fputs(top_help().c_str(), stdout);
    return 0;
  }
  if (command == "--version") {
    std::puts("liqsim 0.1.0");
    return 0;
  }
  Args args(argv + 1, argv + argc);
  try {
    if (command == "help") return help_command(Args(argv + 2, argv + argc));
    if (command == "replay") return cmd_replay(args);
    if (command == "log") return cmd_log(args);
    if (command == "import") return cmd_import(args);
    if (command == "gen") return cmd_gen(args);
    if (command == "report") return cmd_report(args);
    if (command == "bench") return cmd_bench(args);
    if (command == "sweep") return cmd_sweep(args);
    if (command == "results") return cmd_results(args);
    if (command == "stress") return cmd_stress(args);
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "liqsim: out of memory\n");
    return 2;
  } catch (const std::exception& ex) {
    // Every operating error should already be a value; reaching here is a bug
    // in an adapter, still reported without a stack trace.
    std::fprintf(stderr, "liqsim: %s\n", liqsim::printable(ex.what()).c_str());
    return 2;
  }
  return usage_error(unknown_word("command", command, command_names()));
}

}  // namespace liqsim::cli
