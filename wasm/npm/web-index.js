// The browser (and bundler) entry of `optiserve`: instantiates the WebAssembly module once, next
// to this file, then exports the API. Bundlers such as Vite and webpack 5 copy
// `optiserve_bg.wasm` into the build because of the `new URL(…, import.meta.url)` below.
import init from './optiserve.js';

await init({ module_or_path: new URL('./optiserve_bg.wasm', import.meta.url) });

export { Planner, fitModel, importOptiserveSpec, paretoFilter } from './optiserve.js';
