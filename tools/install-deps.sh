#!/usr/bin/env bash
# Installs what liqsim needs to build and test, from Debian 12 packages (run as root).
#   tools/install-deps.sh           build + tests
#   tools/install-deps.sh --ci      also clang (fuzzing, determinism audit), clang-format (style check)
#                                   and chromium (report render check)
set -euo pipefail
packages=(meson ninja-build g++ pkg-config git ca-certificates
          libboost-container-dev libboost-program-options-dev
          libsqlite3-dev sqlite3 nlohmann-json3-dev catch2 python3 util-linux libssl-dev)
if [[ ${1:-} == --ci ]]; then
  packages+=(clang clang-format libclang-rt-14-dev chromium)
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
