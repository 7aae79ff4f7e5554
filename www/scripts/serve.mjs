// Serves the built site (www/dist, with the example bundles in dist/examples/) on
// http://127.0.0.1:PORT (default 4173; `PORT=0` picks a free one). Build it first: `npm run build`.
//
//   npm run serve                 # or: node scripts/serve.mjs [--port 8080] [--host 0.0.0.0]

import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { serveStatic } from '../test/static-server.mjs';

const dist = fileURLToPath(new URL('../dist', import.meta.url));
if (!existsSync(`${dist}/index.html`)) {
  console.error('www/dist/index.html is missing: run `npm run build` first');
  process.exit(1);
}
const arg = (name) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const port = Number(arg('--port') ?? process.env.PORT ?? 4173);
const host = arg('--host') ?? '127.0.0.1';
const server = await serveStatic(dist, { port, host });
console.log(`optiserve what-if calculator: ${server.url}/  (Ctrl-C stops it)`);
