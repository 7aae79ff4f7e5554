//! Shapes shared by every surface (the CLI's `--format json`, the wasm package): the validation
//! report, and reading a configuration in any of the forms the tools print.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::bundle::{Application, BundleError, Configuration, ResolvedChoice, parse_json};

/// What `validate` reports about a valid bundle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ValidationReport {
    /// Always true (an invalid bundle is an error).
    pub valid: bool,
    /// Number of functions.
    pub functions: usize,
    /// Number of configurations in the grid.
    pub configurations: f64,
    /// The reduced workflow structure, one line.
    pub structure: String,
    /// NI(f) per function id.
    pub invocations: BTreeMap<String, f64>,
    /// Smallest and largest accuracy score over the grid.
    pub accuracy_range: [f64; 2],
}

impl Application {
    /// The validation report of this application.
    pub fn report(&self) -> ValidationReport {
        ValidationReport {
            valid: true,
            functions: self.functions.len(),
            configurations: self
                .functions
                .iter()
                .map(|f| (f.memory_mb.len() * f.variants.len()) as f64)
                .product(),
            structure: self.workflow.display_structure().to_string(),
            invocations: self
                .functions
                .iter()
                .zip(self.workflow.invocations())
                .map(|(f, &ni)| (f.id.clone(), ni))
                .collect(),
            accuracy_range: [self.score_range.0, self.score_range.1],
        }
    }

    /// Reads and resolves a configuration from JSON text: a bare map
    /// `{"<id>": {"memory_mb", "variant"}}`, an object with a `config` map (what `optimize`
    /// prints), or an evaluation (what `evaluate` prints: its per-function `memory_mb` and `variant`
    /// are used). Functions left out keep their deployed choice. Errors point into the text.
    pub fn read_configuration(&self, text: &str) -> Result<Vec<ResolvedChoice>, BundleError> {
        let value: serde_json::Value = parse_json(text)?;
        self.configuration_from_value(value)
    }

    /// [`Application::read_configuration`] on an already parsed JSON value.
    pub fn configuration_from_value(
        &self,
        value: serde_json::Value,
    ) -> Result<Vec<ResolvedChoice>, BundleError> {
        let (root, map) = if let Some(c) = value.get("config") {
            ("$.config", c.clone())
        } else if let (Some(f), Some(_)) = (value.get("functions"), value.get("latency_ms")) {
            let mut only_choices = serde_json::Map::new();
            for (id, entry) in f.as_object().into_iter().flatten() {
                let keep: serde_json::Map<String, serde_json::Value> = entry
                    .as_object()
                    .into_iter()
                    .flatten()
                    .filter(|(k, _)| *k == "memory_mb" || *k == "variant")
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                only_choices.insert(id.clone(), keep.into());
            }
            ("$.functions", only_choices.into())
        } else {
            ("$", value)
        };
        let config: Configuration = serde_path_to_error::deserialize(map).map_err(|e| {
            let inner = e.path().to_string();
            let at = if inner == "." {
                String::new()
            } else {
                format!(".{inner}")
            };
            BundleError::Invalid {
                path: format!("{root}{at}"),
                message: e.into_inner().to_string(),
            }
        })?;
        self.resolve(&config, root)
    }
}
