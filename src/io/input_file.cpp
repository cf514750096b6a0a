#include "liqsim/input_file.hpp"

#include <sys/stat.h>

#include <cerrno>

namespace liqsim {

Status require_regular_input(const std::string& path, const std::string& what) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0)
    return make_os_error(path, "cannot open the " + what + " for reading", errno);
  if (S_ISREG(info.st_mode)) return {};
  const char* kind = S_ISDIR(info.st_mode)    ? "a directory"
                     : S_ISFIFO(info.st_mode) ? "a named pipe"
                     : S_ISSOCK(info.st_mode) ? "a socket"
                     : S_ISCHR(info.st_mode)  ? "a character device"
                     : S_ISBLK(info.st_mode)  ? "a block device"
                                              : "not a regular file";
  return make_file_error(ErrorKind::usage, path,
                         std::string("is ") + kind + ", not a regular file: the " + what +
                             " is read from a file (save a stream to a file first)");
}

}  // namespace liqsim
