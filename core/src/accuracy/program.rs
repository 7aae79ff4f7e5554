//! The compiled score: a postfix program and its evaluation.

use super::*;

// ---- Evaluation ----

pub(super) fn nan_min(x: f64, y: f64) -> f64 {
    if x.is_nan() || y.is_nan() {
        f64::NAN
    } else {
        x.min(y)
    }
}

pub(super) fn nan_max(x: f64, y: f64) -> f64 {
    if x.is_nan() || y.is_nan() {
        f64::NAN
    } else {
        x.max(y)
    }
}

pub(super) fn push(stack: &mut [f64], sp: &mut usize, v: f64) {
    if let Some(slot) = stack.get_mut(*sp) {
        *slot = v;
    }
    *sp += 1;
}

pub(super) fn binary(stack: &mut [f64], sp: &mut usize, f: fn(f64, f64) -> f64) {
    if let Some([.., x, y]) = stack.get_mut(..*sp) {
        *x = f(*x, *y);
        *sp -= 1;
    }
}

pub(super) fn fold(stack: &mut [f64], sp: &mut usize, n: usize, f: fn(f64, f64) -> f64) {
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
pub(super) fn run(ops: &[Op], a: &[f64], stack: &mut [f64]) -> f64 {
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
