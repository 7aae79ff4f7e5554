// Builds the static site into dist/: relative asset paths (host it at any path, or any static
// server), the example bundles copied into dist/examples/, and a service worker (dist/sw.js) that
// precaches every file of the build so that the site works offline once loaded.

import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const EXAMPLES = fileURLToPath(new URL('../examples', import.meta.url));
/** The examples the site offers (file names in ../examples). */
export const EXAMPLE_FILES = [
  'app3.bundle.json',
  'media-pipeline.bundle.json',
  'six-functions.bundle.json',
  'app3.optiserve-spec.json',
];

function examples() {
  return {
    name: 'optiserve-examples',
    generateBundle() {
      for (const name of EXAMPLE_FILES) {
        this.emitFile({
          type: 'asset',
          fileName: `examples/${name}`,
          source: readFileSync(join(EXAMPLES, name)),
        });
      }
    },
  };
}

function walk(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? walk(path) : [path];
  });
}

/** Writes dist/sw.js: the service worker, with the list of files to precache and a version. */
function serviceWorker() {
  let outDir;
  return {
    name: 'optiserve-service-worker',
    apply: 'build',
    configResolved(config) {
      outDir = join(config.root, config.build.outDir);
    },
    closeBundle() {
      const files = walk(outDir)
        .map((f) => relative(outDir, f).split(sep).join('/'))
        .filter((f) => f !== 'sw.js')
        .sort();
      const hash = createHash('sha256');
      for (const f of files) hash.update(f).update(readFileSync(join(outDir, f)));
      const version = hash.digest('hex').slice(0, 16);
      const template = readFileSync(fileURLToPath(new URL('src/sw.js', import.meta.url)), 'utf8');
      const precache = ['./', ...files.map((f) => `./${f}`)];
      writeFileSync(
        join(outDir, 'sw.js'),
        template
          .replace('__VERSION__', version)
          .replace('__PRECACHE__', JSON.stringify(precache)),
      );
    },
  };
}

export default defineConfig({
  base: './',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // ECharts is large even tree-shaken; it is one file that the service worker caches.
    chunkSizeWarningLimit: 1500,
  },
  optimizeDeps: { exclude: ['optiserve'] },
  plugins: [examples(), serviceWorker()],
});
