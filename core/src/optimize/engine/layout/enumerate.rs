//! A unit as one variable: its configurations enumerated (all of them, or a parallel block's
//! from its arms' fronts), each with its exact latency contribution, cost and accuracy, cut to
//! the non-dominated ones.

use super::*;

struct Candidate {
    option: VarOption,
    summary: Vec<f64>,
}

/// Most paths an arm's signature may have.
const PATH_CAP: usize = 64;

/// Every configuration of some functions (their picks in the order given), as an odometer.
struct Odometer {
    sizes: Vec<usize>,
    next: Option<Vec<usize>>,
}

impl Odometer {
    fn new(space: &SearchSpace, functions: &[usize]) -> Odometer {
        let sizes: Vec<usize> = functions.iter().map(|&f| space.options[f].len()).collect();
        let next = (!sizes.contains(&0)).then(|| vec![0; sizes.len()]);
        Odometer { sizes, next }
    }
}

impl Iterator for Odometer {
    type Item = Vec<usize>;
    fn next(&mut self) -> Option<Vec<usize>> {
        let current = self.next.take()?;
        let mut following = current.clone();
        let mut k = 0;
        loop {
            if k == following.len() {
                break;
            }
            following[k] += 1;
            if following[k] < self.sizes[k] {
                self.next = Some(following);
                break;
            }
            following[k] = 0;
            k += 1;
        }
        Some(current)
    }
}

impl Layout {
    /// Unit `unit` as one variable: every configuration with its `V_u`, the dominated ones cut
    /// when `prune` (a scoring that samples executions keeps them: its dominance also compares
    /// the sampled durations, [`SearchSpace::prune_with`]).
    pub(super) fn enumerate(
        &self,
        space: &SearchSpace,
        unit: &[usize],
        d: &mut [f64],
        scratch: &mut LatencyScratch,
        prune: bool,
    ) -> Var {
        let candidates = self.candidates(space, unit, Odometer::new(space, unit), d, scratch);
        let options = if prune {
            front(candidates)
        } else {
            candidates.into_iter().map(|c| c.option).collect()
        };
        Var {
            functions: unit.to_vec(),
            options,
            enumerated: true,
            composite: None,
        }
    }

    /// Unit `unit` as one variable from the configurations given (a superset of its front).
    pub(super) fn enumerate_from(
        &self,
        space: &SearchSpace,
        unit: &[usize],
        configurations: Vec<Vec<usize>>,
        d: &mut [f64],
        scratch: &mut LatencyScratch,
    ) -> Var {
        let candidates = self.candidates(space, unit, configurations.into_iter(), d, scratch);
        Var {
            functions: unit.to_vec(),
            options: front(candidates),
            enumerated: true,
            composite: None,
        }
    }

    /// Each configuration of `unit` (its functions' picks, in `unit`'s order) with its `V_u`
    /// (the plan with every other function at its fastest), cost and accuracy.
    fn candidates(
        &self,
        space: &SearchSpace,
        unit: &[usize],
        configurations: impl Iterator<Item = Vec<usize>>,
        d: &mut [f64],
        scratch: &mut LatencyScratch,
    ) -> Vec<Candidate> {
        let mut candidates = Vec::new();
        for picks in configurations {
            let mut cost = 0.0;
            for (&f, &i) in unit.iter().zip(&picks) {
                let o = &space.options[f][i];
                d[f] = o.duration_ms;
                cost += o.cost;
            }
            let accuracy = |f: usize| {
                let k = unit.iter().position(|&g| g == f).unwrap_or(0);
                space.options[f][picks[k]].accuracy
            };
            let latency = space.latency(d, scratch) - self.fastest_latency;
            candidates.push(Candidate {
                summary: summary(&self.form, unit, accuracy),
                option: VarOption {
                    latency,
                    cost,
                    accuracy: sum_part(&self.form, unit, accuracy),
                    picks,
                },
            });
        }
        for &f in unit {
            d[f] = self.fastest[f];
        }
        candidates
    }

    /// A parallel block's configurations as the products of its arms' fronts: an arm's
    /// configuration is dropped when another is as cheap, as accurate and at least as fast on
    /// every path through the arm (loop bodies also on their own), which makes the arm no slower
    /// in any execution, hence the block's latency (the maximum, or the expected maximum, of
    /// its arms) no higher. `None` when an arm or the product is too large, or arms share a
    /// function.
    pub(super) fn arm_fronts(
        &self,
        space: &SearchSpace,
        unit: &[usize],
        arms: &[Structure],
    ) -> Option<Vec<Vec<usize>>> {
        let n = space.options.len();
        let mut fronts: Vec<(Vec<usize>, Vec<Vec<usize>>)> = Vec::new();
        let mut seen = vec![false; n];
        for arm in arms {
            let mut fs = Vec::new();
            leaves(arm, n, &mut fs);
            fs.sort_unstable();
            fs.dedup();
            if fs.iter().any(|&f| std::mem::replace(&mut seen[f], true)) {
                return None;
            }
            let size: f64 = fs.iter().map(|&f| space.options[f].len() as f64).product();
            if size > ENUMERATE_LIMIT {
                return None;
            }
            let (main, extra) = paths(arm, n, PATH_CAP)?;
            let signature_paths: Vec<Vec<usize>> = main.into_iter().chain(extra).collect();
            let mut candidates: Vec<ArmCandidate> = Vec::new();
            for picks in Odometer::new(space, &fs) {
                let duration = |f: usize| {
                    let k = fs.iter().position(|&g| g == f).unwrap_or(0);
                    space.options[f][picks[k]].duration_ms
                };
                let accuracy = |f: usize| {
                    let k = fs.iter().position(|&g| g == f).unwrap_or(0);
                    space.options[f][picks[k]].accuracy
                };
                let signature = signature_paths
                    .iter()
                    .map(|p| p.iter().map(|&f| duration(f)).sum())
                    .collect();
                let cost = fs
                    .iter()
                    .zip(&picks)
                    .map(|(&f, &i)| space.options[f][i].cost)
                    .sum();
                let summary = summary(&self.form, &fs, accuracy);
                candidates.push((picks, signature, cost, summary));
            }
            // Non-dominated arm configurations (quadratic, on small arms).
            candidates.sort_by(|a, b| {
                let sa: f64 = a.1.iter().sum();
                let sb: f64 = b.1.iter().sum();
                sa.total_cmp(&sb).then(a.2.total_cmp(&b.2))
            });
            let mut kept: Vec<ArmCandidate> = Vec::new();
            for c in candidates {
                let dominated = kept.iter().any(|k| {
                    k.2 <= c.2
                        && k.1.iter().zip(&c.1).all(|(a, b)| a <= b)
                        && k.3.iter().zip(&c.3).all(|(a, b)| a >= b)
                });
                if !dominated {
                    kept.push(c);
                }
            }
            fronts.push((fs, kept.into_iter().map(|c| c.0).collect()));
        }
        // Functions of the unit outside every arm (none for a parallel block) would be lost.
        let covered: usize = fronts.iter().map(|(fs, _)| fs.len()).sum();
        if covered != unit.len() {
            return None;
        }
        let product: f64 = fronts.iter().map(|(_, f)| f.len() as f64).product();
        if product > ENUMERATE_LIMIT {
            return None;
        }
        let position: Vec<usize> = {
            let mut p = vec![usize::MAX; n];
            for (k, &f) in unit.iter().enumerate() {
                p[f] = k;
            }
            p
        };
        let mut out = Vec::with_capacity(product as usize);
        let mut digits = vec![0usize; fronts.len()];
        loop {
            let mut picks = vec![0; unit.len()];
            for ((fs, front), &j) in fronts.iter().zip(&digits) {
                for (&f, &p) in fs.iter().zip(&front[j]) {
                    picks[position[f]] = p;
                }
            }
            out.push(picks);
            let mut k = 0;
            loop {
                if k == digits.len() {
                    return Some(out);
                }
                digits[k] += 1;
                if digits[k] < fronts[k].1.len() {
                    break;
                }
                digits[k] = 0;
                k += 1;
            }
        }
    }
}

/// The non-dominated candidates (latency, cost, accuracy summary), in order of latency.
fn front(mut candidates: Vec<Candidate>) -> Vec<VarOption> {
    let key = |c: &Candidate| -> f64 { c.summary.iter().sum() };
    candidates.sort_by(|a, b| {
        a.option
            .latency
            .total_cmp(&b.option.latency)
            .then(a.option.cost.total_cmp(&b.option.cost))
            .then(key(b).total_cmp(&key(a)))
    });
    // Sorted so that no candidate is dominated by a later one: compare with the kept ones only.
    let mut kept: Vec<Candidate> = Vec::new();
    for c in candidates {
        let dominated = kept.iter().any(|k| {
            k.option.latency <= c.option.latency
                && k.option.cost <= c.option.cost
                && k.summary.iter().zip(&c.summary).all(|(a, b)| a >= b)
        });
        if !dominated {
            kept.push(c);
        }
    }
    kept.into_iter().map(|c| c.option).collect()
}
