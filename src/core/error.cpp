#include "liqsim/error.hpp"

#include <cerrno>
#include <cstring>
#include <sstream>

namespace liqsim {

Error make_os_error(const std::string& file, const std::string& what, int err) {
  const std::string reason = err == ENOSPC ? "no space left on device" : std::strerror(err);
  return make_file_error(ErrorKind::io, file, what + ": " + reason);
}

std::string printable(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  static const char kHex[] = "0123456789abcdef";
  for (char c : text) {
    const auto b = static_cast<unsigned char>(c);
    if (b < 0x20 || b == 0x7f) {
      out += "\\x";
      out.push_back(kHex[b >> 4]);
      out.push_back(kHex[b & 15]);
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string Error::describe() const {
  // Built with a stream: GCC 12 warns falsely (-Wrestrict) on chained string appends here.
  std::ostringstream out;
  bool any = false;
  if (!file.empty()) {
    out << printable(file);
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
  if (!field.empty()) out << "field '" << printable(field) << "': ";
  out << printable(message);
  return out.str();
}

}  // namespace liqsim
