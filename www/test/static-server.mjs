// A small static file server for the built site (used by `npm run serve` and by the tests).
// Compressed: a file's precompressed copy (`.br`, `.gz`, written by the build) is sent when the
// browser accepts it, else text and WebAssembly are compressed on the fly (and kept in memory).

import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { gzipSync } from 'node:zlib';

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.txt': 'text/plain; charset=utf-8',
  '.webmanifest': 'application/manifest+json',
};
const COMPRESSIBLE = new Set(['.html', '.js', '.mjs', '.json', '.wasm', '.css', '.svg', '.txt', '.webmanifest']);

/** The encodings a request accepts, best first among the ones served: br, gzip. */
export function acceptedEncodings(header = '') {
  const accepted = new Map();
  for (const part of header.split(',')) {
    const [name, ...params] = part.trim().toLowerCase().split(';');
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    accepted.set(name, q ? Number(q.slice(2)) : 1);
  }
  const ok = (e) => (accepted.get(e) ?? accepted.get('*') ?? 0) > 0;
  return ['br', 'gzip'].filter(ok);
}

/** Serves `root` on host:port (port 0 = a free one); `await server.close()` stops it. */
export async function serveStatic(root, { port = 0, host = '127.0.0.1', compress = true } = {}) {
  const base = resolve(root);
  const sockets = new Set();
  const memo = new Map();
  const server = createServer((req, res) => {
    let pathname;
    try {
      pathname = decodeURIComponent(new URL(req.url, 'http://localhost').pathname);
    } catch {
      res.writeHead(400).end('bad request');
      return;
    }
    let file = normalize(join(base, pathname));
    if (file !== base && !file.startsWith(base + sep)) {
      res.writeHead(403).end('forbidden');
      return;
    }
    if (existsSync(file) && statSync(file).isDirectory()) file = join(file, 'index.html');
    if (!existsSync(file)) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    const headers = {
      'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
      'cache-control': 'no-cache',
    };
    const encodings = compress && COMPRESSIBLE.has(extname(file)) ? acceptedEncodings(req.headers['accept-encoding']) : [];
    if (compress && COMPRESSIBLE.has(extname(file))) headers.vary = 'Accept-Encoding';
    for (const encoding of encodings) {
      const suffix = encoding === 'br' ? '.br' : '.gz';
      const stored = `${file}${suffix}`;
      headers['content-encoding'] = encoding;
      if (existsSync(stored) && statSync(stored).mtimeMs >= statSync(file).mtimeMs) {
        res.writeHead(200, { ...headers, 'content-length': statSync(stored).size });
        if (req.method === 'HEAD') res.end();
        else createReadStream(stored).pipe(res);
        return;
      }
      // No precompressed copy: compress once, keep it (gzip only: Brotli at its best is slow).
      if (encoding === 'gzip') {
        const key = `${file}|${statSync(file).mtimeMs}`;
        if (!memo.has(key)) memo.set(key, gzipSync(readFileSync(file), { level: 6 }));
        const body = memo.get(key);
        res.writeHead(200, { ...headers, 'content-length': body.length });
        res.end(req.method === 'HEAD' ? undefined : body);
        return;
      }
      delete headers['content-encoding'];
    }
    res.writeHead(200, { ...headers, 'content-length': statSync(file).size });
    if (req.method === 'HEAD') res.end();
    else createReadStream(file).pipe(res);
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise((ok, fail) => {
    server.once('error', fail);
    server.listen(port, host, ok);
  });
  const shownHost = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${shownHost}:${server.address().port}`,
    close: () =>
      new Promise((ok) => {
        server.close(ok);
        for (const s of sockets) s.destroy();
      }),
  };
}

