#!/usr/bin/env bash
# Installs what the build and the tests need on a fresh Debian machine with a
# Rust toolchain. Safe to run again: it skips what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cargo >/dev/null 2>&1; then
  echo "setup: cargo not found; install Rust (https://rustup.rs) first" >&2
  exit 1
fi
# Fetch crates up front so a network problem shows here, not mid-build.
cargo fetch --locked 2>/dev/null || cargo fetch
