//! The structure of a score that the optimizers can exploit.

use super::*;

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
pub(super) enum Sym {
    Const(f64),
    /// `c + Σ w·A(i)`.
    Affine(f64, Vec<(usize, f64)>),
    /// `c · Π A(i)^e`.
    Monomial(f64, Vec<(usize, f64)>),
    /// `min A(i)`.
    MinOf(Vec<usize>),
    Other,
}

pub(super) fn merge(mut a: Vec<(usize, f64)>, b: &[(usize, f64)], scale: f64) -> Vec<(usize, f64)> {
    for &(i, w) in b {
        match a.iter_mut().find(|(j, _)| *j == i) {
            Some((_, v)) => *v += scale * w,
            None => a.push((i, scale * w)),
        }
    }
    a
}

impl Sym {
    pub(super) fn affine(self) -> Option<(f64, Vec<(usize, f64)>)> {
        match self {
            Sym::Const(c) => Some((c, Vec::new())),
            Sym::Affine(c, w) => Some((c, w)),
            Sym::Monomial(c, e) if e.len() == 1 && e[0].1 == 1.0 => Some((0.0, vec![(e[0].0, c)])),
            Sym::MinOf(v) if v.len() == 1 => Some((0.0, vec![(v[0], 1.0)])),
            _ => None,
        }
    }

    pub(super) fn monomial(self) -> Option<(f64, Vec<(usize, f64)>)> {
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

pub(super) fn binary_sym(op: Op, x: Sym, y: Sym) -> Sym {
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
