//! End-to-end accuracy score (EAS) of an application (thesis OptiServe §4.1, Appendix A).
//!
//! Every ML function `f` has model variants with a raw accuracy (top-1 76.1, mAP 0.39, ...).
//! [`normalize`] maps them to `A(f)` in `[0, 1]` per function. The application's score is
//! `EAS = Φ({A(f)})`, given as an [`EasDefinition`]: a template (weighted sum, minimum, weighted
//! geometric mean) or a free formula. [`EasDefinition::compile`] resolves function ids once and
//! yields an [`EasScore`], a small postfix program that evaluates without string lookups (and,
//! for any formula needing at most 32 stack slots, without allocation).
//!
//! Contract: Φ must be monotone non-decreasing in each `A(f)` and finite on `[0, 1]^n`;
//! [`EasScore::check_contract`] verifies it on the actual discrete accuracy options.
//!
//! Formula grammar (EBNF; whitespace may appear between any two tokens):
//!
//! ```text
//! formula  = sum ;
//! sum      = product , { ( "+" | "-" ) , product } ;              (* left-associative *)
//! product  = unary , { ( "*" | "/" ) , unary } ;                  (* left-associative *)
//! unary    = "-" , unary | power ;
//! power    = primary , [ "^" , unary ] ;     (* right-associative, tighter than unary minus *)
//! primary  = number | "(" , sum , ")" | call ;
//! call     = ( "min" | "max" ) , "(" , sum , { "," , sum } , ")"
//!          | "A" , "(" , id , ")" ;
//! number   = ( digits , [ "." , [ digits ] ] | "." , digits ) , [ exponent ] ;
//! exponent = ( "e" | "E" ) , [ "+" | "-" ] , digits ;
//! id       = ( letter | "_" ) , { letter | digit | "_" | "." | "-" } ;
//! ```
//!
//! So `-2^2 = -4`, `2^3^2 = 512`, `8/4/2 = 1` and `1-2-3 = -4`. Nesting deeper than
//! [`MAX_NESTING`] levels is rejected, so neither parsing nor evaluation can exhaust the stack.

mod contract;
mod form;
mod normalize;
mod parser;
mod program;
#[cfg(test)]
mod tests;

pub use form::*;
pub use normalize::*;
use parser::Parser;
use program::*;

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Deepest nesting (parentheses, call arguments, unary minus, `^` chains) a formula may have.
pub const MAX_NESTING: usize = 64;
/// Combinations of the other functions' options that [`EasScore::check_contract`] visits at most
/// exhaustively, and the size of its pseudo-random sample beyond that.
pub const CONTRACT_SAMPLE: usize = 20_000;
/// Relative slack allowed for floating-point rounding when checking monotonicity.
const MONOTONE_TOLERANCE: f64 = 1e-12;
/// Evaluation stack depth served from a fixed array; deeper programs use a heap buffer.
const INLINE_STACK: usize = 32;

/// Everything that can go wrong when normalising, compiling or checking an accuracy score.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AccuracyError {
    /// The formula is malformed at `column` (1-based, counted in characters).
    #[error("column {column}: {message}")]
    Parse { column: usize, message: String },
    /// A function id is not one of the application's functions.
    #[error("{}", unknown_function_message(.id, *.column))]
    UnknownFunction { id: String, column: Option<usize> },
    /// A template weight is negative, NaN or infinite.
    #[error(
        "the weight of function '{function}' is {value}, but weights must be finite and non-negative"
    )]
    InvalidWeight { function: String, value: f64 },
    /// Raising `A(function)` from `from` to `to` lowered the score (others held at `at`).
    #[error(
        "the score is not monotone in A({function}): raising it from {from} to {to} lowers the score from {score_from} to {score_to} (other functions: {})",
        format_point(.at, "none")
    )]
    NotMonotone {
        function: String,
        from: f64,
        to: f64,
        score_from: f64,
        score_to: f64,
        at: Vec<(String, f64)>,
    },
    /// The score is infinite or NaN at the point `at`.
    #[error("the score is not finite at {}", format_point(.at, "every point (it references no function)"))]
    Unbounded { at: Vec<(String, f64)> },
    /// `AsGiven` normalisation met a raw accuracy outside `[0, 1]`.
    #[error(
        "variant {variant_index} has accuracy {value}, which is outside [0, 1] as as_given normalisation requires"
    )]
    AccuracyOutOfRange { variant_index: usize, value: f64 },
    /// `AsGiven` normalisation met a variant without a raw accuracy.
    #[error("variant {variant_index} has no raw accuracy, which as_given normalisation requires")]
    MissingAccuracy { variant_index: usize },
    /// A raw accuracy is NaN or infinite.
    #[error("variant {variant_index} has raw accuracy {value}, which is not a finite number")]
    NonFiniteAccuracy { variant_index: usize, value: f64 },
    /// A template names no function at all.
    #[error("the {kind} accuracy score names no function; it needs at least one")]
    Empty { kind: &'static str },
    /// `check_contract` got options for a different number of functions than compiled for.
    #[error(
        "got accuracy options for {found} functions, but the score was compiled for {expected}"
    )]
    OptionsMismatch { expected: usize, found: usize },
    /// `check_contract` got no accuracy option for a function the score depends on.
    #[error("function '{function}' has no accuracy options, but the score depends on it")]
    NoOptions { function: String },
}

fn unknown_function_message(id: &str, column: Option<usize>) -> String {
    match column {
        Some(c) => format!("column {c}: unknown function id '{id}' in A(...)"),
        None => format!("unknown function id '{id}': it is not one of the application's functions"),
    }
}

fn format_point(at: &[(String, f64)], if_empty: &str) -> String {
    if at.is_empty() {
        return if_empty.to_owned();
    }
    let parts: Vec<String> = at.iter().map(|(f, v)| format!("A({f}) = {v}")).collect();
    parts.join(", ")
}

// ---- Definition and compiled score ----

/// A user's definition of the end-to-end accuracy score (JSON: internally tagged by `kind`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum EasDefinition {
    /// `Σ w_f · A(f)`; weights finite, non-negative, need not sum to 1.
    WeightedSum { weights: BTreeMap<String, f64> },
    /// `min_f A(f)`.
    Min { functions: Vec<String> },
    /// `Π A(f)^{w_f}`; weights finite, non-negative, need not sum to 1.
    GeometricMean { weights: BTreeMap<String, f64> },
    /// A free formula; see the module documentation for the grammar.
    Formula { expression: String },
}

/// One instruction of the postfix evaluation program.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
    Const(f64),
    /// Push `a[i]`.
    Var(usize),
    Neg,
    Add,
    Sub,
    Mul,
    Div,
    Pow,
    /// Replace the top `n >= 1` values by their minimum (NaN-propagating).
    Min(usize),
    /// Replace the top `n >= 1` values by their maximum (NaN-propagating).
    Max(usize),
}

/// Postfix program under construction; tracks the stack depth it needs.
#[derive(Debug, Default)]
struct Program {
    ops: Vec<Op>,
    depth: usize,
    max_stack: usize,
}

impl Program {
    fn emit(&mut self, op: Op) {
        self.depth = match op {
            Op::Const(_) | Op::Var(_) => self.depth + 1,
            Op::Neg => self.depth,
            Op::Min(n) | Op::Max(n) => self.depth.saturating_sub(n.saturating_sub(1)),
            _ => self.depth.saturating_sub(1), // binary operators
        };
        self.max_stack = self.max_stack.max(self.depth);
        self.ops.push(op);
    }
}

/// A compiled accuracy score: cheap to evaluate, no allocation for ordinary formulas.
#[derive(Debug, Clone, PartialEq)]
pub struct EasScore {
    ops: Vec<Op>,
    max_stack: usize,
    names: Vec<String>,
    referenced: Vec<usize>,
}

/// Observed minimum and maximum of the score over the points [`EasScore::check_contract`] visited.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ContractReport {
    pub min: f64,
    pub max: f64,
}

fn resolve(function_ids: &[&str], id: &str) -> Option<usize> {
    function_ids.iter().position(|f| *f == id)
}

/// Index of a template's function id, or [`AccuracyError::UnknownFunction`] without a column.
fn lookup(function_ids: &[&str], id: &str) -> Result<usize, AccuracyError> {
    resolve(function_ids, id).ok_or_else(|| AccuracyError::UnknownFunction {
        id: id.to_owned(),
        column: None,
    })
}

/// Compiles a weighted template: `term(i, w)` per function, joined by `combine`.
fn weighted(
    weights: &BTreeMap<String, f64>,
    function_ids: &[&str],
    kind: &'static str,
    term: fn(usize, f64) -> [Op; 3],
    combine: Op,
) -> Result<Program, AccuracyError> {
    if weights.is_empty() {
        return Err(AccuracyError::Empty { kind });
    }
    let mut p = Program::default();
    for (k, (function, &value)) in weights.iter().enumerate() {
        if !value.is_finite() || value < 0.0 {
            let function = function.clone();
            return Err(AccuracyError::InvalidWeight { function, value });
        }
        for op in term(lookup(function_ids, function)?, value) {
            p.emit(op);
        }
        if k > 0 {
            p.emit(combine);
        }
    }
    Ok(p)
}

impl EasDefinition {
    /// Compiles the definition against the application's function ids (`a[i]` of
    /// [`EasScore::evaluate`] is the accuracy of `function_ids[i]`).
    ///
    /// Errors: [`AccuracyError::Parse`], [`AccuracyError::UnknownFunction`] (with the column for
    /// formulas), [`AccuracyError::InvalidWeight`], [`AccuracyError::Empty`].
    pub fn compile(&self, function_ids: &[&str]) -> Result<EasScore, AccuracyError> {
        let ids = function_ids;
        let program = match self {
            EasDefinition::WeightedSum { weights } => {
                let term = |i, w| [Op::Const(w), Op::Var(i), Op::Mul];
                weighted(weights, ids, "weighted_sum", term, Op::Add)?
            }
            EasDefinition::GeometricMean { weights } => {
                let term = |i, w| [Op::Var(i), Op::Const(w), Op::Pow];
                weighted(weights, ids, "geometric_mean", term, Op::Mul)?
            }
            EasDefinition::Min { functions } => {
                if functions.is_empty() {
                    return Err(AccuracyError::Empty { kind: "min" });
                }
                let mut p = Program::default();
                for f in functions {
                    p.emit(Op::Var(lookup(ids, f)?));
                }
                p.emit(Op::Min(functions.len()));
                p
            }
            EasDefinition::Formula { expression } => Parser::parse(expression, ids)?,
        };
        let vars = program.ops.iter().filter_map(|op| match op {
            Op::Var(i) => Some(*i),
            _ => None,
        });
        let mut referenced: Vec<usize> = vars.collect();
        referenced.sort_unstable();
        referenced.dedup();
        Ok(EasScore {
            ops: program.ops,
            max_stack: program.max_stack,
            names: ids.iter().map(|s| (*s).to_owned()).collect(),
            referenced,
        })
    }
}
