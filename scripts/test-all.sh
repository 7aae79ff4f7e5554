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
# The JS tests compare against this build of the CLI (`cargo build -p optiserve-profiler` would
# resolve features differently and compile every dependency again).
export OPTISERVE_CLI="$PWD/target/debug/optiserve"

step "profiler against the local AWS emulator (moto with REPORT lines, over real HTTP; scripts/emulator.sh)"
./scripts/emulator.sh test

# The npm package (wasm/): needs the tools .ci/run installs (wasm-bindgen-cli in .ci-cache/, the
# npm dev tools in wasm/node_modules, Debian chromium and chromium-driver).

step "clippy (wasm32-unknown-unknown: optiserve-wasm, -D warnings)"
cargo clippy -p optiserve-wasm --target wasm32-unknown-unknown --locked -- -D warnings

step "wasm/types/api.d.ts is generated from wasm/types/api.schema.json (checked above by cargo test)"
node wasm/scripts/gen-types.mjs --check

step "build the npm package (scripts/build-wasm.sh)"
./scripts/build-wasm.sh

bindgen_dir=$(./scripts/build-wasm.sh --bindgen-dir)
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER="$bindgen_dir/wasm-bindgen-test-runner"

step "wasm-bindgen-test in Node"
cargo test -p optiserve-wasm --target wasm32-unknown-unknown --locked --test node

step "wasm-bindgen-test in headless Chromium"
CHROMEDRIVER=${CHROMEDRIVER:-/usr/bin/chromedriver} \
    cargo test -p optiserve-wasm --target wasm32-unknown-unknown --locked --test browser

step "JS tests on the packed tarball: API vs the CLI, tsc, the widget in Chromium, a Vite app"
(cd wasm && npm test)

step "the what-if calculator (www/): build the site on the package tarball, end to end in headless Chromium"
(cd www && npm test)
