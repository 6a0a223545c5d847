#!/usr/bin/env bash
# tools/setup.sh — installs what building and testing wsdol needs, on a fresh Debian/Ubuntu machine.
# The README's two commands and .ci/run start with it. As root it installs the missing Debian packages itself;
# otherwise it prints the exact command to run and fails. Nothing is installed when everything is present.
#   tools/setup.sh           build + tests: cmake ninja-build g++ libgtest-dev libstb-dev (OpenMP comes with g++)
#   tools/setup.sh --bench   also libbenchmark-dev libopenblas-dev (WSDOL_BUILD_BENCH=ON)
# Python is never needed to build, run or test.
set -euo pipefail

packages=(cmake ninja-build g++ make libgtest-dev libstb-dev)
if [ "${1:-}" = "--bench" ]; then packages+=(libbenchmark-dev libopenblas-dev); fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then exit 0; fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "tools/setup.sh: missing ${missing[*]} and this is not a Debian/Ubuntu system (no apt-get):" >&2
  echo "  install CMake >= 3.22, Ninja, a C++20 compiler with OpenMP, GoogleTest and the stb headers" >&2
  exit 1
fi
if [ "$(id -u)" != 0 ]; then
  echo "tools/setup.sh: missing packages; run as root:" >&2
  echo "  apt-get update && apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "tools/setup.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
