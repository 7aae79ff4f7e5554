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

// ---- Normalisation ----

/// How a function's variants are normalised to `[0, 1]`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Normalization {
    /// `(a - min) / (max - min)` over the function's variants; `1.0` for all when they are all
    /// equal or there is one variant. Falls back to [`Normalization::Rank`] when any raw
    /// accuracy is missing.
    #[default]
    MinMax,
    /// Variant `k` of `N` (1-based, in the given order, least to most accurate) gets `k / N`.
    Rank,
    /// Raw values as they are (each within `[0, 1]`), as the thesis artifact does: a function with
    /// one variant scores 1.0, and one where any variant lacks a raw accuracy is ranked as
    /// [`Normalization::Rank`].
    AsGiven,
}

/// Normalises one function's raw accuracies, given per variant in the function's variant order.
///
/// Errors: [`AccuracyError::NonFiniteAccuracy`] for a NaN/infinite value (min–max),
/// [`AccuracyError::MissingAccuracy`] / [`AccuracyError::AccuracyOutOfRange`] for `AsGiven`.
pub fn normalize(raw: &[Option<f64>], how: Normalization) -> Result<Vec<f64>, AccuracyError> {
    let rank = || {
        let n = raw.len() as f64;
        (1..=raw.len()).map(|k| k as f64 / n).collect()
    };
    match how {
        Normalization::Rank => Ok(rank()),
        // The thesis artifact's rule: one variant scores 1.0; a function where any variant lacks
        // an accuracy is ranked i/N; otherwise the values are used as they are.
        Normalization::AsGiven if raw.len() == 1 => Ok(vec![1.0]),
        Normalization::AsGiven if raw.iter().any(Option::is_none) => Ok(rank()),
        Normalization::AsGiven => raw
            .iter()
            .enumerate()
            .map(|(variant_index, v)| match *v {
                None => Err(AccuracyError::MissingAccuracy { variant_index }),
                Some(value) if (0.0..=1.0).contains(&value) => Ok(value),
                Some(value) => Err(AccuracyError::AccuracyOutOfRange {
                    variant_index,
                    value,
                }),
            })
            .collect(),
        Normalization::MinMax => {
            let Some(values) = raw.iter().copied().collect::<Option<Vec<f64>>>() else {
                return Ok(rank());
            };
            let bad = values.iter().enumerate().find(|(_, v)| !v.is_finite());
            if let Some((variant_index, &value)) = bad {
                return Err(AccuracyError::NonFiniteAccuracy {
                    variant_index,
                    value,
                });
            }
            // Halved first so that `max - min` cannot overflow.
            let min = values.iter().fold(f64::INFINITY, |m, v| m.min(v / 2.0));
            let max = values.iter().fold(f64::NEG_INFINITY, |m, v| m.max(v / 2.0));
            let scale = |v: &f64| {
                if max > min {
                    (v / 2.0 - min) / (max - min)
                } else {
                    1.0
                }
            };
            Ok(values.iter().map(scale).collect())
        }
    }
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

// ---- Evaluation ----

fn nan_min(x: f64, y: f64) -> f64 {
    if x.is_nan() || y.is_nan() {
        f64::NAN
    } else {
        x.min(y)
    }
}

fn nan_max(x: f64, y: f64) -> f64 {
    if x.is_nan() || y.is_nan() {
        f64::NAN
    } else {
        x.max(y)
    }
}

fn push(stack: &mut [f64], sp: &mut usize, v: f64) {
    if let Some(slot) = stack.get_mut(*sp) {
        *slot = v;
    }
    *sp += 1;
}

fn binary(stack: &mut [f64], sp: &mut usize, f: fn(f64, f64) -> f64) {
    if let Some([.., x, y]) = stack.get_mut(..*sp) {
        *x = f(*x, *y);
        *sp -= 1;
    }
}

fn fold(stack: &mut [f64], sp: &mut usize, n: usize, f: fn(f64, f64) -> f64) {
    if let Some(start) = sp.checked_sub(n)
        && let Some(args) = stack.get_mut(start..*sp)
        && let Some((first, rest)) = args.split_first_mut()
    {
        *first = rest.iter().fold(*first, |m, &v| f(m, v));
        *sp = start + 1;
    }
}

/// Runs a postfix program. Programs built by this module are well-formed; a malformed one
/// would yield NaN rather than panic.
fn run(ops: &[Op], a: &[f64], stack: &mut [f64]) -> f64 {
    let mut sp = 0;
    for op in ops {
        match *op {
            Op::Const(c) => push(stack, &mut sp, c),
            Op::Var(i) => push(stack, &mut sp, a.get(i).copied().unwrap_or(f64::NAN)),
            Op::Neg => {
                if let Some([.., x]) = stack.get_mut(..sp) {
                    *x = -*x;
                }
            }
            Op::Add => binary(stack, &mut sp, |x, y| x + y),
            Op::Sub => binary(stack, &mut sp, |x, y| x - y),
            Op::Mul => binary(stack, &mut sp, |x, y| x * y),
            Op::Div => binary(stack, &mut sp, |x, y| x / y),
            Op::Pow => binary(stack, &mut sp, f64::powf),
            Op::Min(n) => fold(stack, &mut sp, n, nan_min),
            Op::Max(n) => fold(stack, &mut sp, n, nan_max),
        }
    }
    match stack.get(..sp) {
        Some([v]) => *v,
        _ => f64::NAN,
    }
}

// ---- Compiled score: evaluation, range and contract check ----

impl EasScore {
    /// Evaluates the score; `a[i]` is the normalised accuracy of `function_ids[i]`. Functions the
    /// score does not reference are ignored; a missing entry reads as NaN (so the result is NaN).
    pub fn evaluate(&self, a: &[f64]) -> f64 {
        if self.max_stack <= INLINE_STACK {
            run(&self.ops, a, &mut [0.0; INLINE_STACK])
        } else {
            run(&self.ops, a, &mut vec![0.0; self.max_stack])
        }
    }

    /// Indices into the compiled `function_ids` that the score depends on, ascending.
    pub fn referenced(&self) -> Vec<usize> {
        self.referenced.clone()
    }

    /// The function ids the score was compiled against.
    pub fn function_ids(&self) -> &[String] {
        &self.names
    }

    /// `(score at all A = 0, score at all A = 1)`: the score's range on `[0, 1]^n` provided the
    /// monotonicity contract holds (e.g. `(0, 3)` for `2·A(a) + A(b)`).
    pub fn range(&self) -> (f64, f64) {
        let n = self.names.len();
        (self.evaluate(&vec![0.0; n]), self.evaluate(&vec![1.0; n]))
    }

    fn name(&self, i: usize) -> String {
        self.names.get(i).cloned().unwrap_or_default()
    }

    /// Checks the contract on the actual discrete options: `options[i]` holds the normalised
    /// accuracies available to function `i` (any order, duplicates allowed).
    ///
    /// For every referenced function `f`, `A(f)` is swept over its options for each combination of
    /// the other referenced functions' options: all of them when there are at most
    /// [`CONTRACT_SAMPLE`], otherwise a deterministic pseudo-random sample of that many plus all
    /// min/max corner combinations (when those are at most [`CONTRACT_SAMPLE`]). A drop of the
    /// score (beyond a 1e-12 relative rounding slack) is [`AccuracyError::NotMonotone`]; a
    /// non-finite score at any visited point is [`AccuracyError::Unbounded`]. On success returns
    /// the observed minimum and maximum score.
    pub fn check_contract(&self, options: &[Vec<f64>]) -> Result<ContractReport, AccuracyError> {
        let (expected, found) = (self.names.len(), options.len());
        if expected != found {
            return Err(AccuracyError::OptionsMismatch { expected, found });
        }
        let mut levels = Vec::with_capacity(self.referenced.len());
        for &f in &self.referenced {
            let mut o = options.get(f).cloned().unwrap_or_default();
            o.sort_by(f64::total_cmp);
            o.dedup();
            if o.is_empty() {
                return Err(AccuracyError::NoOptions {
                    function: self.name(f),
                });
            }
            levels.push((f, o));
        }
        if let Some(report) = self.structural_contract(&levels, expected)? {
            return Ok(report);
        }
        let mut c = Checker {
            score: self,
            point: vec![0.0; expected],
            levels,
            report: ContractReport {
                min: f64::INFINITY,
                max: f64::NEG_INFINITY,
            },
            rng: 0x9E37_79B9_7F4A_7C15,
        };
        if c.levels.is_empty() {
            c.sweep(0)?; // a constant score: one evaluation
        }
        for j in 0..c.levels.len() {
            let count = |corners| {
                let others = c.levels.iter().enumerate().filter(|(i, _)| *i != j);
                others.fold(1usize, |acc, (_, (_, o))| {
                    acc.saturating_mul(radix(o, corners))
                })
            };
            let (all, corners) = (count(false), count(true));
            if all <= CONTRACT_SAMPLE {
                c.grid(j, all, false)?;
                continue;
            }
            for _ in 0..CONTRACT_SAMPLE {
                c.place(j, None, false);
                c.sweep(j)?;
            }
            if corners <= CONTRACT_SAMPLE {
                c.grid(j, corners, true)?;
            }
        }
        Ok(c.report)
    }
}

impl EasScore {
    /// The contract from the score's shape, in time linear in the functions: a weighted sum
    /// with non-negative weights and a minimum are non-decreasing in every accuracy, and so is
    /// a positive product of non-negative powers when every option is non-negative. The score's
    /// extremes are then its values with every function at its lowest, resp. highest, option
    /// (checked finite). `None` for any other shape (the sampled check applies).
    fn structural_contract(
        &self,
        levels: &[(usize, Vec<f64>)],
        functions: usize,
    ) -> Result<Option<ContractReport>, AccuracyError> {
        let monotone = match self.form() {
            ScoreForm::Sum { .. } | ScoreForm::Min { .. } => true,
            ScoreForm::Product { coefficient, .. } => {
                coefficient > 0.0 && levels.iter().all(|(_, o)| o.iter().all(|&a| a >= 0.0))
            }
            ScoreForm::General => false,
        };
        if !monotone {
            return Ok(None);
        }
        let corner = |highest: bool| {
            let mut point = vec![0.0; functions];
            for (f, o) in levels {
                let pick = if highest { o.last() } else { o.first() };
                if let (Some(p), Some(&a)) = (point.get_mut(*f), pick) {
                    *p = a;
                }
            }
            point
        };
        let (low, high) = (corner(false), corner(true));
        let (min, max) = (self.evaluate(&low), self.evaluate(&high));
        for (value, point) in [(min, &low), (max, &high)] {
            if !value.is_finite() {
                let at = levels
                    .iter()
                    .map(|(f, _)| (self.name(*f), point.get(*f).copied().unwrap_or(f64::NAN)))
                    .collect();
                return Err(AccuracyError::Unbounded { at });
            }
        }
        Ok(Some(ContractReport { min, max }))
    }
}

/// How many choices a function offers in a combination: all its options, or min/max only.
fn radix(options: &[f64], corners: bool) -> usize {
    if corners {
        options.len().min(2)
    } else {
        options.len()
    }
}

/// State of one [`EasScore::check_contract`] run.
#[derive(Debug)]
struct Checker<'s> {
    score: &'s EasScore,
    /// Per referenced function: its index and its sorted, deduplicated options.
    levels: Vec<(usize, Vec<f64>)>,
    point: Vec<f64>,
    report: ContractReport,
    rng: u64,
}

impl Checker<'_> {
    /// xorshift64: deterministic, good enough to spread samples.
    fn below(&mut self, n: usize) -> usize {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        (self.rng % (n.max(1) as u64)) as usize
    }

    /// Sets every referenced function but `j`: to mixed-radix combination `combo` (of min/max
    /// only when `corners`), or to random options when `combo` is `None`.
    fn place(&mut self, j: usize, combo: Option<usize>, corners: bool) {
        let mut rest = combo.unwrap_or(0);
        for i in (0..self.levels.len()).filter(|i| *i != j) {
            let len = self
                .levels
                .get(i)
                .map_or(1, |(_, o)| radix(o, corners).max(1));
            let digit = if combo.is_some() {
                rest % len
            } else {
                self.below(len)
            };
            rest /= len;
            if let Some((f, o)) = self.levels.get(i)
                && let Some(p) = self.point.get_mut(*f)
            {
                let idx = if corners && digit == 1 {
                    o.len() - 1
                } else {
                    digit
                };
                *p = o.get(idx).copied().unwrap_or(f64::NAN);
            }
        }
    }

    /// Sweeps function `j` at each of the first `count` combinations of the others.
    fn grid(&mut self, j: usize, count: usize, corners: bool) -> Result<(), AccuracyError> {
        for k in 0..count {
            self.place(j, Some(k), corners);
            self.sweep(j)?;
        }
        Ok(())
    }

    /// The referenced functions' current values, except `skip`.
    fn at(&self, skip: Option<usize>) -> Vec<(String, f64)> {
        let others = self.levels.iter().filter(|(g, _)| Some(*g) != skip);
        let value = |g: usize| self.point.get(g).copied().unwrap_or(f64::NAN);
        others
            .map(|(g, _)| (self.score.name(*g), value(*g)))
            .collect()
    }

    /// Raises function `j` through its options with the others fixed (or, when there is no
    /// function `j`, evaluates the current point once), checking finiteness and monotonicity.
    fn sweep(&mut self, j: usize) -> Result<(), AccuracyError> {
        let (f, options): (_, &[f64]) = match self.levels.get(j) {
            Some((f, o)) => (Some(*f), o),
            None => (None, &[0.0]),
        };
        let mut prev: Option<(f64, f64)> = None;
        for &v in options {
            if let Some(p) = f.and_then(|f| self.point.get_mut(f)) {
                *p = v;
            }
            let s = self.score.evaluate(&self.point);
            if !s.is_finite() {
                return Err(AccuracyError::Unbounded { at: self.at(None) });
            }
            self.report.min = self.report.min.min(s);
            self.report.max = self.report.max.max(s);
            if let Some((from, score_from)) = prev
                && s < score_from - MONOTONE_TOLERANCE * score_from.abs().max(1.0)
            {
                return Err(AccuracyError::NotMonotone {
                    function: f.map(|f| self.score.name(f)).unwrap_or_default(),
                    from,
                    to: v,
                    score_from,
                    score_to: s,
                    at: self.at(f),
                });
            }
            prev = Some((v, s));
        }
        Ok(())
    }
}

// ---- Structure of a score (what the optimizers can exploit) ----

/// The shape of a compiled score, found by evaluating its program symbolically. The optimizers
/// use it to compare parts of configurations (a parallel block's accuracy summary) and to price
/// accuracy in their relaxations; [`ScoreForm::General`] still works everywhere, more slowly.
#[derive(Debug, Clone, PartialEq)]
pub enum ScoreForm {
    /// `constant + Σ weight · A(f)` with every weight ≥ 0 (weighted sums, linear formulas).
    Sum {
        /// The constant term.
        constant: f64,
        /// `(function index, weight)`, each function once.
        weights: Vec<(usize, f64)>,
    },
    /// `coefficient · Π A(f)^exponent` with a coefficient > 0 and every exponent ≥ 0 (weighted
    /// geometric means).
    Product {
        /// The coefficient.
        coefficient: f64,
        /// `(function index, exponent)`, each function once.
        exponents: Vec<(usize, f64)>,
    },
    /// `min_f A(f)` over these functions.
    Min {
        /// The function indices.
        functions: Vec<usize>,
    },
    /// Anything else (only monotone, by the contract).
    General,
}

/// A symbolic value of a score program.
#[derive(Debug, Clone, PartialEq)]
enum Sym {
    Const(f64),
    /// `c + Σ w·A(i)`.
    Affine(f64, Vec<(usize, f64)>),
    /// `c · Π A(i)^e`.
    Monomial(f64, Vec<(usize, f64)>),
    /// `min A(i)`.
    MinOf(Vec<usize>),
    Other,
}

fn merge(mut a: Vec<(usize, f64)>, b: &[(usize, f64)], scale: f64) -> Vec<(usize, f64)> {
    for &(i, w) in b {
        match a.iter_mut().find(|(j, _)| *j == i) {
            Some((_, v)) => *v += scale * w,
            None => a.push((i, scale * w)),
        }
    }
    a
}

impl Sym {
    fn affine(self) -> Option<(f64, Vec<(usize, f64)>)> {
        match self {
            Sym::Const(c) => Some((c, Vec::new())),
            Sym::Affine(c, w) => Some((c, w)),
            Sym::Monomial(c, e) if e.len() == 1 && e[0].1 == 1.0 => Some((0.0, vec![(e[0].0, c)])),
            Sym::MinOf(v) if v.len() == 1 => Some((0.0, vec![(v[0], 1.0)])),
            _ => None,
        }
    }

    fn monomial(self) -> Option<(f64, Vec<(usize, f64)>)> {
        match self {
            Sym::Const(c) => Some((c, Vec::new())),
            Sym::Monomial(c, e) => Some((c, e)),
            Sym::Affine(c, w) if c == 0.0 && w.len() == 1 => Some((w[0].1, vec![(w[0].0, 1.0)])),
            Sym::MinOf(v) if v.len() == 1 => Some((1.0, vec![(v[0], 1.0)])),
            _ => None,
        }
    }
}

impl EasScore {
    /// The score's shape (see [`ScoreForm`]).
    pub fn form(&self) -> ScoreForm {
        let mut stack: Vec<Sym> = Vec::new();
        for op in &self.ops {
            let sym = match *op {
                Op::Const(c) => Sym::Const(c),
                Op::Var(i) => Sym::Affine(0.0, vec![(i, 1.0)]),
                Op::Neg => match stack.pop() {
                    Some(Sym::Const(c)) => Sym::Const(-c),
                    _ => Sym::Other,
                },
                Op::Add | Op::Sub | Op::Mul | Op::Div | Op::Pow => {
                    let (Some(y), Some(x)) = (stack.pop(), stack.pop()) else {
                        return ScoreForm::General;
                    };
                    binary_sym(*op, x, y)
                }
                Op::Min(n) => {
                    let at = stack.len().saturating_sub(n);
                    let args = stack.split_off(at);
                    let mut vars = Vec::new();
                    let mut ok = true;
                    for a in args {
                        match a {
                            Sym::Affine(c, w) if c == 0.0 && w.len() == 1 && w[0].1 == 1.0 => {
                                vars.push(w[0].0);
                            }
                            Sym::MinOf(v) => vars.extend(v),
                            _ => ok = false,
                        }
                    }
                    if ok { Sym::MinOf(vars) } else { Sym::Other }
                }
                Op::Max(n) => {
                    let at = stack.len().saturating_sub(n);
                    stack.truncate(at);
                    Sym::Other
                }
            };
            stack.push(sym);
        }
        let Some(top) = stack.pop() else {
            return ScoreForm::General;
        };
        if let Sym::MinOf(mut functions) = top.clone() {
            functions.sort_unstable();
            functions.dedup();
            return ScoreForm::Min { functions };
        }
        if let Some((constant, weights)) = top.clone().affine()
            && weights.iter().all(|(_, w)| *w >= 0.0)
        {
            return ScoreForm::Sum { constant, weights };
        }
        if let Some((coefficient, exponents)) = top.monomial()
            && coefficient > 0.0
            && exponents.iter().all(|(_, e)| *e >= 0.0)
        {
            return ScoreForm::Product {
                coefficient,
                exponents,
            };
        }
        ScoreForm::General
    }
}

fn binary_sym(op: Op, x: Sym, y: Sym) -> Sym {
    match (op, x, y) {
        (Op::Add, Sym::Const(a), Sym::Const(b)) => Sym::Const(a + b),
        (Op::Sub, Sym::Const(a), Sym::Const(b)) => Sym::Const(a - b),
        (Op::Mul, Sym::Const(a), Sym::Const(b)) => Sym::Const(a * b),
        (Op::Div, Sym::Const(a), Sym::Const(b)) => Sym::Const(a / b),
        (Op::Pow, Sym::Const(a), Sym::Const(b)) => Sym::Const(a.powf(b)),
        (Op::Add | Op::Sub, x, y) => {
            let sign = if op == Op::Sub { -1.0 } else { 1.0 };
            match (x.affine(), y.affine()) {
                (Some((a, wa)), Some((b, wb))) => Sym::Affine(a + sign * b, merge(wa, &wb, sign)),
                _ => Sym::Other,
            }
        }
        (Op::Mul, Sym::Const(k), v) | (Op::Mul, v, Sym::Const(k)) => match v {
            Sym::Affine(c, w) => {
                Sym::Affine(k * c, w.into_iter().map(|(i, x)| (i, k * x)).collect())
            }
            Sym::Monomial(c, e) => Sym::Monomial(k * c, e),
            Sym::MinOf(v) if k > 0.0 && v.len() == 1 => Sym::Affine(0.0, vec![(v[0], k)]),
            _ => Sym::Other,
        },
        (Op::Div, v, Sym::Const(k)) if k != 0.0 => binary_sym(Op::Mul, v, Sym::Const(1.0 / k)),
        (Op::Mul, x, y) => match (x.monomial(), y.monomial()) {
            (Some((a, ea)), Some((b, eb))) => Sym::Monomial(a * b, merge(ea, &eb, 1.0)),
            _ => Sym::Other,
        },
        (Op::Pow, v, Sym::Const(k)) => match v.monomial() {
            Some((c, e)) if c > 0.0 => {
                Sym::Monomial(c.powf(k), e.into_iter().map(|(i, x)| (i, x * k)).collect())
            }
            _ => Sym::Other,
        },
        _ => Sym::Other,
    }
}

// ---- Formula parser (Pratt), emitting postfix directly ----

#[derive(Debug)]
struct Parser<'a> {
    chars: Vec<char>,
    pos: usize,
    ids: &'a [&'a str],
    program: Program,
    nesting: usize,
    /// First unknown function id and its column; reported only if the syntax is fine.
    unknown: Option<(String, usize)>,
}

/// Characters that belong to the formula language (anything else is "unexpected").
fn is_language_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c.is_whitespace() || "_.+-*/^(),".contains(c)
}

impl<'a> Parser<'a> {
    fn parse(expression: &str, ids: &'a [&'a str]) -> Result<Program, AccuracyError> {
        let chars = expression.chars().collect();
        let program = Program::default();
        let mut p = Parser {
            chars,
            pos: 0,
            ids,
            program,
            nesting: 0,
            unknown: None,
        };
        p.expr(0)?;
        p.skip_ws();
        if p.peek().is_some() {
            return Err(p.expected("an operator or end of input"));
        }
        match p.unknown {
            Some((id, column)) => Err(AccuracyError::UnknownFunction {
                id,
                column: Some(column),
            }),
            None => Ok(p.program),
        }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn eat(&mut self, c: char) -> bool {
        let hit = self.peek() == Some(c);
        self.pos += usize::from(hit);
        hit
    }

    fn take_while(&mut self, f: impl Fn(char) -> bool) -> usize {
        let start = self.pos;
        while self.peek().is_some_and(&f) {
            self.pos += 1;
        }
        self.pos - start
    }

    fn skip_ws(&mut self) {
        self.take_while(char::is_whitespace);
    }

    fn text(&self, start: usize) -> String {
        self.chars
            .get(start..self.pos)
            .unwrap_or_default()
            .iter()
            .collect()
    }

    fn error_at(&self, pos: usize, message: String) -> AccuracyError {
        AccuracyError::Parse {
            column: pos + 1,
            message,
        }
    }

    /// "expected X but found Y" at the current position.
    fn expected(&self, what: &str) -> AccuracyError {
        let message = match self.peek() {
            None => format!("expected {what} but found end of input"),
            Some(c) if !is_language_char(c) => format!("unexpected character '{c}'"),
            Some(c) => format!("expected {what} but found '{c}'"),
        };
        self.error_at(self.pos, message)
    }

    fn expect(&mut self, c: char) -> Result<(), AccuracyError> {
        self.skip_ws();
        if self.eat(c) {
            Ok(())
        } else {
            Err(self.expected(&format!("'{c}'")))
        }
    }

    /// Parses an expression whose operators bind at least as tightly as `min_bp`.
    fn expr(&mut self, min_bp: u8) -> Result<(), AccuracyError> {
        self.nesting += 1;
        if self.nesting > MAX_NESTING {
            let message = format!("expression nests too deeply (more than {MAX_NESTING} levels)");
            return Err(self.error_at(self.pos, message));
        }
        self.prefix()?;
        loop {
            self.skip_ws();
            let (op, left_bp, right_bp) = match self.peek() {
                Some('+') => (Op::Add, 1, 2),
                Some('-') => (Op::Sub, 1, 2),
                Some('*') => (Op::Mul, 3, 4),
                Some('/') => (Op::Div, 3, 4),
                Some('^') => (Op::Pow, 7, 6),
                _ => break,
            };
            if left_bp < min_bp {
                break;
            }
            self.pos += 1;
            self.expr(right_bp)?;
            self.program.emit(op);
        }
        self.nesting -= 1;
        Ok(())
    }

    fn prefix(&mut self) -> Result<(), AccuracyError> {
        self.skip_ws();
        match self.peek() {
            Some('-') => {
                self.pos += 1;
                self.expr(5)?; // looser than '^' (7), tighter than '*' (3)
                self.program.emit(Op::Neg);
                Ok(())
            }
            Some('(') => {
                self.pos += 1;
                self.expr(0)?;
                self.expect(')')
            }
            Some(c) if c.is_ascii_digit() || c == '.' => self.number(),
            Some(c) if c.is_ascii_alphabetic() || c == '_' => self.call(),
            _ => Err(self.expected("an expression")),
        }
    }

    fn number(&mut self) -> Result<(), AccuracyError> {
        let start = self.pos;
        let digits = |p: &mut Self| p.take_while(|c| c.is_ascii_digit()) > 0;
        let mut valid = digits(self);
        if self.eat('.') {
            valid |= digits(self);
        }
        if self.eat('e') || self.eat('E') {
            let _sign = self.eat('+') || self.eat('-');
            valid &= digits(self);
        }
        // Anything word-like glued to the number (`1x`, `1.2.3`) makes it malformed.
        valid &= self.take_while(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.') == 0;
        let text = self.text(start);
        match text.parse::<f64>() {
            Ok(v) if valid && v.is_finite() => {
                self.program.emit(Op::Const(v));
                Ok(())
            }
            Ok(_) if valid => Err(self.error_at(start, format!("number '{text}' is too large"))),
            _ => Err(self.error_at(start, format!("malformed number '{text}'"))),
        }
    }

    /// `A(id)`, `min(...)` or `max(...)`.
    fn call(&mut self) -> Result<(), AccuracyError> {
        let start = self.pos;
        self.take_while(|c| c.is_ascii_alphanumeric() || c == '_');
        let name = self.text(start);
        if !matches!(name.as_str(), "A" | "min" | "max") {
            let message = format!("unknown function '{name}' (expected min, max or A)");
            return Err(self.error_at(start, message));
        }
        self.expect('(')?;
        self.skip_ws();
        if name == "A" {
            let id_start = self.pos;
            // Ids may start with a digit: the thesis artifact names functions 1, 2, 3.
            if !self
                .peek()
                .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
            {
                return Err(self.expected("a function id"));
            }
            self.take_while(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
            let id = self.text(id_start);
            self.expect(')')?;
            let op = match resolve(self.ids, &id) {
                Some(i) => Op::Var(i),
                None => {
                    self.unknown.get_or_insert((id, id_start + 1));
                    Op::Const(f64::NAN)
                }
            };
            self.program.emit(op);
            return Ok(());
        }
        if self.peek() == Some(')') {
            return Err(self.expected(&format!("at least one argument to {name}")));
        }
        let mut n = 0;
        loop {
            self.expr(0)?;
            n += 1;
            self.skip_ws();
            if self.eat(')') {
                break;
            }
            if !self.eat(',') {
                return Err(self.expected("',' or ')'"));
            }
        }
        self.program.emit(if name == "min" {
            Op::Min(n)
        } else {
            Op::Max(n)
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn formula(expression: &str, ids: &[&str]) -> Result<EasScore, AccuracyError> {
        EasDefinition::Formula {
            expression: expression.to_owned(),
        }
        .compile(ids)
    }

    fn eval(expression: &str, ids: &[&str], a: &[f64]) -> f64 {
        formula(expression, ids).unwrap().evaluate(a)
    }

    /// A definition from its JSON form.
    fn def(json: &str) -> EasDefinition {
        serde_json::from_str(json).unwrap()
    }

    /// Contract check of a formula over functions `a` and `b`.
    fn check(expression: &str, a: &[f64], b: &[f64]) -> Result<ContractReport, AccuracyError> {
        let score = formula(expression, &["a", "b"]).unwrap();
        score.check_contract(&[a.to_vec(), b.to_vec()])
    }

    fn same(x: f64, y: f64) -> bool {
        x == y || (x.is_nan() && y.is_nan())
    }

    #[test]
    fn forms_are_recognised_from_the_compiled_program() {
        let ids = ["a", "b", "c"];
        let sum = def(r#"{"kind": "weighted_sum", "weights": {"a": 2, "c": 0.5}}"#);
        assert_eq!(
            sum.compile(&ids).unwrap().form(),
            ScoreForm::Sum {
                constant: 0.0,
                weights: vec![(0, 2.0), (2, 0.5)]
            }
        );
        let geo = def(r#"{"kind": "geometric_mean", "weights": {"a": 0.5, "b": 0.5}}"#);
        assert_eq!(
            geo.compile(&ids).unwrap().form(),
            ScoreForm::Product {
                coefficient: 1.0,
                exponents: vec![(0, 0.5), (1, 0.5)]
            }
        );
        let min = def(r#"{"kind": "min", "functions": ["c", "a"]}"#);
        assert_eq!(
            min.compile(&ids).unwrap().form(),
            ScoreForm::Min {
                functions: vec![0, 2]
            }
        );
        let linear = formula("2*A(a) + A(b)/4 + 1 - 0.5*A(a)", &ids).unwrap();
        assert_eq!(
            linear.form(),
            ScoreForm::Sum {
                constant: 1.0,
                weights: vec![(0, 1.5), (1, 0.25)]
            }
        );
        assert_eq!(
            formula("3 * A(a)^2 * A(b)", &ids).unwrap().form(),
            ScoreForm::Product {
                coefficient: 3.0,
                exponents: vec![(0, 2.0), (1, 1.0)]
            }
        );
        for general in [
            "2*A(a) + A(b)^0.5",
            "min(A(a), A(b)^0.5)",
            "max(A(a), A(b))",
        ] {
            assert_eq!(
                formula(general, &ids).unwrap().form(),
                ScoreForm::General,
                "{general}"
            );
        }
        // Every recognised form evaluates like the program.
        for (score, a) in [
            (sum.compile(&ids).unwrap(), [0.3, 0.9, 0.4]),
            (geo.compile(&ids).unwrap(), [0.3, 0.9, 0.4]),
            (linear, [0.2, 0.7, 1.0]),
        ] {
            let by_form = match score.form() {
                ScoreForm::Sum { constant, weights } => {
                    constant + weights.iter().map(|&(i, w)| w * a[i]).sum::<f64>()
                }
                ScoreForm::Product {
                    coefficient,
                    exponents,
                } => {
                    coefficient
                        * exponents
                            .iter()
                            .map(|&(i, e)| a[i].powf(e))
                            .product::<f64>()
                }
                f => panic!("{f:?}"),
            };
            assert!((by_form - score.evaluate(&a)).abs() < 1e-12);
        }
    }

    #[test]
    fn normalisation() {
        let n = |raw: &[Option<f64>], how| normalize(raw, how).unwrap();
        let mm = Normalization::MinMax;
        assert_eq!(
            n(&[Some(70.0), Some(80.0), Some(75.0)], mm),
            [0.0, 1.0, 0.5]
        );
        assert_eq!(n(&[Some(0.39)], mm), [1.0]);
        assert_eq!(n(&[Some(0.5), Some(0.5)], mm), [1.0, 1.0]);
        assert_eq!(
            n(&[None, Some(3.0), None, None], mm),
            [0.25, 0.5, 0.75, 1.0]
        );
        assert_eq!(n(&[Some(9.0), Some(1.0)], Normalization::Rank), [0.5, 1.0]);
        assert_eq!(n(&[Some(-f64::MAX), Some(f64::MAX)], mm), [0.0, 1.0]);
        assert_eq!(
            n(&[Some(0.2), Some(1.0)], Normalization::AsGiven),
            [0.2, 1.0]
        );
        assert!(n(&[], mm).is_empty());
        let e = normalize(&[Some(0.2), Some(76.1)], Normalization::AsGiven).unwrap_err();
        assert_eq!(
            e,
            AccuracyError::AccuracyOutOfRange {
                variant_index: 1,
                value: 76.1
            }
        );
        let msg = "variant 1 has accuracy 76.1, which is outside [0, 1] as as_given normalisation requires";
        assert_eq!(e.to_string(), msg);
        assert_eq!(normalize(&[None], Normalization::AsGiven), Ok(vec![1.0]));
        assert_eq!(
            normalize(&[Some(0.9)], Normalization::AsGiven),
            Ok(vec![1.0])
        );
        assert_eq!(
            normalize(&[Some(0.5), None], Normalization::AsGiven),
            Ok(vec![0.5, 1.0])
        );
        let e = normalize(&[Some(1.0), Some(f64::NAN)], mm);
        assert!(matches!(
            e,
            Err(AccuracyError::NonFiniteAccuracy {
                variant_index: 1,
                ..
            })
        ));
    }

    #[test]
    fn templates() {
        let ids = ["a", "b", "c"];
        let compile = |json: &str| def(json).compile(&ids);
        let s = compile(r#"{"kind":"weighted_sum","weights":{"a":2,"b":1}}"#).unwrap();
        assert_eq!(s.evaluate(&[0.5, 0.25, 9.0]), 1.25);
        assert_eq!((s.referenced(), s.range()), (vec![0, 1], (0.0, 3.0)));
        let s = compile(r#"{"kind":"min","functions":["c","a"]}"#).unwrap();
        assert_eq!(s.evaluate(&[0.7, 0.0, 0.4]), 0.4);
        let s = compile(r#"{"kind":"geometric_mean","weights":{"a":0.5,"c":2}}"#).unwrap();
        assert_eq!(
            (s.evaluate(&[0.25, 1.0, 0.5]), s.referenced()),
            (0.125, vec![0, 2])
        );

        let err = |json: &str| compile(json).unwrap_err().to_string();
        assert_eq!(
            err(r#"{"kind":"weighted_sum","weights":{"b":1,"a":-1}}"#),
            "the weight of function 'a' is -1, but weights must be finite and non-negative"
        );
        assert_eq!(
            err(r#"{"kind":"min","functions":["a","zz"]}"#),
            "unknown function id 'zz': it is not one of the application's functions"
        );
        assert_eq!(
            err(r#"{"kind":"geometric_mean","weights":{}}"#),
            "the geometric_mean accuracy score names no function; it needs at least one"
        );
        let e = compile(r#"{"kind":"min","functions":[]}"#);
        assert_eq!(e, Err(AccuracyError::Empty { kind: "min" }));
        let nan = EasDefinition::GeometricMean {
            weights: [("a".to_owned(), f64::NAN)].into(),
        };
        assert!(matches!(
            nan.compile(&ids),
            Err(AccuracyError::InvalidWeight { .. })
        ));
    }

    #[test]
    fn formulas_evaluate() {
        let ids = ["detect", "classify"];
        assert_eq!(eval("2*A(detect) + A(classify)", &ids, &[0.5, 0.25]), 1.25);
        assert_eq!(
            eval("min(A(detect), A(classify)^0.5)", &ids, &[0.9, 0.25]),
            0.5
        );
        let ids = ["f1", "f2", "f3", "f4", "yolo-v10", "m.v_2"];
        let a = [0.5, 0.25, 0.5, 0.5, 1.0, 0.0];
        assert_eq!(eval("2 * A(f1) + A(f2) + (A(f3) * A(f4))", &ids, &a), 1.5);
        assert_eq!(eval("max( A( yolo-v10 ) , A(m.v_2), 0.3 )", &ids, &a), 1.0);
        assert_eq!(eval("A(f1)-A(f2)", &ids, &a), 0.25);
        assert_eq!(
            eval("1e-3 + .5 + 2. + 1E2", &ids, &a),
            1e-3 + 0.5 + 2.0 + 100.0
        );
        let s = formula("A(f4) + A(f2)*A(f4)", &ids).unwrap();
        assert_eq!(s.referenced(), [1, 3]);
        assert!(s.evaluate(&[]).is_nan());
        assert_eq!(eval("3", &[], &[]), 3.0);
        // Deeper than the inline evaluation stack: served from the heap.
        assert_eq!(
            eval(&vec!["1"; 40].join("^").replacen('1', "0.5", 1), &[], &[]),
            0.5
        );
    }

    #[test]
    fn precedence_and_associativity() {
        let cases = [
            ("2^3^2", 512.0),
            ("-2^2", -4.0),
            ("8/4/2", 1.0),
            ("1-2-3", -4.0),
            ("2+3*4", 14.0),
            ("(2+3)*4", 20.0),
            ("-2*3", -6.0),
            ("2^-1", 0.5),
            ("2^-1*3", 1.5),
            ("--3", 3.0),
            ("2*-3", -6.0),
            ("min(3, 1, 2) + max(1)", 2.0),
            ("max(1, 0/0)", f64::NAN),
        ];
        for (text, want) in cases {
            let got = eval(text, &[], &[]);
            assert!(same(got, want), "{text}: {got} != {want}");
        }
    }

    #[test]
    fn parse_errors() {
        let cases = [
            ("", 1, "expected an expression but found end of input"),
            ("   ", 4, "expected an expression but found end of input"),
            ("(A(a)", 6, "expected ')' but found end of input"),
            (
                "A(a))",
                5,
                "expected an operator or end of input but found ')'",
            ),
            ("A(a) +", 7, "expected an expression but found end of input"),
            (
                "2*foo(A(a))",
                3,
                "unknown function 'foo' (expected min, max or A)",
            ),
            ("A(a)#", 5, "unexpected character '#'"),
            ("A(é)", 3, "unexpected character 'é'"),
            ("A()", 3, "expected a function id but found ')'"),
            ("A(-x)", 3, "expected a function id but found '-'"),
            (
                "min()",
                5,
                "expected at least one argument to min but found ')'",
            ),
            ("max(A(a),)", 10, "expected an expression but found ')'"),
            ("max(A(a) A(b))", 10, "expected ',' or ')' but found 'A'"),
            ("A a", 3, "expected '(' but found 'a'"),
            ("2 +* 3", 4, "expected an expression but found '*'"),
            ("1x + 2", 1, "malformed number '1x'"),
            ("1e+ 2", 1, "malformed number '1e+'"),
            ("1e999", 1, "number '1e999' is too large"),
        ];
        for (text, column, message) in cases {
            let want = AccuracyError::Parse {
                column,
                message: message.to_owned(),
            };
            assert_eq!(formula(text, &["a", "b"]).unwrap_err(), want, "{text:?}");
        }
        let e = formula("(", &[]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "column 2: expected an expression but found end of input"
        );
        let e = formula("2*A(a) + A(resnt)", &["a"]).unwrap_err();
        assert_eq!(
            e,
            AccuracyError::UnknownFunction {
                id: "resnt".into(),
                column: Some(12)
            }
        );
        assert_eq!(
            e.to_string(),
            "column 12: unknown function id 'resnt' in A(...)"
        );
        // A syntax error anywhere wins over an unknown id.
        let e = formula("A(zz) +", &["a"]).unwrap_err();
        assert!(matches!(e, AccuracyError::Parse { column: 8, .. }));
        let deep = format!("{}1{}", "(".repeat(100), ")".repeat(100));
        let e = formula(&deep, &[]).unwrap_err().to_string();
        assert_eq!(
            e,
            "column 65: expression nests too deeply (more than 64 levels)"
        );
    }

    #[test]
    fn contract() {
        let report = check("2*A(a)+A(b)", &[1.0, 0.0, 0.5], &[0.0, 1.0]).unwrap();
        assert_eq!(report, ContractReport { min: 0.0, max: 3.0 });

        let e = check("1 - A(a)", &[0.0, 1.0], &[]).unwrap_err();
        let msg = "the score is not monotone in A(a): raising it from 0 to 1 lowers the score \
                   from 1 to 0 (other functions: none)";
        assert_eq!(e.to_string(), msg);
        let e = check("A(a) - A(b)^2", &[0.0, 1.0], &[0.0, 0.5, 1.0]).unwrap_err();
        let at = vec![("a".to_owned(), 0.0)];
        let (function, from, to) = ("b".to_owned(), 0.0, 0.5);
        let want = AccuracyError::NotMonotone {
            function,
            from,
            to,
            score_from: 0.0,
            score_to: -0.25,
            at,
        };
        assert_eq!(e, want);

        let e = check("A(a)/A(b)", &[0.5, 1.0], &[0.0, 1.0]).unwrap_err();
        let at = vec![("a".to_owned(), 0.5), ("b".to_owned(), 0.0)];
        assert_eq!(e, AccuracyError::Unbounded { at });
        assert_eq!(
            e.to_string(),
            "the score is not finite at A(a) = 0.5, A(b) = 0"
        );
        let e = check("A(a)^-1", &[0.0, 1.0], &[]);
        assert!(matches!(e, Err(AccuracyError::Unbounded { .. })));
        let e = check("1/0", &[], &[]).unwrap_err().to_string();
        assert_eq!(
            e,
            "the score is not finite at every point (it references no function)"
        );

        let report = check("min(A(a), A(b)^0.5)", &[0.0, 1.0], &[0.25, 1.0]).unwrap();
        assert_eq!(report, ContractReport { min: 0.0, max: 1.0 });
        assert_eq!(
            check("2", &[], &[]),
            Ok(ContractReport { min: 2.0, max: 2.0 })
        );
        let e = check("A(b)", &[1.0], &[]);
        assert_eq!(
            e,
            Err(AccuracyError::NoOptions {
                function: "b".into()
            })
        );
        let e = formula("A(a)", &["a", "b"])
            .unwrap()
            .check_contract(&[vec![1.0]]);
        assert_eq!(
            e,
            Err(AccuracyError::OptionsMismatch {
                expected: 2,
                found: 1
            })
        );
    }

    #[test]
    fn contract_sampling_on_large_products() {
        let ids = ["a", "b", "c", "d", "e", "f"];
        let options = vec![(0..10).map(|k| f64::from(k) / 9.0).collect::<Vec<f64>>(); 6];
        let json = r#"{"kind":"weighted_sum","weights":{"a":1,"b":1,"c":1,"d":1,"e":1,"f":1}}"#;
        let report = def(json)
            .compile(&ids)
            .unwrap()
            .check_contract(&options)
            .unwrap();
        assert!(
            report.min.abs() < 1e-12 && (report.max - 6.0).abs() < 1e-12,
            "{report:?}"
        );
        // Decreasing in `a` only where `f` is at its maximum and `b`..`e` are high.
        let s = formula("A(a) - 2*A(a)*A(b)*A(c)*A(d)*A(e)*A(f)^40", &ids).unwrap();
        let first = s.check_contract(&options).unwrap_err();
        assert!(matches!(&first, AccuracyError::NotMonotone { function, .. } if function == "a"));
        assert_eq!(
            s.check_contract(&options).unwrap_err(),
            first,
            "deterministic"
        );
    }

    #[test]
    fn serde_shapes() {
        for json in [
            r#"{"kind":"weighted_sum","weights":{"a":0.5,"b":0.5}}"#,
            r#"{"kind":"min","functions":["a","b"]}"#,
            r#"{"kind":"geometric_mean","weights":{"a":1.0,"b":2.0}}"#,
            r#"{"kind":"formula","expression":"2*A(a) + A(b)"}"#,
        ] {
            assert_eq!(serde_json::to_string(&def(json)).unwrap(), json);
        }
        let min = EasDefinition::Min {
            functions: vec!["a".into()],
        };
        assert_eq!(def(r#"{"functions":["a"],"kind":"min"}"#), min);
        let e = serde_json::from_str::<EasDefinition>(r#"{"kind":"product","weights":{}}"#);
        assert!(
            e.unwrap_err()
                .to_string()
                .contains("unknown variant `product`")
        );
        let e = serde_json::from_str::<EasDefinition>(r#"{"kind":"min","function":["a"]}"#);
        assert!(
            e.unwrap_err()
                .to_string()
                .contains("unknown field `function`")
        );
        assert_eq!(
            serde_json::to_string(&Normalization::AsGiven).unwrap(),
            r#""as_given""#
        );
        let mm: Normalization = serde_json::from_str(r#""min_max""#).unwrap();
        assert_eq!(mm, Normalization::MinMax);
        let schema = serde_json::to_string(&schemars::schema_for!(EasDefinition)).unwrap();
        assert!(schema.contains("geometric_mean"));
    }

    /// Random expression tree for the printer round-trip property.
    #[derive(Debug, Clone)]
    enum Tree {
        Num(f64),
        Var(usize),
        Neg(Box<Tree>),
        Bin(char, Box<Tree>, Box<Tree>),
        Call(bool, Vec<Tree>),
    }

    const TREE_IDS: [&str; 3] = ["a", "b-2", "c.x"];

    fn tree() -> impl Strategy<Value = Tree> {
        let leaf = prop_oneof![
            (0.0..10.0f64).prop_map(Tree::Num),
            (0..3usize).prop_map(Tree::Var)
        ];
        leaf.prop_recursive(5, 48, 3, |inner| {
            let op = prop::sample::select(vec!['+', '-', '*', '/', '^']);
            prop_oneof![
                inner.clone().prop_map(|t| Tree::Neg(Box::new(t))),
                (op, inner.clone(), inner.clone()).prop_map(|(o, l, r)| Tree::Bin(
                    o,
                    Box::new(l),
                    Box::new(r)
                )),
                (any::<bool>(), prop::collection::vec(inner, 1..4))
                    .prop_map(|(m, v)| Tree::Call(m, v)),
            ]
        })
    }

    fn print(t: &Tree) -> String {
        match t {
            Tree::Num(v) => format!("{v}"),
            Tree::Var(i) => format!("A({})", TREE_IDS[*i]),
            Tree::Neg(x) => format!("(-{})", print(x)),
            Tree::Bin(o, l, r) => format!("({} {o} {})", print(l), print(r)),
            Tree::Call(m, v) => {
                let args: Vec<String> = v.iter().map(print).collect();
                format!("{}({})", if *m { "min" } else { "max" }, args.join(", "))
            }
        }
    }

    fn direct(t: &Tree, a: &[f64]) -> f64 {
        match t {
            Tree::Num(v) => *v,
            Tree::Var(i) => a[*i],
            Tree::Neg(x) => -direct(x, a),
            Tree::Bin(o, l, r) => {
                let (x, y) = (direct(l, a), direct(r, a));
                match o {
                    '+' => x + y,
                    '-' => x - y,
                    '*' => x * y,
                    '/' => x / y,
                    _ => x.powf(y),
                }
            }
            Tree::Call(m, v) => {
                let values = v.iter().map(|t| direct(t, a));
                values.reduce(if *m { nan_min } else { nan_max }).unwrap()
            }
        }
    }

    fn messy_input() -> impl Strategy<Value = String> {
        let chars: Vec<char> = "0123456789aAbfmixn_.eE+-*/^(),  \tλé→#\u{200b}"
            .chars()
            .collect();
        let tokens = vec![
            "A(a)", "A(", "min(", "max(", "(", ")", ",", "+", "-", "^", "1e-3", "é",
        ];
        prop_oneof![
            prop::collection::vec(prop::sample::select(chars), 0..=64)
                .prop_map(|v| v.into_iter().collect()),
            prop::collection::vec(prop::sample::select(tokens), 0..=16).prop_map(|v| v.concat()),
        ]
    }

    proptest! {
        #[test]
        fn parser_never_panics(text in messy_input()) {
            if let Ok(s) = formula(&text, &["a", "b"]) {
                let _ = s.evaluate(&[0.5, 0.25]);
                let _ = s.check_contract(&[vec![0.0, 1.0], vec![0.5]]);
            }
        }

        #[test]
        fn weighted_sum_is_monotone(
            w in prop::collection::vec(0.0..100.0f64, 3),
            options in prop::collection::vec(prop::collection::vec(0.0..=1.0f64, 1..6), 3),
        ) {
            let ids = ["a", "b", "c"];
            let weights = ids.iter().zip(&w).map(|(f, v)| ((*f).to_owned(), *v)).collect();
            let s = EasDefinition::WeightedSum { weights }.compile(&ids).unwrap();
            let report = s.check_contract(&options).unwrap();
            let (lo, hi) = s.range();
            prop_assert!(lo <= report.min && report.min <= report.max && report.max <= hi + 1e-9);
        }

        #[test]
        fn printed_tree_evaluates_like_the_tree(
            t in tree(),
            a in prop::collection::vec(0.0..=1.0f64, 3),
        ) {
            let text = print(&t);
            let got = formula(&text, &TREE_IDS).unwrap().evaluate(&a);
            let want = direct(&t, &a);
            prop_assert!(same(got, want), "{}: {} != {}", text, got, want);
        }
    }
}
