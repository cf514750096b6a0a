#include "liqsim/error.hpp"

namespace liqsim {

std::string Error::describe() const {
  std::string out;
  out.append(file);
  if (line > 0) {
    out.push_back(':');
    out.append(std::to_string(line));
  }
  if (offset >= 0) {
    out.append(out.empty() ? "byte offset " : ": byte offset ");
    out.append(std::to_string(offset));
  }
  if (seq >= 0) {
    out.append(out.empty() ? "seq " : ", seq ");
    out.append(std::to_string(seq));
  }
  if (!out.empty()) out.append(": ");
  if (!field.empty()) {
    out.append("field '");
    out.append(field);
    out.append("': ");
  }
  out.append(message);
  return out;
}

}  // namespace liqsim
