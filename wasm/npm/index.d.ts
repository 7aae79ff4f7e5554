// The API is the same from every entry point (Node, browsers and bundlers): `Planner`, `paretoFilter`,
// `fitModel`, `importOptiserveSpec` and the types of their arguments and results, which are
// generated from the Rust types.
export * from './bundler/optiserve.js';
