#!/usr/bin/env bash
# Installs what liqsim needs to build and test, from Debian 12 packages (run as root).
#   tools/install-deps.sh           build + tests
#   tools/install-deps.sh --ci      also clang (fuzzing, determinism audit), clang-format (style check),
#                                   chromium (report render check) and what --mpi installs
#   tools/install-deps.sh --mpi     build + tests, and Open MPI and Boost.MPI for liqsim-mpi
#                                   (meson setup -Dmpi=enabled)
set -euo pipefail
packages=(meson ninja-build g++ pkg-config git ca-certificates
          libboost-container-dev libboost-program-options-dev
          libsqlite3-dev sqlite3 nlohmann-json3-dev catch2 python3 util-linux libssl-dev)
mpi_packages=(libopenmpi-dev openmpi-bin libboost-mpi-dev)
case ${1:-} in
  --ci) packages+=(clang clang-format libclang-rt-14-dev chromium "${mpi_packages[@]}") ;;
  --mpi) packages+=("${mpi_packages[@]}") ;;
  '') ;;
  *)
    echo "usage: tools/install-deps.sh [--ci | --mpi]" >&2
    exit 2
    ;;
esac
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
