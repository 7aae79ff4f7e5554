// Installs the npm package `optiserve` into www/node_modules from the tarball that
// scripts/build-wasm.sh packs (wasm/dist/optiserve-<version>.tgz), exactly as an outside user
// installs it (`npm install ./optiserve-0.1.0.tgz`). Builds the tarball first when it is missing,
// and reinstalls whenever the tarball changed (its SHA-256 is recorded next to the install).
//
//   node scripts/install-optiserve.mjs          # `npm run optiserve`; `npm run build` runs it first
//
// The package is not a `file:` dependency in package.json on purpose: `npm ci` (CI runs it before
// the tarball is built) would fail without the file, and the lockfile would pin the hash of one
// particular build of the wasm module.

import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const WWW = fileURLToPath(new URL('..', import.meta.url));
const ROOT = resolve(WWW, '..');
const DIST = join(ROOT, 'wasm', 'dist');

function run(cmd, args, cwd) {
  const r = spawnSync(cmd, args, { cwd, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`${cmd} ${args.join(' ')} failed (exit ${r.status ?? r.signal})`);
    process.exit(1);
  }
}

const tarballs = () =>
  existsSync(DIST) ? readdirSync(DIST).filter((f) => /^optiserve-.*\.tgz$/.test(f)) : [];

if (tarballs().length === 0) {
  console.log('wasm/dist has no optiserve-*.tgz: building it with scripts/build-wasm.sh');
  run(join(ROOT, 'scripts', 'build-wasm.sh'), [], ROOT);
}
const found = tarballs();
if (found.length !== 1) {
  console.error(`expected one optiserve-*.tgz in ${DIST}, found ${found.length}`);
  process.exit(1);
}
const tarball = join(DIST, found[0]);
const sha = createHash('sha256').update(readFileSync(tarball)).digest('hex');
const stamp = join(WWW, 'node_modules', '.optiserve-tarball.sha256');
const installed = join(WWW, 'node_modules', 'optiserve', 'package.json');
if (existsSync(installed) && existsSync(stamp) && readFileSync(stamp, 'utf8').trim() === sha) {
  console.log(`optiserve: ${found[0]} already installed`);
} else {
  console.log(`optiserve: installing ${found[0]}`);
  run('npm', ['install', '--no-save', '--no-audit', '--no-fund', '--prefer-offline', tarball], WWW);
  writeFileSync(stamp, `${sha}\n`);
}
