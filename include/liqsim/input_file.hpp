// input_file.hpp — the one check every reader of a named input file makes.
//
// A configuration, an event log, a CSV or a results database is read by name.
// A name that is not a regular file would make the reader misbehave: a FIFO
// blocks open() until a writer appears (forever, if none does), a directory
// reads as empty, a device streams without end. require_regular_input refuses
// them all with a message naming the file, before anything is opened for
// reading; it never blocks (the FIFO is not opened). Standard input, where a
// command reads it, is read through its descriptor and is not checked here.
#pragma once

#include <string>

#include "liqsim/error.hpp"

namespace liqsim {

// ok when PATH names (through symbolic links) a regular file; otherwise an
// error of kind usage ("not a regular file ...") or io (cannot stat), naming
// PATH. `what` says what the file was wanted as ("configuration", "CSV").
Status require_regular_input(const std::string& path, const std::string& what);

}  // namespace liqsim
