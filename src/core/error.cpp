#include "liqsim/error.hpp"

#include <sstream>

namespace liqsim {

std::string Error::describe() const {
  // Built with a stream: GCC 12 warns falsely (-Wrestrict) on chained string appends here.
  std::ostringstream out;
  bool any = false;
  if (!file.empty()) {
    out << file;
    any = true;
  }
  if (line > 0) {
    out << ':' << line;
    any = true;
  }
  if (offset >= 0) {
    out << (any ? ": " : "") << "byte offset " << offset;
    any = true;
  }
  if (seq >= 0) {
    out << (any ? ", " : "") << "seq " << seq;
    any = true;
  }
  if (any) out << ": ";
  if (!field.empty()) out << "field '" << field << "': ";
  out << message;
  return out.str();
}

}  // namespace liqsim
