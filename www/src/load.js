// Where bundles come from: the built-in examples (fetched, or embedded in the single-file build),
// a same-origin URL, an upload kept in this browser (localStorage, under a hash of its text), or
// the link itself (`z:`, share.js). And what a text is: a bundle, or the thesis artifact's
// workflow spec (imported through the package).

import { unpackText } from './share.js';

const STORAGE_PREFIX = 'optiserve-www:bundle:';

/** The kind of a source (`example`, `url`, `local`, `z`) and the rest. */
export function splitSource(source) {
  const at = source.indexOf(':');
  return [source.slice(0, at), source.slice(at + 1)];
}

/** Two 32-bit FNV-1a hashes of the text (different seeds), as 16 hex digits: names an upload in links. */
export function textHash(text) {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ 0x5bd1e995;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x01000193) ^ (b >>> 15);
  }
  return (a >>> 0).toString(16).padStart(8, '0') + (b >>> 0).toString(16).padStart(8, '0');
}

/**
 * Reads JSON text as a bundle, or as the artifact's workflow spec; throws the package's error
 * (`api` is the `optiserve` module: Planner, importOptiserveSpec).
 */
export function readInput(api, text) {
  let value;
  try {
    value = JSON.parse(text);
  } catch {
    // Not JSON: let the package say where (`invalid JSON at line L, column C`).
    new api.Planner(text);
    throw new Error('invalid JSON');
  }
  const isSpec =
    value && typeof value === 'object' && !('schema' in value) && Array.isArray(value.edges) && Array.isArray(value.functions);
  if (isSpec) {
    let bundle;
    try {
      bundle = api.importOptiserveSpec(text);
    } catch (e) {
      throw new Error(`(read as an optiserve workflow spec) ${e.message}`);
    }
    return { bundle, planner: new api.Planner(bundle), kind: 'workflow spec', text };
  }
  return { bundle: value, planner: new api.Planner(text), kind: 'bundle', text };
}

/** Keeps an upload in this browser (false when it does not fit). */
export function keep(storage, hash, name, text) {
  try {
    storage.setItem(STORAGE_PREFIX + hash, JSON.stringify({ name, text }));
    return true;
  } catch {
    return false;
  }
}

/** An upload kept in this browser: `{name, text}`, or null. */
export function recall(storage, hash) {
  try {
    const saved = storage.getItem(STORAGE_PREFIX + hash);
    return saved ? JSON.parse(saved) : null;
  } catch {
    return null;
  }
}

/** A source that cannot be loaded here; `missing` when it is an upload this browser does not have. */
export class SourceError extends Error {
  constructor(message, { missing = false } = {}) {
    super(message);
    this.missing = missing;
  }
}

/**
 * The text of a source: `{text, name}`; throws a SourceError. `examples` holds the embedded
 * examples of the single-file build (null on the site, which fetches them).
 */
export async function fetchSource(source, { examples, storage, base, name = null }) {
  const [kind, rest] = splitSource(source);
  if (kind === 'z') {
    try {
      return { text: await unpackText(rest), name: name ?? 'bundle from the link' };
    } catch (e) {
      throw new SourceError(e.message);
    }
  }
  if (kind === 'local') {
    const saved = recall(storage, rest);
    if (!saved) {
      const file = name ? `“${name}”` : 'the bundle file';
      throw new SourceError(
        `This link shows a view of ${file}, which was uploaded in another browser and is not kept in this one. Upload ${file} to see the view.`,
        { missing: true },
      );
    }
    return saved;
  }
  const path = kind === 'example' ? `examples/${rest}${rest.endsWith('.json') ? '' : '.bundle.json'}` : rest;
  const file = path.split('/').pop();
  if (kind === 'example' && examples) {
    // The single-file build (opened from file://, where nothing can be fetched) carries them.
    if (!Object.hasOwn(examples, file)) throw new SourceError(`${path}: no such example`);
    return { text: examples[file], name: file };
  }
  let url;
  try {
    url = new URL(path, base);
  } catch {
    throw new SourceError(`${path}: not a URL`);
  }
  if (url.origin !== new URL(base).origin) {
    throw new SourceError(`${path}: only bundles from this site can be loaded by URL (nothing leaves the browser)`);
  }
  let response;
  try {
    response = await fetch(url);
  } catch (e) {
    throw new SourceError(`${path}: could not be fetched (${e.message})`);
  }
  if (!response.ok) throw new SourceError(`${path}: could not be fetched (HTTP ${response.status})`);
  return { text: await response.text(), name: file };
}
