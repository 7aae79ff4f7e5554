// Builds the static site into dist/: relative asset paths (host it at any path, or any static
// server), the example bundles copied into dist/examples/, and a service worker (dist/sw.js) that
// precaches every file of the build so that the site works offline once loaded.
//
// `vite build --mode file` (`npm run build:file`) builds dist-file/index.html instead: one
// self-contained file (scripts, styles, the WebAssembly planner and the examples inlined) that
// works opened straight from the disk (file://), where a browser fetches nothing.

import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants as zlib, gzipSync } from 'node:zlib';
import { defineConfig } from 'vite';
import { viteSingleFile } from 'vite-plugin-singlefile';

const EXAMPLES = fileURLToPath(new URL('../examples', import.meta.url));
const REAL_AWS = fileURLToPath(new URL('../tests/fixtures/real-aws', import.meta.url));
/** The example a plain visit shows (`defaultView()` in src/state.js). */
const DEFAULT_EXAMPLE = 'app3.bundle.json';
/** The examples the site offers: their names under examples/ and the files they come from. */
export const EXAMPLE_FILES = {
  'app3.bundle.json': join(EXAMPLES, 'app3.bundle.json'),
  'media-pipeline.bundle.json': join(EXAMPLES, 'media-pipeline.bundle.json'),
  'six-functions.bundle.json': join(EXAMPLES, 'six-functions.bundle.json'),
  'app3.optiserve-spec.json': join(EXAMPLES, 'app3.optiserve-spec.json'),
  // Measured on AWS (Lin & Khazaei, TPDS 2020; MIT; tests/fixtures/real-aws/README.md).
  'app16-real-aws.bundle.json': join(REAL_AWS, 'app16.bundle.json'),
};

function examples() {
  return {
    name: 'optiserve-examples',
    generateBundle() {
      for (const [name, file] of Object.entries(EXAMPLE_FILES)) {
        this.emitFile({
          type: 'asset',
          fileName: `examples/${name}`,
          source: readFileSync(file),
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

/** Files worth compressing (text and WebAssembly), and the smallest worth it. */
export const COMPRESSIBLE = new Set(['.html', '.js', '.mjs', '.css', '.json', '.wasm', '.svg', '.txt', '.webmanifest']);
const MIN_COMPRESS_BYTES = 1024;

/**
 * Writes `<file>.br` (Brotli, quality 11) and `<file>.gz` (gzip -9) next to every compressible
 * file of the build, when that makes it smaller: a static server can send them as they are
 * (scripts/serve.mjs does; nginx `gzip_static`/`brotli_static`, and most hosts, do too).
 */
function compressFiles(outDir) {
  const sizes = { raw: 0, br: 0, gz: 0 };
  for (const path of walk(outDir)) {
    if (!COMPRESSIBLE.has(extname(path))) continue;
    const data = readFileSync(path);
    if (data.length < MIN_COMPRESS_BYTES) continue;
    const br = brotliCompressSync(data, {
      params: { [zlib.BROTLI_PARAM_QUALITY]: 11, [zlib.BROTLI_PARAM_SIZE_HINT]: data.length },
    });
    const gz = gzipSync(data, { level: 9 });
    sizes.raw += data.length;
    if (br.length < data.length) writeFileSync(`${path}.br`, br);
    if (gz.length < data.length) writeFileSync(`${path}.gz`, gz);
    sizes.br += Math.min(br.length, data.length);
    sizes.gz += Math.min(gz.length, data.length);
  }
  const kb = (n) => `${(n / 1024).toFixed(0)} KB`;
  console.log(`compressed: ${kb(sizes.raw)} → ${kb(sizes.gz)} gzip, ${kb(sizes.br)} brotli (.gz and .br next to each file)`);
}

/**
 * Writes dist/sw.js: the service worker, with the list of files to precache and a version; then
 * the compressed copies of every file (which the service worker does not list: the browser
 * decompresses what it caches).
 */
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
        .filter((f) => f !== 'sw.js' && !f.endsWith('.br') && !f.endsWith('.gz'))
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
      compressFiles(outDir);
    },
  };
}

/**
 * Starts the downloads the first plan waits for while the page is still being parsed: the
 * default example, the WebAssembly planner (`<link rel="preload" as="fetch">`, which the package's own `fetch` then
 * takes from the preload cache) and the package's JavaScript (`modulepreload`), both imported
 * only once main.js runs.
 */
function preloadPlanner() {
  return {
    name: 'optiserve-preload-planner',
    apply: 'build',
    enforce: 'post',
    generateBundle(_options, bundle) {
      const html = bundle['index.html'];
      if (!html) return;
      const wasm = Object.keys(bundle).find((f) => /optiserve_bg-[\w-]+\.wasm$/.test(f));
      const glue = Object.values(bundle).find((c) => c.type === 'chunk' && c.moduleIds?.some((id) => id.includes('/optiserve/web/')))?.fileName;
      if (!wasm || !glue) this.error(`index.html: no planner to preload (wasm: ${wasm}, glue: ${glue})`);
      // The default example (what a plain visit shows) is fetched while the page parses too;
      // a link to another bundle costs one unused 1-KB fetch.
      const links =
        `<link rel="preload" href="./${wasm}" as="fetch" type="application/wasm" crossorigin>\n` +
        `    <link rel="preload" href="./examples/${DEFAULT_EXAMPLE}" as="fetch" type="application/json" crossorigin>\n` +
        `    <link rel="modulepreload" crossorigin href="./${glue}">\n  </head>`;
      html.source = String(html.source).replace('</head>', `    ${links}`);
    },
  };
}

/**
 * `virtual:optiserve-examples`: the examples' texts in the single-file build (a page opened from
 * file:// cannot fetch them), `null` in the site build (which fetches examples/…).
 */
function embeddedExamples(embed) {
  const id = 'virtual:optiserve-examples';
  return {
    name: 'optiserve-embedded-examples',
    resolveId: (source) => (source === id ? `\0${id}` : null),
    load(resolved) {
      if (resolved !== `\0${id}`) return null;
      if (!embed) return 'export default null;';
      const texts = Object.fromEntries(Object.entries(EXAMPLE_FILES).map(([n, file]) => [n, readFileSync(file, 'utf8')]));
      return `export default ${JSON.stringify(texts)};`;
    },
  };
}

/**
 * The single file's Content Security Policy: its inline scripts allowed by their SHA-256 hashes
 * (in place of 'self', which a file:// page cannot use), and the WebAssembly module, inlined as a
 * data: URL, allowed to be fetched from data:. Runs after vite-plugin-singlefile has inlined them.
 */
function inlineScriptCsp() {
  const site = "script-src 'self' 'wasm-unsafe-eval'";
  const pending = "script-src 'sha256-pending' 'wasm-unsafe-eval'";
  return {
    name: 'optiserve-inline-csp',
    apply: 'build',
    enforce: 'post',
    // A placeholder hash first, so that vite-plugin-singlefile sees a policy that allows inlining.
    transformIndexHtml: {
      order: 'pre',
      handler(html) {
        if (!html.includes(site)) throw new Error(`index.html: the CSP has no "${site}" to replace`);
        return html.replace(site, pending).replace("connect-src 'self'", "connect-src 'self' data:");
      },
    },
    generateBundle: {
      order: 'post',
      handler(_options, bundle) {
        const html = bundle['index.html'];
        const source = String(html.source);
        const hashes = [...source.matchAll(/<script\b[^>]*>([\s\S]*?)<\/script>/g)]
          .filter((m) => m[1].length > 0)
          .map((m) => `'sha256-${createHash('sha256').update(m[1], 'utf8').digest('base64')}'`);
        if (hashes.length === 0) this.error('no inline script to allow in the single-file build');
        html.source = source.replace(pending, `script-src ${hashes.join(' ')} 'wasm-unsafe-eval'`);
      },
    },
  };
}

export default defineConfig(({ mode }) => {
  const file = mode === 'file';
  return {
    base: './',
    build: {
      outDir: file ? 'dist-file' : 'dist',
      emptyOutDir: true,
      target: 'es2022',
      // ECharts is large even tree-shaken; it is one file that the service worker caches.
      chunkSizeWarningLimit: 1500,
    },
    optimizeDeps: { exclude: ['optiserve'] },
    plugins: file
      ? [embeddedExamples(true), viteSingleFile(), inlineScriptCsp()]
      : [embeddedExamples(false), examples(), preloadPlanner(), serviceWorker()],
  };
});
