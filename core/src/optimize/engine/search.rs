//! The depth-first branch and bound itself: the nodes' running sums, one trial of an option
//! (the bounds, the limits, the incumbent), the dive in the search order and the record of the
//! subtrees a stopped search left open. [`super::search_from`] drives it.

use super::*;

/// What one trial of an option gave.
enum Trial {
    /// A bound breaks a limit or cannot beat the incumbent.
    Cut,
    /// The node's optimistic figures (the configuration's own at a leaf).
    Open(Figures),
}

/// The running sums of a node: what the variables assigned so far add.
#[derive(Debug, Clone, Copy)]
struct Node {
    /// Fixed charges plus the assigned variables' cost shares.
    cost: f64,
    /// The assigned whole units' latency contributions.
    latency: f64,
    /// The plan's latency with the composite units' assigned functions set, every other
    /// function at its fastest.
    composite: f64,
    /// The assigned options' weights in the Lagrangian relaxation.
    lag: f64,
    /// The composite latency before the composite unit being assigned started.
    unit_start: f64,
    /// The latency parts of the weights of that unit's assigned functions.
    unit_weight: f64,
    /// The assigned options' part of a sum score.
    accuracy: f64,
}

pub(super) struct Search<'p> {
    problem: &'p Problem,
    order: Vec<usize>,
    option_order: Vec<Vec<usize>>,
    /// `min_cost_rest[k]`: the cheapest options of the variables at depth `k` and deeper.
    min_cost_rest: Vec<f64>,
    /// `min_latency_rest[k]`: their smallest latency contributions.
    min_latency_rest: Vec<f64>,
    /// The composite units' assigned functions' durations, every other function's fastest.
    durations: Vec<f64>,
    fastest: Vec<f64>,
    /// The corner: assigned functions' accuracies, the others' highest.
    accuracies: Vec<f64>,
    most_accurate: Vec<f64>,
    pick: Vec<usize>,
    stack: LatencyScratch,
    need: (bool, bool),
    tail_objective: bool,
    pub(super) best: Option<(Vec<usize>, Figures)>,
    pub(super) nodes: u64,
    pub(super) budget: Budget,
    pub(super) aborted: bool,
    /// After an abort: the best objective value of any subtree left unexplored.
    pub(super) open: Option<f64>,
    /// The Lagrangian relaxation, with `lightest_rest[k]`: the lightest options' weights of
    /// the variables at depth `k` and deeper.
    relaxation: Option<(Relaxation, Vec<f64>)>,
    /// The knapsack tables of the relaxation along the search order.
    tables: Vec<Vec<f64>>,
    /// The variable at depth `k` is the first (last) of its composite unit.
    unit_first: Vec<bool>,
    unit_last: Vec<bool>,
    /// Per depth of a composite unit's variable, the depth its unit starts at (on an additive
    /// layout; `None` otherwise, where every latency comes from the plan).
    unit_depth: Vec<Option<usize>>,
    /// A composite unit's contribution `V_c` (its functions assigned so far set, every other
    /// function at its fastest, less the all-fastest latency) by its assigned options: the
    /// depth-first search meets the same partial units under many prefixes, and by additivity
    /// `V_c` does not depend on them. Keys: the unit's first depth, then its options so far.
    unit_cache: std::collections::HashMap<Vec<u32>, f64>,
    key: Vec<u32>,
}

/// Most entries [`Search`]'s unit cache holds (past it, the plan computes the rest).
const UNIT_CACHE: usize = 1 << 20;

impl<'p> Search<'p> {
    pub(super) fn new<'a, S: Scoring<'a>>(
        scoring: &S,
        problem: &'p Problem,
        budget: Budget,
        relaxation: Option<Relaxation>,
        incumbent: Option<(Vec<usize>, Figures)>,
    ) -> Self {
        let space = scoring.space();
        let layout = scoring.layout();
        let corners = bounds::Corners::new(space);
        let (order, mut option_order) = search_order(space, layout, problem);
        let depth = order.len();
        let mut min_cost_rest = vec![0.0; depth + 1];
        let mut min_latency_rest = vec![0.0; depth + 1];
        for k in (0..depth).rev() {
            let v = &layout.vars[order[k]];
            let min =
                |g: fn(&VarOption) -> f64| v.options.iter().map(g).fold(f64::INFINITY, f64::min);
            min_cost_rest[k] = min_cost_rest[k + 1] + min(|o| o.cost);
            min_latency_rest[k] = min_latency_rest[k + 1] + min(|o| o.latency);
        }
        let tables = relaxation
            .as_ref()
            .and_then(|r| {
                r.knapsack
                    .as_ref()
                    .map(|k| k.tables(&order, &r.option_weights))
            })
            .unwrap_or_default();
        let relaxation = relaxation.map(|r| {
            let mut rest = vec![0.0; depth + 1];
            for k in (0..depth).rev() {
                rest[k] = rest[k + 1] + r.lightest[order[k]];
            }
            // Lightest options first: the first dive follows the relaxation's own choice.
            if r.bounds_objective {
                for (w, idx) in r.option_weights.iter().zip(option_order.iter_mut()) {
                    idx.sort_by(|&a, &b| w[a].total_cmp(&w[b]));
                }
            }
            (r, rest)
        });
        let c = problem.constraints;
        let unit = |k: usize| layout.vars[order[k]].composite;
        let unit_first = (0..depth)
            .map(|k| unit(k).is_some() && (k == 0 || unit(k - 1) != unit(k)))
            .collect();
        let unit_last = (0..depth)
            .map(|k| unit(k).is_some() && (k + 1 == depth || unit(k + 1) != unit(k)))
            .collect();
        let mut unit_depth = vec![None; depth];
        if layout.additive {
            for k in 0..depth {
                if unit(k).is_some() && layout.vars[order[k]].functions.len() == 1 {
                    unit_depth[k] = Some(match k {
                        0 => 0,
                        _ if unit(k - 1) == unit(k) => unit_depth[k - 1].unwrap_or(k),
                        _ => k,
                    });
                }
            }
        }
        Search {
            unit_depth,
            unit_cache: std::collections::HashMap::new(),
            key: Vec::new(),
            tables,
            unit_first,
            unit_last,
            problem,
            order,
            option_order,
            min_cost_rest,
            min_latency_rest,
            durations: corners.fastest.clone(),
            fastest: corners.fastest,
            accuracies: corners.most_accurate.clone(),
            most_accurate: corners.most_accurate,
            pick: vec![0; space.options.len()],
            stack: LatencyScratch::default(),
            need: (
                c.max_p95_latency_ms.is_some() || problem.objective == Objective::P95Latency,
                c.max_p99_latency_ms.is_some() || problem.objective == Objective::P99Latency,
            ),
            tail_objective: matches!(
                problem.objective,
                Objective::P95Latency | Objective::P99Latency
            ),
            best: incumbent,
            nodes: 0,
            budget,
            aborted: false,
            open: None,
            relaxation,
        }
    }

    /// A proposed configuration becomes the incumbent when it is one (a pick per function, in
    /// range), meets every limit and beats the incumbent.
    pub(super) fn offer<'a, S: Scoring<'a>>(
        &mut self,
        scoring: &mut S,
        problem: &Problem,
        pick: Option<Vec<usize>>,
    ) {
        let space = scoring.space();
        let Some(pick) = pick.filter(|p| {
            p.len() == space.options.len()
                && p.iter().zip(&space.options).all(|(&i, o)| i < o.len())
        }) else {
            return;
        };
        let t = scoring.evaluate(&pick);
        if admits(&problem.constraints, &t)
            && self
                .best
                .as_ref()
                .is_none_or(|(_, best)| better(problem, &t, best))
        {
            self.best = Some((pick, t));
        }
    }

    pub(super) fn run<'a, S: Scoring<'a>>(&mut self, scoring: &mut S) {
        let root = Node {
            cost: scoring.space().fixed_cost,
            latency: 0.0,
            composite: scoring.layout().fastest_latency,
            lag: 0.0,
            unit_start: scoring.layout().fastest_latency,
            unit_weight: 0.0,
            accuracy: 0.0,
        };
        self.dfs(scoring, 0, root);
    }

    /// The Lagrangian bound of a node (`latency_lb`: its latency bound), and whether it cuts:
    /// no completion meeting the limits beats the incumbent (or, without an objective weight,
    /// meets the limits at all). The bound is in minimisation form (minus the accuracy).
    fn lagrangian(&self, k: usize, node: &Node, cost_express: f64) -> (f64, bool) {
        let Some((r, rest)) = &self.relaxation else {
            return (f64::NEG_INFINITY, false);
        };
        let incumbent = self
            .best
            .as_ref()
            .map(|(_, best)| value(self.problem, best));
        let Some(knapsack) = &r.knapsack else {
            let lb = r.bound(node.lag, rest[k + 1], cost_express);
            let limit = match incumbent {
                Some(v) if r.bounds_objective => {
                    if maximize(self.problem) {
                        -v
                    } else {
                        v
                    }
                }
                None if r.bounds_objective => f64::INFINITY,
                _ => 0.0,
            };
            let slack = 1e-9 * (limit.abs().min(1e300) + r.constant.abs() + 1.0);
            return (lb, lb >= limit + slack);
        };
        let table = &self.tables[k + 1];
        let need = knapsack
            .need
            .map_or(0, |a| knapsack.steps(a - node.accuracy));
        let base = r.bound(node.lag, 0.0, cost_express);
        let Some(&lightest) = table.get(need) else {
            return (f64::INFINITY, true);
        };
        let slack = 1e-9 * (base.abs() + r.constant.abs() + 1.0);
        if !knapsack.objective {
            let lb = base + lightest;
            let limit = match incumbent {
                Some(v) if r.bounds_objective => v,
                None if r.bounds_objective => f64::INFINITY,
                _ => 0.0,
            };
            return (lb, lb >= limit + slack);
        }
        // The accuracy objective: the most accurate level whose lightest completion keeps the
        // limits' slack non-positive.
        if base + lightest > slack {
            return (f64::INFINITY, true);
        }
        let (mut lo, mut hi) = (need, table.len() - 1);
        while lo < hi {
            let mid = (lo + hi).div_ceil(2);
            if base + table[mid] <= slack {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        let upper = knapsack.constant + node.accuracy + lo as f64 * knapsack.delta;
        let upper = upper + 1e-9 * upper.abs().max(1.0);
        let cut = incumbent.is_some_and(|v| upper <= v);
        (-upper, cut)
    }

    /// Variable `order[k]` takes option `i` below node `at`: the child node and its bounds,
    /// checked against every limit and the incumbent. Leaves `durations`, `accuracies` and the
    /// scoring set to `i`.
    fn trial<'a, S: Scoring<'a>>(
        &mut self,
        scoring: &mut S,
        k: usize,
        i: usize,
        at: Node,
    ) -> (Trial, Node) {
        let layout = scoring.layout();
        let v = &layout.vars[self.order[k]];
        let o = &v.options[i];
        let space = scoring.space();
        let c = &self.problem.constraints;
        let var = self.order[k];
        let mut node = Node {
            cost: at.cost + o.cost,
            latency: at.latency + o.latency,
            composite: at.composite,
            lag: at.lag
                + self
                    .relaxation
                    .as_ref()
                    .map_or(0.0, |(r, _)| r.option_weights[var][i]),
            unit_start: at.unit_start,
            unit_weight: at.unit_weight,
            accuracy: at.accuracy + o.accuracy,
        };
        for (&f, &p) in v.functions.iter().zip(&o.picks) {
            let x = &space.options[f][p];
            self.accuracies[f] = x.accuracy;
            if !v.enumerated {
                self.durations[f] = x.duration_ms;
            }
        }
        let mut cost_lb = node.cost + self.min_cost_rest[k + 1];
        if c.max_cost_usd_per_million
            .is_some_and(|b| cost_lb > b + tol(b))
        {
            return (Trial::Cut, node);
        }
        if !v.enumerated {
            if self.unit_first[k] {
                node.unit_start = at.composite;
                node.unit_weight = 0.0;
            }
            node.composite = match self.unit_depth[k] {
                Some(start) => {
                    // `V_c` of the unit's options so far, from the cache or the plan.
                    self.key.clear();
                    self.key.push(start as u32);
                    for j in start..k {
                        let f = layout.vars[self.order[j]].functions[0];
                        self.key.push(self.pick[f] as u32);
                    }
                    self.key.push(o.picks[0] as u32);
                    let v = match self.unit_cache.get(&self.key[..]) {
                        Some(&v) => v,
                        None => {
                            // The plan's latency less the units completed before (additivity).
                            let v =
                                space.latency(&self.durations, &mut self.stack) - node.unit_start;
                            if self.unit_cache.len() < UNIT_CACHE {
                                self.unit_cache.insert(self.key.clone(), v);
                            }
                            v
                        }
                    };
                    node.unit_start + v
                }
                None => space.latency(&self.durations, &mut self.stack),
            };
            if let (Some((r, _)), Some(c)) = (&self.relaxation, v.composite) {
                node.unit_weight += r.latency_weights[var][i];
                if self.unit_last[k] {
                    // The unit is complete: its exact contribution replaces its linear bound.
                    let exact = node.composite - node.unit_start;
                    node.lag +=
                        r.latency_weight * exact - node.unit_weight - r.composite_constants[c];
                }
            }
        }
        let latency_lb = node.latency + self.min_latency_rest[k + 1] + node.composite;
        if c.max_latency_ms.is_some_and(|l| latency_lb > l + tol(l)) {
            return (Trial::Cut, node);
        }
        // The Express duration charge is non-decreasing in the latency: on the latency's lower
        // bound it bounds the charge from below (exact once every function is assigned).
        let express = space.latency_cost(latency_lb);
        cost_lb += express;
        if c.max_cost_usd_per_million
            .is_some_and(|b| cost_lb > b + tol(b))
        {
            return (Trial::Cut, node);
        }
        let accuracy_ub = space.app.score.evaluate(&self.accuracies);
        if c.min_accuracy.is_some_and(|a| accuracy_ub < a - tol(a)) {
            return (Trial::Cut, node);
        }
        let mut bound = Figures::expected(Metrics {
            latency_ms: latency_lb,
            cost_usd_per_million: cost_lb,
            accuracy: accuracy_ub,
        });
        if !self.tail_objective
            && let Some((_, best)) = &self.best
            && !better(self.problem, &bound, best)
        {
            return (Trial::Cut, node);
        }
        let (lagrangian, cut) = self.lagrangian(k, &node, express);
        if cut {
            return (Trial::Cut, node);
        }
        // The relaxation's bound on the objective tightens the node's (for the certified bound
        // of an unfinished search).
        if let Some((r, _)) = &self.relaxation
            && r.bounds_objective
            && k + 1 < self.order.len()
        {
            match self.problem.objective {
                Objective::Latency => bound.metrics.latency_ms = latency_lb.max(lagrangian),
                Objective::Cost => bound.metrics.cost_usd_per_million = cost_lb.max(lagrangian),
                Objective::Accuracy => bound.metrics.accuracy = accuracy_ub.min(-lagrangian),
                _ => {}
            }
        }
        if self.need.0 || self.need.1 {
            let functions = v.functions.clone();
            let picks = o.picks.clone();
            for (&f, &p) in functions.iter().zip(&picks) {
                scoring.set(f, Some(p));
            }
            // The objective's percentile cannot beat the incumbent: cut, often after a few of
            // the scenarios (the same cut as below, decided sooner).
            if self.tail_objective
                && let Some((_, best)) = &self.best
                && scoring.percentile_at_least(
                    self.problem.objective == Objective::P99Latency,
                    value(self.problem, best),
                )
            {
                return (Trial::Cut, node);
            }
            (bound.p95_ms, bound.p99_ms) = scoring.percentiles(self.need.0, self.need.1);
            if !admits(c, &bound) {
                return (Trial::Cut, node);
            }
            if self.tail_objective
                && let Some((_, best)) = &self.best
                && !better(self.problem, &bound, best)
            {
                return (Trial::Cut, node);
            }
        }
        (Trial::Open(bound), node)
    }

    /// Puts variable `order[k]`'s functions back at their corner.
    fn reset<'a, S: Scoring<'a>>(&mut self, scoring: &mut S, k: usize) {
        let var = self.order[k];
        let functions = scoring.layout().vars[var].functions.clone();
        for f in functions {
            scoring.set(f, None);
            self.durations[f] = self.fastest[f];
            self.accuracies[f] = self.most_accurate[f];
        }
    }

    /// The order to try variable `order[k]`'s options in below node `at`: with the knapsack
    /// tables, by the lightest completion each option leaves (the first dive follows the
    /// relaxation's own answer); otherwise the static order.
    fn options_at<'a, S: Scoring<'a>>(&self, scoring: &S, k: usize, at: &Node) -> Vec<usize> {
        let var = self.order[k];
        let mut idx = self.option_order[var].clone();
        if let Some((r, _)) = &self.relaxation
            && let Some(knapsack) = &r.knapsack
            && !knapsack.objective
            && r.bounds_objective
        {
            let options = &scoring.layout().vars[var].options;
            let table = &self.tables[k + 1];
            let key = |i: usize| -> f64 {
                let need = knapsack
                    .need
                    .map_or(0, |a| knapsack.steps(a - at.accuracy - options[i].accuracy));
                r.option_weights[var][i] + table.get(need).copied().unwrap_or(f64::INFINITY)
            };
            let keys: Vec<f64> = (0..options.len()).map(key).collect();
            idx.sort_by(|&a, &b| keys[a].total_cmp(&keys[b]));
        }
        idx
    }

    fn dfs<'a, S: Scoring<'a>>(&mut self, scoring: &mut S, k: usize, at: Node) {
        let depth = self.order.len();
        let var = self.order[k];
        let here = self.options_at(scoring, k, &at);
        for (idx, &i) in here.iter().enumerate() {
            if self.nodes >= self.budget.nodes {
                self.aborted = true;
                self.note_open(scoring, k, &here[idx..], at);
                break;
            }
            self.nodes += 1;
            let (Trial::Open(bound), node) = self.trial(scoring, k, i, at) else {
                continue;
            };
            let v = &scoring.layout().vars[var];
            for (&f, &p) in v.functions.iter().zip(&v.options[i].picks) {
                self.pick[f] = p;
            }
            if k + 1 == depth {
                // Every function is assigned: the bounds are the configuration's figures, and
                // it passed every limit and beats the incumbent.
                self.best = Some((self.pick.clone(), bound));
            } else {
                self.dfs(scoring, k + 1, node);
                if self.aborted {
                    // The subtree below noted its open nodes; the later options here are open.
                    self.note_open(scoring, k, &here[idx + 1..], at);
                    break;
                }
            }
        }
        self.reset(scoring, k);
    }

    /// The search stopped before trying options `rest` of depth `k`: their bounds join the
    /// certified bound of the unexplored part.
    fn note_open<'a, S: Scoring<'a>>(
        &mut self,
        scoring: &mut S,
        k: usize,
        rest: &[usize],
        at: Node,
    ) {
        let maximize = maximize(self.problem);
        for &i in rest {
            if let (Trial::Open(b), _) = self.trial(scoring, k, i, at) {
                let v = value(self.problem, &b);
                self.open = Some(match self.open {
                    Some(o) if maximize => o.max(v),
                    Some(o) => o.min(v),
                    None => v,
                });
            }
        }
    }
}
