//! The accuracy knapsack of the relaxation: a sum score kept as a constraint, on a grid.

use super::*;

/// Buckets of the accuracy grid of a [`Knapsack`].
pub const KNAPSACK_BUCKETS: f64 = 2_000.0;

/// A sum score kept as a constraint in the relaxation: per depth of the search, the lightest
/// completion (option weights without the accuracy) reaching each accuracy level, by dynamic
/// programming over the remaining variables. Each option's accuracy is rounded **up** to the
/// grid, so a completion reaching an accuracy reaches at least its level: the tables bound every
/// completion from below. This closes the relaxation's gap on a score whose few discrete levels
/// a price cannot capture (a multiplier makes every function take its variant all or nothing).
#[derive(Debug, Clone)]
pub struct Knapsack {
    /// Grid step, accuracy points.
    pub delta: f64,
    /// Per variable, per option: its accuracy in grid steps, rounded up.
    pub quanta: Vec<Vec<u32>>,
    /// The accuracy the variables must add (the limit less the score's constant), when the
    /// problem has an accuracy floor.
    pub need: Option<f64>,
    /// The objective is the accuracy.
    pub objective: bool,
    /// The score's constant.
    pub constant: f64,
}

impl Knapsack {
    /// The tables along a search order: `tables[k][q]` is the lightest weight of the variables
    /// at depth `k` and deeper whose options reach at least `q` grid steps (infinite when they
    /// cannot).
    pub fn tables(&self, order: &[usize], weights: &[Vec<f64>]) -> Vec<Vec<f64>> {
        let depth = order.len();
        let mut tables = vec![vec![0.0]; depth + 1];
        for k in (0..depth).rev() {
            let v = order[k];
            let next = &tables[k + 1];
            let top = self.quanta[v].iter().copied().max().unwrap_or(0) as usize;
            let len = next.len() + top;
            let mut t = vec![f64::INFINITY; len];
            for (q, slot) in t.iter_mut().enumerate() {
                for (&w, &a) in weights[v].iter().zip(&self.quanta[v]) {
                    let rest = q.saturating_sub(a as usize);
                    let x = match next.get(rest) {
                        Some(&x) => w + x,
                        None => f64::INFINITY,
                    };
                    if x < *slot {
                        *slot = x;
                    }
                }
            }
            tables[k] = t;
        }
        tables
    }

    /// Grid steps needed to add `accuracy` points, rounded up (0 when none are needed).
    pub fn steps(&self, accuracy: f64) -> usize {
        if accuracy <= 0.0 {
            0
        } else {
            (accuracy / self.delta - 1e-9).ceil().max(0.0) as usize
        }
    }
}

/// The lightest weight of all variables together reaching `need` grid steps (infinite when they
/// cannot): the knapsack's root value.
pub(super) fn knapsack_root(weights: &[Vec<f64>], quanta: &[Vec<u32>], need: usize) -> f64 {
    let mut f = vec![f64::INFINITY; need + 1];
    f[0] = 0.0;
    for (w, q) in weights.iter().zip(quanta) {
        let mut next = vec![f64::INFINITY; need + 1];
        for (level, slot) in next.iter_mut().enumerate() {
            for (&wi, &qi) in w.iter().zip(q) {
                let from = level.saturating_sub(qi as usize);
                let x = wi + f[from];
                if x < *slot {
                    *slot = x;
                }
            }
        }
        // At least `level` steps: a level reached by more is also reached.
        for level in (0..need).rev() {
            if next[level + 1] < next[level] {
                next[level] = next[level + 1];
            }
        }
        f = next;
    }
    f[need]
}

/// Grid steps of the knapsack's largest total.
pub(super) fn top_steps(k: &Knapsack) -> usize {
    k.quanta
        .iter()
        .map(|q| q.iter().copied().max().unwrap_or(0) as usize)
        .sum()
}

/// A grid step on which every option's accuracy lies exactly (a weighted sum of min–max
/// normalised accuracies of three variants is a multiple of a third of the weights' common
/// measure, say), with at most [`KNAPSACK_BUCKETS`] × 10 steps to `top`: the knapsack is then
/// exact.
pub(super) fn lattice(layout: &Layout, top: f64) -> Option<f64> {
    let values: Vec<f64> = layout
        .vars
        .iter()
        .flat_map(|v| v.options.iter().map(|o| o.accuracy))
        .filter(|&a| a > 1e-12)
        .collect();
    let smallest = values.iter().copied().fold(f64::INFINITY, f64::min);
    if !smallest.is_finite() {
        return None;
    }
    (1..=24).find_map(|m| {
        let delta = smallest / m as f64;
        let fits = top / delta <= KNAPSACK_BUCKETS * 10.0
            && values.iter().all(|&a| {
                let q = a / delta;
                (q - q.round()).abs() <= 1e-7 * q.max(1.0)
            });
        fits.then_some(delta)
    })
}
