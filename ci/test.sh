#!/usr/bin/env bash
# Runs every test of the project from a clean checkout. Installs what it needs first.
# Usage: ci/test.sh            (from anywhere inside the repository)
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\n==> %s\n' "$*"; }

# --- tools -------------------------------------------------------------------------------------
# The Rust toolchain (with rustfmt and clippy) and gcc come with the machine.
if ! rustup component list --installed 2>/dev/null | grep -q '^clippy'; then
    rustup component add clippy rustfmt
fi

# --- checks ------------------------------------------------------------------------------------
log "cargo fmt --check"
cargo fmt --all -- --check

log "cargo clippy (warnings are errors)"
cargo clippy --workspace --all-targets -- -D warnings

log "cargo test (unit, integration, documented trace replays)"
cargo test --workspace

log "all tests passed"
