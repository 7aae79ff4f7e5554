#!/usr/bin/env bash
# Everything CI checks, in the order it checks it. Run from anywhere: `./scripts/test-all.sh`.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "cargo fmt --check"
cargo fmt --all -- --check

step "clippy (host, all targets, -D warnings)"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "clippy (wasm32-unknown-unknown: optiserve-core stays pure)"
cargo clippy -p optiserve-core --target wasm32-unknown-unknown --locked -- -D warnings

step "build optiserve-core for wasm32-unknown-unknown"
cargo build -p optiserve-core --target wasm32-unknown-unknown --locked

step "tests (unit, property, CLI snapshot and cross-crate)"
cargo test --workspace --locked
