#!/usr/bin/env bash
# The main job on the bundled example, then the what-if calculator serving the examples.
#
#   ./scripts/quickstart.sh              # plan App3 with the CLI, then serve www/ on http://127.0.0.1:4173/
#   ./scripts/quickstart.sh --no-serve   # only the CLI plan
#   PORT=8080 ./scripts/quickstart.sh    # another port
#
# No AWS account needed. The first run builds the `optiserve` command, the npm package (the pinned
# wasm-bindgen CLI is installed into .ci-cache/ once, about 4.5 minutes) and the site, about 13
# minutes on 2 cores; later runs reuse them. Needs the Rust toolchain, Node >= 20.19 and npm.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "==> building the optiserve command (cargo build --locked -p optiserve-profiler)"
cargo build --locked -p optiserve-profiler
optiserve="$PWD/target/debug/optiserve"
echo
echo "==> optiserve optimize examples/app3.bundle.json --objective latency --max-cost-usd-per-million 800 --min-accuracy 1.8"
"$optiserve" optimize examples/app3.bundle.json \
    --objective latency --max-cost-usd-per-million 800 --min-accuracy 1.8
echo
echo "optiserve is at $optiserve (to put it on your PATH: cargo install --locked --path profiler)"
[ "${1:-}" = --no-serve ] && exit 0

echo
echo "==> the what-if calculator (www/) with the example bundles"
rustup target add wasm32-unknown-unknown >/dev/null 2>&1 || true
mkdir -p .ci-cache
echo "building the npm package (scripts/build-wasm.sh; log in .ci-cache/quickstart-wasm.log)"
./scripts/build-wasm.sh > .ci-cache/quickstart-wasm.log 2>&1 || { cat .ci-cache/quickstart-wasm.log; exit 1; }
[ -d www/node_modules/vite ] || (cd www && npm ci --no-audit --no-fund)
(cd www && npm run -s build >/dev/null)
exec node www/scripts/serve.mjs
