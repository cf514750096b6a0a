// liqsim_main.cpp — the `liqsim` program (the command line is main.cpp's).
#include "commands.hpp"

int main(int argc, char** argv) { return liqsim::cli::checked_stdout(liqsim::cli::run_liqsim(argc, argv)); }
