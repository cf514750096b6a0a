#include <sys/stat.h>

#include <cerrno>
#include <filesystem>
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>

#include "commands.hpp"
#include "liqsim/results.hpp"

namespace liqsim::cli {

int report_error(const Error& e) {
  std::fprintf(stderr, "liqsim: %s\n", e.describe().c_str());
  return e.exit_code();
}

bool same_file(const std::string& a, const std::string& b) {
  struct stat sa {}, sb {};
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
      return make_error(ErrorKind::usage, option + " " + path + " is where SQLite keeps a side file of the results " +
                                              "database " + db_path + " (it would be deleted as a hot journal): " +
                                              "name another file");
  return {};
}

int usage_error(const std::string& message) {
  std::fprintf(stderr, "liqsim: %s (see 'liqsim --help')\n", printable(message).c_str());
  return 2;
}

int dispatch(const Args& args, const char* help, std::initializer_list<Subcommand> subcommands) {
  if (args.size() < 2) {
    std::fputs(help, stderr);
    return 2;
  }
  for (const auto& a : args)
    if (a == "--help" || a == "-h") {
      std::fputs(help, stdout);
      return 0;
    }
  std::string names;
  for (const Subcommand& sub : subcommands) {
    if (args[1] == sub.name) return sub.run(args);
    names += names.empty() ? sub.name : std::string(", ") + sub.name;
  }
  return usage_error(args[0] + ": unknown subcommand '" + args[1] + "' (" + names + ")");
}

}  // namespace liqsim::cli

namespace {

const char* kHelp =
    "liqsim — deterministic, event-sourced liquidation simulator\n"
    "\n"
    "usage:\n"
    "  liqsim replay --config C --events E [--out R.sqlite] [--journal J.jsonl] [--json] [--check]\n"
    "               [--reference-scan]\n"
    "  liqsim replay DIR [--json] [--out R.sqlite] [--journal J.jsonl] ...\n"
    "  liqsim log convert IN OUT | verify LOG | cat LOG | append LOG | repair LOG\n"
    "  liqsim import candles|trades ...   (see 'liqsim import --help')\n"
    "  liqsim gen population ...          (see 'liqsim gen --help')\n"
    "  liqsim report RUN.sqlite -o REPORT.html\n"
    "  liqsim bench [--quick]\n"
    "\n"
    "exit codes: 0 success, 2 usage/configuration/input error, 3 corrupt or truncated log\n";

// Standard output is an output like any other: a summary, `log cat` or an
// import written to a full disk is an error (exit 2), never a silent cut.
int checked_stdout(int rc) {
  errno = 0;
  bool flushed = std::fflush(stdout) == 0;
  int err = errno;
  if (flushed && !std::ferror(stdout)) return rc;
  if (rc != 0) return rc;  // the command has reported its own error
  std::string reason = err == ENOSPC ? "no space left on device" : err != 0 ? std::strerror(err) : "I/O error";
  std::fprintf(stderr, "liqsim: <stdout>: write failed: %s\n", reason.c_str());
  return rc == 0 ? 2 : rc;
}

int run(int argc, char** argv);

}  // namespace

int main(int argc, char** argv) { return checked_stdout(run(argc, argv)); }

namespace {

int run(int argc, char** argv) {
  using namespace liqsim::cli;
  if (argc < 2) {
    std::fputs(kHelp, stderr);
    return 2;
  }
  std::string command = argv[1];
  if (command == "--help" || command == "-h" || command == "help") {
    std::fputs(kHelp, stdout);
    return 0;
  }
  if (command == "--version") {
    std::puts("liqsim 0.1.0");
    return 0;
  }
  Args args(argv + 1, argv + argc);
  try {
    if (command == "replay") return cmd_replay(args);
    if (command == "log") return cmd_log(args);
    if (command == "import") return cmd_import(args);
    if (command == "gen") return cmd_gen(args);
    if (command == "report") return cmd_report(args);
    if (command == "bench") return cmd_bench(args);
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "liqsim: out of memory\n");
    return 2;
  } catch (const std::exception& ex) {
    // Every operating error should already be a value; reaching here is a bug
    // in an adapter, still reported without a stack trace.
    std::fprintf(stderr, "liqsim: %s\n", liqsim::printable(ex.what()).c_str());
    return 2;
  }
  return usage_error("unknown command '" + command + "'");
}

}  // namespace
