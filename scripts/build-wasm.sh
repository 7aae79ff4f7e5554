#!/usr/bin/env bash
# Builds the npm package `optiserve` from a clean clone: the release wasm of optiserve-wasm, the
# pinned wasm-bindgen CLI's JavaScript glue for the web, bundler and Node targets, wasm-opt from
# the pinned npm `binaryen`, then the package in wasm/pkg/ and its tarball in wasm/dist/.
#
#   ./scripts/build-wasm.sh               # wasm/pkg/ and wasm/dist/optiserve-<version>.tgz
#   ./scripts/build-wasm.sh --tools       # only install the tools (CI does this first)
#   ./scripts/build-wasm.sh --bindgen-dir # print the directory of wasm-bindgen(-test-runner)
#
# Needs the Rust toolchain with the wasm32-unknown-unknown target, Node ≥ 20.19 and npm. The
# wasm-bindgen CLI (the version in Cargo.lock) is installed into $OPTISERVE_CACHE (default
# .ci-cache/) on first use, about 4 minutes; the dev tools of wasm/package.json with `npm ci`.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

step() { printf '\n==> %s\n' "$*"; }

# The CLI must be exactly the wasm-bindgen version the module was compiled against.
version=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
[ -n "$version" ] || { echo "wasm-bindgen not found in Cargo.lock" >&2; exit 1; }
cache=${OPTISERVE_CACHE:-$root/.ci-cache}
bindgen_root=$cache/wasm-bindgen-cli-$version
bindgen=$bindgen_root/bin/wasm-bindgen
if ! "$bindgen" --version 2>/dev/null | grep -qF " $version"; then
    step "install wasm-bindgen-cli $version into $bindgen_root (once)" >&2
    # Not --locked: the CLI's own lockfile pins a crate version the registry no longer has.
    cargo install wasm-bindgen-cli --version "$version" --root "$bindgen_root" >&2
fi
if [ "${1:-}" = --bindgen-dir ]; then
    echo "$bindgen_root/bin"
    exit 0
fi

if [ ! -x wasm/node_modules/.bin/wasm-opt ]; then
    step "npm ci (wasm/: binaryen, TypeScript and the test tools, pinned)"
    (cd wasm && npm ci --no-audit --no-fund)
fi
[ "${1:-}" = --tools ] && exit 0

step "cargo build optiserve-wasm (wasm32-unknown-unknown, profile wasm-release)"
cargo build -p optiserve-wasm --target wasm32-unknown-unknown --profile wasm-release --locked
module=target/wasm32-unknown-unknown/wasm-release/optiserve_wasm.wasm

pkg=wasm/pkg
rm -rf "$pkg"
mkdir -p "$pkg"
for target in web bundler nodejs; do
    dir=${target/nodejs/node}
    step "wasm-bindgen --target $target -> $pkg/$dir"
    "$bindgen" --target "$target" --out-dir "$pkg/$dir" --out-name optiserve "$module"
    # The features rustc's wasm32 target enables (and wasm-bindgen's reference-types output uses).
    wasm/node_modules/.bin/wasm-opt -O3 --strip-debug --strip-producers \
        --enable-mutable-globals --enable-nontrapping-float-to-int --enable-bulk-memory \
        --enable-sign-ext --enable-reference-types --enable-multivalue \
        "$pkg/$dir/optiserve_bg.wasm" -o "$pkg/$dir/optiserve_bg.wasm"
    rm -f "$pkg/$dir/optiserve_bg.wasm.d.ts" "$pkg/$dir/.gitignore"
done
# The Node glue is CommonJS; the package itself is ES modules.
printf '{ "type": "commonjs" }\n' > "$pkg/node/package.json"

step "assemble $pkg"
cp wasm/npm/package.json wasm/npm/index.d.ts wasm/npm/widget.js wasm/npm/widget.d.ts wasm/npm/format.js wasm/npm/format.d.ts "$pkg/"
cp wasm/npm/web-index.js "$pkg/web/index.js"
cp wasm/README.md "$pkg/README.md"

raw=$(wc -c < "$pkg/web/optiserve_bg.wasm")
gz=$(gzip -9 -c "$pkg/web/optiserve_bg.wasm" | wc -c)
echo "optiserve_bg.wasm: $raw bytes, $gz bytes gzipped (gzip -9)"

step "npm pack -> wasm/dist/"
mkdir -p wasm/dist
rm -f wasm/dist/optiserve-*.tgz
(cd "$pkg" && npm pack --pack-destination ../dist --silent)
ls -l wasm/dist/optiserve-*.tgz
