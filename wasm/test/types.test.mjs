// `tsc --noEmit` (the pinned TypeScript) on a consumer that uses every method, in a fresh project
// with the packed tarball installed, with bundler and with Node module resolution.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { WASM_DIR, freshProject } from './helpers.mjs';

test('a TypeScript consumer of every method type-checks against the package', () => {
  const project = freshProject('types', [], { type: 'module' });
  for (const f of ['consumer.ts', 'tsconfig.json', 'tsconfig.node.json']) {
    copyFileSync(join(WASM_DIR, 'test', 'consumer', f), join(project, f));
  }
  const tsc = join(WASM_DIR, 'node_modules', 'typescript', 'bin', 'tsc');
  for (const config of ['tsconfig.json', 'tsconfig.node.json']) {
    const r = spawnSync(process.execPath, [tsc, '--noEmit', '-p', config], { cwd: project, encoding: 'utf8' });
    assert.equal(r.status, 0, `tsc -p ${config}:\n${r.stdout}${r.stderr}`);
  }
  // And a type error is reported (the check is not vacuous).
  writeFileSync(join(project, 'wrong.ts'), `import { Planner } from 'optiserve';\nconst n: string = new Planner('').validate().functions;\n`);
  writeFileSync(join(project, 'tsconfig.wrong.json'), JSON.stringify({ extends: './tsconfig.json', files: ['wrong.ts'] }));
  const r = spawnSync(process.execPath, [tsc, '--noEmit', '-p', 'tsconfig.wrong.json'], { cwd: project, encoding: 'utf8' });
  assert.notEqual(r.status, 0);
  assert.match(r.stdout, /Type 'number' is not assignable to type 'string'/);
});
