// Links that travel: a small bundle rides in the link itself (`#b=z:<data>`), compressed with the
// browser's own CompressionStream (raw DEFLATE) and written in base64url, so that the link opens
// the same view in any browser without the file. The fragment never reaches a server.
// Works in browsers (Chrome 103, Firefox 113, Safari 16.4) and in Node ≥ 18 (the unit tests).

/**
 * The longest `z:` data a link carries, in characters. Browsers take links of megabytes, but
 * chat tools, mail and issue trackers cut or refuse long ones around 8,000–32,000 characters;
 * a bundle that compresses to more is kept in this browser instead (`local:`), and the link
 * names the file.
 */
export const EMBED_LIMIT = 16_000;

async function through(bytes, stream) {
  const out = new Blob([bytes]).stream().pipeThrough(stream);
  return new Uint8Array(await new Response(out).arrayBuffer());
}

function base64url(bytes) {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '');
}

function fromBase64url(text) {
  const b64 = text.replaceAll('-', '+').replaceAll('_', '/');
  const binary = atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4));
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

/** Whether this browser can write and read embedded bundles. */
export const canEmbed = () => typeof CompressionStream === 'function' && typeof DecompressionStream === 'function';

/**
 * JSON text without the whitespace between tokens; strings and numbers are kept character for
 * character (so every value reads back exactly as in the original text).
 */
export function compactJson(text) {
  let out = '';
  let inString = false;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') {
      inString = true;
    } else if (c === ' ' || c === '\n' || c === '\r' || c === '\t') {
      out += text.slice(start, i);
      start = i + 1;
    }
  }
  return out + text.slice(start);
}

/**
 * The JSON text as link data (base64url of the raw DEFLATE of its compact form), or null when it
 * would be longer than `limit` characters (or the browser cannot compress). Only whitespace
 * between tokens is left out, so the bundle read back plans exactly as the original.
 */
export async function packText(text, limit = EMBED_LIMIT) {
  if (!canEmbed()) return null;
  const bytes = new TextEncoder().encode(compactJson(text));
  const data = base64url(await through(bytes, new CompressionStream('deflate-raw')));
  return data.length <= limit ? data : null;
}

/** The JSON text a link's data carries; throws a readable error for damaged data. */
export async function unpackText(data) {
  if (!canEmbed()) throw new Error('this browser cannot read a bundle carried by a link (no DecompressionStream)');
  let bytes;
  try {
    bytes = fromBase64url(data);
  } catch {
    throw new Error('the bundle in this link is damaged (not base64url): was the link cut short?');
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(await through(bytes, new DecompressionStream('deflate-raw')));
  } catch {
    throw new Error('the bundle in this link is damaged (it does not decompress): was the link cut short?');
  }
}
