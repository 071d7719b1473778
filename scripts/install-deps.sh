#!/usr/bin/env bash
# Installs every Debian 12 package Halo needs to build, test and benchmark its core.
# Safe to re-run (apt-get install is idempotent). Needs root (or sudo).
set -euo pipefail
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
PACKAGES=(
  build-essential cmake ninja-build pkg-config git
  # LLVM 19 as a shared library, lld 19 as a library (in-process linking), clang 19 (stdlib bitcode)
  llvm-19-dev liblld-19-dev libzstd-dev clang-19 lld-19
  # ANTLR 4.7.2 tool (pulls a JRE) + 4.9 C++ runtime; uuid-dev for the runtime's -luuid
  antlr4 libantlr4-runtime-dev uuid-dev
  # numerics, tests, CLI, formatting, JSON
  libeigen3-dev libboost-dev doctest-dev libcli11-dev libfmt-dev libsimdjson-dev nlohmann-json3-dev
  # fuzzing and sanitizers (libFuzzer / TSan runtime for clang 14)
  clang libclang-rt-14-dev
  python3
)
# Another process may hold the dpkg lock for a while (toolchain.md pitfall 10): wait for it.
APT_OPTS=(-o DPkg::Lock::Timeout=600 -y --no-install-recommends)
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get -o DPkg::Lock::Timeout=600 update -qq
$SUDO apt-get install "${APT_OPTS[@]}" "${PACKAGES[@]}"
