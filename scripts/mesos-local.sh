#!/usr/bin/env bash
# Builds every binary (the agent launches `mesos-executor` from beside
# itself) and starts mesos-local: a master and agents in one process.
# Extra arguments go to mesos-local, e.g. --num_slaves=2.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --bins
exec target/release/mesos-local "$@"
