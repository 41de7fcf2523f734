#!/usr/bin/env bash
# The project's test command: installs what the tests need, checks format
# and lints, then runs every test of the workspace.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
cargo fmt --all -- --check
# The bench crate too, so benches keep compiling (they are not run here).
cargo clippy --workspace --all-targets -- -D warnings
cargo test
