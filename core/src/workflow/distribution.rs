//! Small discrete latency distributions: what the branch-aware model uses inside parallel blocks
//! and Map states, where the expected latency is an expectation of a maximum and so depends on
//! more than the arms' means.
//!
//! A [`Dist`] is a list of atoms `(value, probability)` with ascending, distinct values whose
//! probabilities sum to 1. The operations are the ones a reduced workflow needs: the sum of
//! independent parts (a sequence), a mixture (a branch), the maximum of independent parts (a
//! parallel block), the maximum of `k` independent copies (a wave of a Map state) and a geometric
//! number of copies (a loop).
//!
//! **Exact where it can be, bracketed where it cannot.** Two approximations keep the work bounded:
//!
//! * a loop's geometric number of runs is truncated after `K` runs, where the remaining mass
//!   `q^K` falls below [`LOOP_TAIL_MASS`] (at most [`MAX_LOOP_TERMS`] runs); the tail is one atom
//!   at its conditional mean `(K + 1/(1 − q))·E[body]` (Wald). The distribution's `err` carries an
//!   upper bound on `E|X − X̃|` for a coupling of the exact `X` and the represented `X̃`: at most
//!   `2·q^K·(K + 1/(1 − q))·E[body]` per truncation, added through sums and maxima
//!   (`|max(x) − max(y)| ≤ Σ|xᵢ − yᵢ|`), averaged through mixtures and multiplied by the expected
//!   number of copies in loops and Map waves;
//! * a distribution whose number of atoms *could* exceed [`MAX_ATOMS`] (a count known from the
//!   structure alone, never from the values) is cut into [`MAX_ATOMS`] equal-probability buckets
//!   of its quantile function. [`Rounding::Down`] puts each bucket at its conditional mean,
//!   [`Rounding::Up`] spreads it onto its smallest and largest value with the same mean.
//!
//! Both the tail atom and the bucket means replace part of a distribution by its conditional
//! mean, which makes it smaller in the convex order; spreading a bucket onto its end points makes
//! it larger. Sums, mixtures and maxima of independent parts preserve the (increasing) convex
//! order, and an expected maximum is an increasing convex functional. So the expected latency
//! computed with [`Rounding::Down`] is a lower bound of the model's exact value, and the one
//! computed with [`Rounding::Up`] plus the truncation bound `err` is an upper bound: the exact
//! value lies between them. (The plain `E|X − X̃|` of bucketing would be a far looser bound: it
//! counts every bucket's spread, where an expected maximum only feels the buckets that straddle
//! the other arms' values.)
//!
//! **Monotone in every duration** (with [`Rounding::Down`], the estimate). Every atom's value is
//! a sum of durations, delays and non-negative multiples of them, with a probability that depends
//! only on the workflow's probabilities; when a duration grows, every atom's value grows (or
//! stays), which is first-order stochastic dominance, and sums, mixtures and maxima of independent
//! parts preserve it. The bucketed form is monotone too: a bucket's value is the mean of the
//! quantile function over a fixed probability interval, and the quantile function of a dominating
//! distribution is pointwise larger. The tail atom's value is non-decreasing in the body's mean.
//! Whether a distribution is bucketed depends on the structure only, so no step switches on or off
//! as durations move. Hence the expected latency is non-decreasing in every function's duration,
//! which the optimizers' bounds and dominance pruning rely on.

/// Largest number of atoms a distribution keeps; above it, equal-probability buckets.
pub const MAX_ATOMS: usize = 64;
/// A loop inside a parallel arm is followed run by run until the probability of running again
/// falls below this mass.
pub const LOOP_TAIL_MASS: f64 = 1e-6;
/// Most runs of a loop followed one by one (a loop taken with probability 0.99 needs 2,063 runs
/// to reach [`LOOP_TAIL_MASS`]; one taken with 0.999999 stops here, with a larger, reported error).
pub const MAX_LOOP_TERMS: usize = 4096;

/// How a bucket of a distribution is represented.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Rounding {
    /// At its conditional mean: smaller in the convex order (the estimate; a lower bound).
    #[default]
    Down,
    /// Spread onto its smallest and largest value, mean kept: larger in the convex order (with
    /// the truncation error, an upper bound).
    Up,
}

/// A discrete distribution of latency (ms).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Dist {
    /// `(value, probability)`, values ascending and distinct.
    atoms: Vec<(f64, f64)>,
    /// Upper bound on the number of atoms, from the structure only.
    bound: usize,
    /// Upper bound on `E|X − X̃|` from loop truncations so far, ms.
    err: f64,
    /// How buckets are represented.
    rounding: Rounding,
}

impl Dist {
    /// All mass at `value`.
    pub fn point(value: f64, rounding: Rounding) -> Dist {
        Dist {
            atoms: vec![(value, 1.0)],
            bound: 1,
            err: 0.0,
            rounding,
        }
    }

    /// The atoms, values ascending.
    #[cfg(test)]
    pub fn atoms(&self) -> &[(f64, f64)] {
        &self.atoms
    }

    /// The bound on `E|X − X̃|` the loop truncations so far add up to, ms.
    pub fn error_bound(&self) -> f64 {
        self.err
    }

    /// The mean.
    pub fn mean(&self) -> f64 {
        self.atoms.iter().map(|&(v, p)| v * p).sum()
    }

    /// The sum of independent `self` and `other`.
    pub fn add(&self, other: &Dist) -> Dist {
        self.add_bounded(other, self.bound.saturating_mul(other.bound))
    }

    /// [`Dist::add`] where the structure bounds the sum's atoms by `bound` (e.g. a sum of copies
    /// of one distribution, whose value depends only on how many copies took each atom).
    fn add_bounded(&self, other: &Dist, bound: usize) -> Dist {
        if let [(v, _)] = other.atoms[..] {
            return self.shifted(v, other.err);
        }
        if let [(v, _)] = self.atoms[..] {
            return other.shifted(v, self.err);
        }
        // One ascending run per atom of the shorter side: the stable sort in `normalized` merges
        // runs (O(n log runs)).
        let (short, long) = if self.atoms.len() <= other.atoms.len() {
            (&self.atoms, &other.atoms)
        } else {
            (&other.atoms, &self.atoms)
        };
        let mut atoms = Vec::with_capacity(short.len() * long.len());
        for &(a, p) in short {
            atoms.extend(long.iter().map(|&(b, q)| (a + b, p * q)));
        }
        Dist {
            atoms,
            bound,
            err: self.err + other.err,
            rounding: self.rounding,
        }
        .normalized()
    }

    fn shifted(&self, by: f64, err: f64) -> Dist {
        Dist {
            atoms: self.atoms.iter().map(|&(v, p)| (v + by, p)).collect(),
            bound: self.bound,
            err: self.err + err,
            rounding: self.rounding,
        }
    }

    /// The mixture: part `i` with probability `parts[i].0` (the weights sum to 1).
    pub fn mixture<'a>(parts: impl IntoIterator<Item = (f64, &'a Dist)>) -> Dist {
        let mut out = Dist::default();
        for (w, d) in parts {
            out.rounding = d.rounding;
            out.atoms.extend(d.atoms.iter().map(|&(v, p)| (v, p * w)));
            out.bound = out.bound.saturating_add(d.bound);
            out.err += w * d.err;
        }
        out.normalized()
    }

    /// The maximum of independent `self` and `other`.
    pub fn max(&self, other: &Dist) -> Dist {
        let (a, b) = (&self.atoms, &other.atoms);
        let mut atoms = Vec::with_capacity(a.len() + b.len());
        let (mut i, mut j) = (0, 0);
        let (mut fa, mut fb, mut prev) = (0.0, 0.0, 0.0);
        while i < a.len() || j < b.len() {
            let va = a.get(i).map_or(f64::INFINITY, |x| x.0);
            let vb = b.get(j).map_or(f64::INFINITY, |x| x.0);
            let v = va.min(vb);
            if va == v {
                fa += a[i].1;
                i += 1;
            }
            if vb == v {
                fb += b[j].1;
                j += 1;
            }
            // The last atom takes exactly the rest of the mass (no rounding leaks).
            let cdf = if i == a.len() && j == b.len() {
                1.0
            } else {
                fa * fb
            };
            if cdf > prev {
                atoms.push((v, cdf - prev));
                prev = cdf;
            }
        }
        Dist {
            atoms,
            bound: self.bound.saturating_add(other.bound),
            err: self.err + other.err,
            rounding: self.rounding,
        }
        .normalized()
    }

    /// The maximum of `k > 0` independent copies (`k` need not be whole: the CDF is `F^k`, the
    /// mean of a fractional fill).
    pub fn max_of_copies(&self, k: f64) -> Dist {
        if k == 1.0 || self.atoms.len() <= 1 {
            let mut d = self.clone();
            d.err *= k.max(1.0);
            return d;
        }
        let mut atoms = Vec::with_capacity(self.atoms.len());
        let (mut cdf, mut prev) = (0.0, 0.0);
        let last = self.atoms.len() - 1;
        for (i, &(v, p)) in self.atoms.iter().enumerate() {
            cdf += p;
            let g = if i == last {
                1.0
            } else {
                libm::pow(cdf.min(1.0), k)
            };
            if g > prev {
                atoms.push((v, g - prev));
                prev = g;
            }
        }
        Dist {
            atoms,
            bound: self.bound,
            err: self.err * k.max(1.0),
            rounding: self.rounding,
        }
    }

    /// The sum of `N` independent copies, `N` geometric on `1, 2, …` with `P(N > n) = q^n`
    /// (`q < 1` the probability of running again), followed run by run for `terms` runs (see
    /// [`loop_terms`]) with the tail as one atom at its conditional mean.
    pub fn geometric_sum(&self, q: f64, terms: usize) -> Dist {
        let terms = terms.max(1);
        if let [(b, _)] = self.atoms[..] {
            return Self::geometric_point(b, self.err, q, terms, self.rounding);
        }
        let mut out = Dist {
            rounding: self.rounding,
            ..Dist::default()
        };
        let mut copies = self.clone();
        let mut weight = 1.0 - q;
        let mut tail = 1.0;
        for k in 1..=terms {
            out.atoms
                .extend(copies.atoms.iter().map(|&(v, p)| (v, p * weight)));
            out.bound = out.bound.saturating_add(copies.bound);
            out.err += weight * copies.err;
            tail *= q;
            weight *= q;
            if k < terms {
                copies = copies.add_bounded(self, copies_bound(self.bound, k as u64 + 1));
            }
        }
        if tail > 0.0 {
            let runs = terms as f64 + 1.0 / (1.0 - q);
            let at = runs * self.mean();
            out.atoms.push((at, tail));
            out.bound = out.bound.saturating_add(1);
            out.err += tail * (runs * self.err + 2.0 * at);
        }
        out.normalized()
    }

    /// [`Dist::geometric_sum`] of a point mass at `b`: atoms `k·b` with `(1 − q)·q^(k−1)`.
    fn geometric_point(b: f64, err: f64, q: f64, terms: usize, rounding: Rounding) -> Dist {
        let mut atoms = Vec::with_capacity(terms + 1);
        let (mut weight, mut tail, mut value) = (1.0 - q, 1.0, 0.0);
        for _ in 0..terms {
            value += b;
            atoms.push((value, weight));
            weight *= q;
            tail *= q;
        }
        let runs = terms as f64 + 1.0 / (1.0 - q);
        let mut out_err = err / (1.0 - q);
        if tail > 0.0 {
            let at = runs * b;
            atoms.push((at, tail));
            out_err = err * (1.0 - tail) / (1.0 - q) + tail * (runs * err + 2.0 * at);
        }
        let bound = atoms.len();
        Dist {
            atoms,
            bound,
            err: out_err,
            rounding,
        }
        .normalized()
    }

    /// The sum of `n` independent copies (binary powering).
    pub fn sum_of_copies(&self, n: u64) -> Dist {
        let mut result: Option<(Dist, u64)> = None;
        let (mut base, mut base_n) = (self.clone(), 1u64);
        let mut n = n;
        while n > 0 {
            if n & 1 == 1 {
                result = Some(match result {
                    Some((r, rn)) => {
                        let total = rn.saturating_add(base_n);
                        (r.add_bounded(&base, copies_bound(self.bound, total)), total)
                    }
                    None => (base.clone(), base_n),
                });
            }
            n >>= 1;
            if n > 0 {
                base_n = base_n.saturating_mul(2);
                base = base.add_bounded(&base, copies_bound(self.bound, base_n));
            }
        }
        let result = result.map(|r| r.0);
        result.unwrap_or_else(|| Dist::point(0.0, self.rounding))
    }

    /// Sorts, merges equal values and buckets the atoms when the structural bound exceeds
    /// [`MAX_ATOMS`].
    fn normalized(mut self) -> Dist {
        // Stable: the inputs are concatenated ascending runs, which a stable sort merges.
        self.atoms.sort_by(|a, b| a.0.total_cmp(&b.0));
        self.atoms.dedup_by(|later, kept| {
            if later.0 == kept.0 {
                kept.1 += later.1;
                true
            } else {
                false
            }
        });
        if self.bound > MAX_ATOMS {
            self.bucket();
        }
        self
    }

    /// [`MAX_ATOMS`] equal-probability buckets of the quantile function, each at its conditional
    /// mean ([`Rounding::Down`]) or spread onto its end points ([`Rounding::Up`]).
    fn bucket(&mut self) {
        let atoms = std::mem::take(&mut self.atoms);
        let total: f64 = atoms.iter().map(|a| a.1).sum();
        let width = total / MAX_ATOMS as f64;
        let mut out: Vec<(f64, f64)> = Vec::with_capacity(2 * MAX_ATOMS);
        let push = |out: &mut Vec<(f64, f64)>, v: f64, p: f64| match out.last_mut() {
            Some(last) if last.0 >= v => last.1 += p,
            _ => out.push((v, p)),
        };
        let mut i = 0;
        let mut rest = atoms.first().map_or(0.0, |a| a.1);
        for b in 0..MAX_ATOMS {
            let Some(&(lo, _)) = atoms.get(i) else { break };
            let mut room = if b + 1 == MAX_ATOMS {
                f64::INFINITY
            } else {
                width
            };
            let (mut mass, mut moment, mut hi) = (0.0, 0.0, lo);
            while room > 0.0 && i < atoms.len() {
                let v = atoms[i].0;
                let take = rest.min(room);
                mass += take;
                moment += take * v;
                hi = v;
                room -= take;
                if take < rest {
                    rest -= take;
                } else {
                    i += 1;
                    rest = atoms.get(i).map_or(0.0, |a| a.1);
                }
            }
            if mass <= 0.0 {
                continue;
            }
            let mean = (moment / mass).clamp(lo, hi);
            match self.rounding {
                Rounding::Up if hi > lo => {
                    let upper = mass * (mean - lo) / (hi - lo);
                    push(&mut out, lo, mass - upper);
                    push(&mut out, hi, upper);
                }
                _ => push(&mut out, mean, mass),
            }
        }
        self.atoms = out;
        self.bound = MAX_ATOMS;
    }
}

/// Atoms a sum of `k` copies of an `m`-atom distribution can have: its value depends only on how
/// many copies took each atom, `C(k + m − 1, m − 1)` multisets (saturating).
fn copies_bound(m: usize, k: u64) -> usize {
    if m <= 1 {
        return 1;
    }
    // C(k + r, r) with r = m − 1, multiplied out term by term (each partial product is a binomial
    // coefficient, so the division is exact); saturates past MAX_ATOMS, where only "more" matters.
    let r = (m - 1) as u128;
    let k = u128::from(k);
    let mut c: u128 = 1;
    for i in 1..=r {
        c = c * (k + i) / i;
        if c > MAX_ATOMS as u128 {
            return usize::MAX;
        }
    }
    c as usize
}

/// Runs of a loop (probability `q` of running again) followed one by one: the smallest `K` with
/// `q^K ≤` [`LOOP_TAIL_MASS`], at most [`MAX_LOOP_TERMS`]. Depends on `q` only.
pub fn loop_terms(q: f64) -> usize {
    if q <= 0.0 {
        return 1;
    }
    if q >= 1.0 {
        return MAX_LOOP_TERMS;
    }
    let k = (libm::log(LOOP_TAIL_MASS) / libm::log(q)).ceil();
    if k.is_finite() {
        (k.max(1.0) as usize).min(MAX_LOOP_TERMS)
    } else {
        MAX_LOOP_TERMS
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn pt(v: f64) -> Dist {
        Dist::point(v, Rounding::Down)
    }

    fn two_r(a: f64, pa: f64, b: f64, r: Rounding) -> Dist {
        Dist::mixture([(pa, &Dist::point(a, r)), (1.0 - pa, &Dist::point(b, r))])
    }

    fn two(a: f64, pa: f64, b: f64) -> Dist {
        two_r(a, pa, b, Rounding::Down)
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-9 * (1.0 + b.abs())
    }

    #[test]
    fn max_of_a_branch_and_a_point_is_the_weighted_max() {
        // Arm 1: 100 ms with 0.3, 500 ms with 0.7; arm 2: 300 ms.
        let d = two(100.0, 0.3, 500.0).max(&pt(300.0));
        assert!(close(d.mean(), 0.3 * 300.0 + 0.7 * 500.0));
        assert_eq!(d.error_bound(), 0.0);
        let d = two(100.0, 0.5, 400.0).max(&two(200.0, 0.5, 300.0));
        // (100,200)→200 (100,300)→300 (400,·)→400, each pair 1/4.
        assert!(close(d.mean(), 0.25 * 200.0 + 0.25 * 300.0 + 0.5 * 400.0));
    }

    #[test]
    fn geometric_sum_of_a_point_matches_the_series() {
        let q = 0.25;
        let d = pt(10.0).geometric_sum(q, loop_terms(q));
        assert!(close(d.mean(), 10.0 / (1.0 - q)));
        let p2 = d.atoms().iter().find(|a| a.0 == 20.0).map(|a| a.1);
        assert!(close(p2.unwrap_or(0.0), (1.0 - q) * q));
        assert!(d.error_bound() < 1e-3);
        // E[max(loop, 15)]: 15 when one run (0.75), else the loop's value.
        let m = d.max(&pt(15.0)).mean();
        let expect = 0.75 * 15.0 + (d.mean() - 0.75 * 10.0);
        assert!(close(m, expect), "{m} vs {expect}");
        // A random body: the mean is E[N]·E[body] (Wald).
        let body = two(10.0, 0.5, 30.0);
        let g = body.geometric_sum(0.6, loop_terms(0.6));
        assert!(close(g.mean(), 20.0 / 0.4), "{}", g.mean());
    }

    #[test]
    fn bucketing_keeps_the_mean_and_brackets_the_expected_maximum() {
        // 10 independent 2-way branches in a row: 2^10 outcomes before bucketing.
        let chain = |r: Rounding| {
            let mut d = Dist::point(0.0, r);
            for i in 0..10 {
                d = d.add(&two_r(f64::from(i), 0.5, f64::from(i) * 3.0 + 1.0, r));
            }
            d
        };
        let (down, up) = (chain(Rounding::Down), chain(Rounding::Up));
        assert!(down.atoms().len() <= MAX_ATOMS && up.atoms().len() <= 2 * MAX_ATOMS);
        let exact: f64 = (0..10)
            .map(|i| 0.5 * f64::from(i) + 0.5 * (f64::from(i) * 3.0 + 1.0))
            .sum();
        assert!(close(down.mean(), exact) && close(up.mean(), exact));
        let total: f64 = down.atoms().iter().map(|a| a.1).sum();
        assert!(close(total, 1.0));
        // The exact E[max(chain, y)] by enumerating all 1,024 outcomes.
        for y in [40.0, 62.0, 75.0, 90.0] {
            let mut e = 0.0;
            for mask in 0u32..1024 {
                let v: f64 = (0..10)
                    .map(|i| {
                        if mask >> i & 1 == 1 {
                            f64::from(i) * 3.0 + 1.0
                        } else {
                            f64::from(i)
                        }
                    })
                    .sum();
                e += f64::max(v, y) / 1024.0;
            }
            let lo = down.max(&pt(y)).mean();
            let hi = up.max(&Dist::point(y, Rounding::Up)).mean();
            assert!(lo <= e + 1e-9 && e <= hi + 1e-9, "{lo} ≤ {e} ≤ {hi}");
            assert!(hi - lo < 0.5, "bracket {lo} … {hi}");
        }
    }

    #[test]
    fn max_of_copies_uses_the_cdf_power() {
        let d = two(1.0, 0.5, 2.0).max_of_copies(3.0);
        assert!(close(d.mean(), 1.0 * 0.125 + 2.0 * 0.875));
        let s = two(1.0, 0.5, 2.0).sum_of_copies(3);
        assert!(close(s.mean(), 4.5));
        assert_eq!(s.atoms().len(), 4);
    }

    #[test]
    fn loop_terms_reach_the_tail_mass() {
        assert_eq!(loop_terms(0.0), 1);
        assert!(0.5f64.powi(loop_terms(0.5) as i32) <= LOOP_TAIL_MASS);
        assert!(0.5f64.powi(loop_terms(0.5) as i32 - 1) > LOOP_TAIL_MASS);
        assert_eq!(loop_terms(0.999_999_999), MAX_LOOP_TERMS);
        assert_eq!(loop_terms(1.0), MAX_LOOP_TERMS);
        assert_eq!(copies_bound(2, 5), 6);
        assert_eq!(copies_bound(3, 2), 6);
        assert_eq!(copies_bound(64, 64), usize::MAX);
    }

    fn branchy(values: &[f64], probs: &[f64]) -> Dist {
        let total: f64 = probs.iter().sum();
        let parts: Vec<Dist> = values.iter().map(|&v| pt(v)).collect();
        Dist::mixture(probs.iter().map(|p| p / total).zip(parts.iter()))
    }

    proptest! {
        /// Raising any value never lowers E[max], E[sum], the loop's or the Map wave's mean.
        #[test]
        fn every_operation_is_monotone(
            a in prop::collection::vec(0.0f64..1000.0, 1..6),
            b in prop::collection::vec(0.0f64..1000.0, 1..6),
            pa in prop::collection::vec(0.05f64..1.0, 6),
            pb in prop::collection::vec(0.05f64..1.0, 6),
            bump in 0usize..6,
            by in 0.0f64..500.0,
            q in 0.0f64..0.95,
            k in 1.0f64..8.0,
        ) {
            let eval = |a: &[f64]| {
                let da = branchy(a, &pa[..a.len()]);
                let db = branchy(&b, &pb[..b.len()]);
                [
                    da.max(&db).mean(),
                    da.add(&db).max(&db).mean(),
                    da.geometric_sum(q, loop_terms(q)).max(&db).mean(),
                    da.max_of_copies(k).mean(),
                    da.sum_of_copies(9).max(&db).mean(),
                ]
            };
            let before = eval(&a);
            let mut a2 = a.clone();
            let i = bump % a2.len();
            a2[i] += by;
            let after = eval(&a2);
            for (x, y) in before.iter().zip(after) {
                prop_assert!(y >= x - 1e-9 * (1.0 + x.abs()), "{x} → {y}");
            }
        }
    }
}
