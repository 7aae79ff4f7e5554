//! # optiserve-core
//!
//! The pure half of OptiServe: function models and fitting ([`model`]), pricing ([`pricing`]), the
//! workflow graph and its one-pass evaluation plan ([`workflow`]), the end-to-end accuracy score
//! ([`accuracy`]), the profile bundle ([`bundle`]), evaluation of a configuration ([`evaluate`]) and
//! the import of the thesis artifact's workflow spec ([`import`]).
//!
//! Nothing here does I/O, reads the clock or the environment: the crate builds and behaves the same
//! on the host and in `wasm32-unknown-unknown`. Callers (the `optiserve` CLI, the wasm package) read
//! files and call these functions, so their numbers cannot drift apart.

pub mod accuracy;
pub mod asl;
pub mod bundle;
pub mod evaluate;
#[doc(hidden)]
pub mod fuzzing;
pub mod import;
pub mod limits;
pub mod model;
pub mod optimize;
pub mod payload_site;
pub mod payloads;
pub mod pricing;
pub mod regions;
pub mod report;
pub mod sampling;
pub mod sfn_history;
pub mod simulate;
pub mod workflow;
