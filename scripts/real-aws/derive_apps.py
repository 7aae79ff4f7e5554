#!/usr/bin/env python3
"""Derive optiserve's real-AWS fixtures from Lin & Khazaei's public measurements.

Source: pacslab/SLApp-PerfCost-MdlOpt (MIT licence), the data behind C. Lin and H. Khazaei,
"Modeling and Optimization of Performance and Cost of Serverless Applications", IEEE TPDS 32(3),
2021 (online 2020). Its folder `evaluations/model/` holds five AWS Step Functions (Express)
applications, App8 ... App16, each executed 3,600 times in us-east-2 in January 2020, with the
Lambda REPORT lines and the Step Functions start/end times of every execution.

This script reads that repository from a local bare git mirror (`git show <commit>:<path>`, at
the pinned commit below; nothing is downloaded) and (re)writes, deterministically:

  tests/fixtures/real-aws/appN.bundle.json    optiserve bundles (N = 8, 10, 12, 14, 16)
  tests/fixtures/real-aws/appN.measured.json  what AWS measured, and what the paper's model said
  tests/fixtures/real-aws/orchestration.json  Step Functions overhead estimated from the logs
  tests/fixtures/real-aws/README.md           how each number was derived, with the results

The README is generated too: every number in it comes from this script. It is our own code (it does not reuse the paper's), needs only python3's standard
library, and is NOT run in CI: the fixtures it writes are committed.

    python3 scripts/real-aws/derive_apps.py [--mirror PATH] [--out DIR]
"""

import argparse
import ast
import bisect
import csv
import datetime
import io
import json
import math
import os
import re
import subprocess
import sys

COMMIT = "4173c9823edd42049b7e7074f370a9e97bcf17d9"
DEFAULT_MIRROR = "/work/.mirror/pacslab+SLApp-PerfCost-MdlOpt/repo"
REPO = "pacslab/SLApp-PerfCost-MdlOpt"
APPS = [8, 10, 12, 14, 16]
BINS = 200
# The notebooks keep executions 60..659 of each 720-execution period (5 periods): 3,000 of 3,600.
PERIODS, PER_PERIOD, SKIP, KEEP = 5, 720, 60, 600
# Lambda prices of January 2020 (us-east-2 = us-east-1 prices), x86_64.
PRICE_GB_S = 0.0000166667
PRICE_REQUEST = 0.0000002
GRANULARITY_MS = 100.0
# Step Functions Express prices of 2020, only to size what the paper left out of its cost.
EXPRESS_PER_REQUEST = 1.0 / 1_000_000
EXPRESS_PER_GB_S = 0.00001667
EXPRESS_MEMORY_MB = 64.0


# ----------------------------------------------------------------------------------- reading


class Mirror:
    def __init__(self, path, commit):
        self.path, self.commit = path, commit
        head = self.git("rev-parse", commit).strip()
        if head != commit:
            sys.exit(f"{path}: commit {commit} resolves to {head}")

    def git(self, *args):
        return subprocess.run(
            ["git", "-C", self.path, *args], check=True, capture_output=True, text=True
        ).stdout

    def show(self, path):
        return self.git("show", f"{self.commit}:{path}")


def app_dir(n):
    return f"evaluations/model/App{n}"


def read_csv(text):
    return list(csv.DictReader(io.StringIO(text)))


def notebook_cells(text):
    nb = json.loads(text)
    cells = []
    for c in nb["cells"]:
        out = []
        for o in c.get("outputs", []):
            if "text" in o:
                out.append("".join(o["text"]))
            elif "data" in o and "text/plain" in o["data"]:
                out.append("".join(o["data"]["text/plain"]))
        cells.append(("".join(c["source"]), "".join(out)))
    return cells


def parse_notebook(n, text):
    """The memory sizes, the workflow graph, the pricing table and the printed per-function
    statistics of AppN's notebook (read from its source and saved outputs, never executed)."""
    cells = notebook_cells(text)
    got = {}
    for src, out in cells:
        if src.startswith("mem_config_list={"):
            got["memory"] = ast.literal_eval(src.split("=", 1)[1])
        if src.startswith("pricing_model={"):
            got["pricing_model"] = ast.literal_eval(src.split("=", 1)[1].strip())
        if f"App{n}_G.add_weighted_edges_from" in src:
            edges = []
            for lst in re.findall(r"add_weighted_edges_from\((\[.*?\])\)", src):
                edges += ast.literal_eval(lst)
            got["edges"] = [(node_name(a), node_name(b), float(p)) for a, b, p in edges]
        if src.startswith("execution_start_index = "):
            got["trim"] = src
        if "print(function_duration_dict)" in src:
            lines = out.splitlines()
            got["paper_mean_ms"] = ast.literal_eval(lines[1])
            got["paper_counts"] = ast.literal_eval(lines[3])
        if f"App{n}.update_NE()" in src:
            lines = out.splitlines()
            got["paper_ne"] = {
                node_name(k): v for k, v in ast.literal_eval(lines[1]).items()
            }
    want = (f"execution_start_index = [{SKIP} + {PER_PERIOD}*i for i in range({PERIODS})]\n"
            f"execution_end_index = [item + {KEEP} for item in execution_start_index]")
    if got.get("trim") != want:
        sys.exit(f"App{n}: the notebook trims executions differently: {got.get('trim')!r}")
    return got


def node_name(x):
    return x if isinstance(x, str) else f"f{x}"


# ------------------------------------------------------------------------------ ASL structure
#
# The state machine is turned into a tree: Task(f), Ctrl (a Choice/Pass/Parallel state entered
# without running a function), Seq, Par (a Parallel state: all arms), Alt (a Choice with forward
# arms: one arm) and Loop (a Choice that jumps back: the body repeats). Inputs are drawn uniformly
# from 1..100 (np.random.randint(1, 101) in the notebooks), so a rule `x <= t` holds with
# probability t/100: that is the probability the state machine itself implies.


class Node:
    def __init__(self, kind, **kw):
        self.kind = kind
        self.__dict__.update(kw)


def rule_probability(rule):
    ops = [k for k in rule if k.startswith("Numeric")]
    if len(ops) != 1:
        raise ValueError(f"unsupported Choice rule {rule}")
    t = rule[ops[0]]
    p = {
        "NumericLessThanEquals": t / 100,
        "NumericLessThan": (t - 1) / 100,
        "NumericGreaterThan": (100 - t) / 100,
        "NumericGreaterThanEquals": (101 - t) / 100,
    }[ops[0]]
    return min(max(p, 0.0), 1.0)


def choice_targets(st):
    """[(target, probability)] of a Choice state, rules first, then its Default."""
    out, total = [], 0.0
    for rule in st["Choices"]:
        p = rule_probability(rule)
        out.append((rule["Next"], p))
        total += p
    if "Default" in st:
        out.append((st["Default"], max(0.0, 1.0 - total)))
    merged = {}
    for t, p in out:
        merged[t] = merged.get(t, 0.0) + p
    return [(t, round(p, 12)) for t, p in merged.items() if p > 1e-12]


def mainline(states, name, avoid):
    """States met from `name` following Next and, at a Choice, its first target not yet seen and
    not in `avoid` (the states of the enclosing sequences: jumping there is a loop's back edge)."""
    seen = []
    while name is not None and name not in seen and name not in avoid:
        seen.append(name)
        st = states[name]
        if st["Type"] == "Choice":
            nxt = [t for t, _ in choice_targets(st) if t not in seen and t not in avoid]
            name = nxt[0] if nxt else None
        else:
            name = None if st.get("End") else st.get("Next")
    return seen


def task_id(st):
    return st["Resource"].split(":")[-1].split("_", 1)[1]


def walk(states, name, stop, outer=frozenset()):
    seq, index_of = [], {}
    while name is not None and name != stop:
        st = states[name]
        t = st["Type"]
        nxt = None if st.get("End") else st.get("Next")
        if t == "Task":
            index_of[name] = len(seq)
            seq.append(Node("task", f=task_id(st)))
        elif t == "Pass":
            index_of[name] = len(seq)
            seq.append(Node("ctrl", state="pass", name=name, pred=None))
        elif t == "Parallel":
            index_of[name] = len(seq)
            arms = [walk(b["States"], b["StartAt"], None) for b in st["Branches"]]
            seq.append(Node("par", name=name, arms=arms))
        elif t == "Choice":
            targets = choice_targets(st)
            if any(tg in outer for tg, _ in targets):
                raise ValueError(f"{name}: a loop back to an enclosing sequence is not supported")
            back = [(tg, p) for tg, p in targets if tg in index_of]
            fwd = [(tg, p) for tg, p in targets if tg not in index_of]
            pred = seq[-1].f if seq and seq[-1].kind == "task" else None
            ctrl = Node("ctrl", state="choice", name=name, pred=pred)
            if back:
                if len(back) != 1 or len(fwd) != 1:
                    raise ValueError(f"{name}: unsupported loop shape {targets}")
                at = index_of[back[0][0]]
                body = Node("seq", items=seq[at:] + [ctrl])
                del seq[at:]
                for k in list(index_of):
                    if index_of[k] >= at:
                        index_of[k] = at
                index_of[name] = at
                seq.append(Node("loop", body=body, p=back[0][1], choice=name, pred=pred))
                name = fwd[0][0]
                continue
            avoid = outer | set(index_of) | {name}
            lines = [mainline(states, tg, avoid) for tg, _ in fwd]
            merge = next((s for s in lines[0] if all(s in ln for ln in lines[1:])), None)
            arms = [walk(states, tg, merge, avoid) for tg, _ in fwd]
            index_of[name] = len(seq)
            seq.append(Node("alt", ctrl=ctrl, arms=arms, probs=[p for _, p in fwd]))
            name = merge
            continue
        else:
            raise ValueError(f"unsupported state type {t}")
        name = nxt
    return Node("seq", items=seq)


def asl_tree(text):
    asl = json.loads(text)
    return walk(asl["States"], asl["StartAt"], None)


def tasks_in(node):
    k = node.kind
    if k == "task":
        return [node.f]
    if k == "ctrl":
        return []
    if k == "seq":
        return [f for it in node.items for f in tasks_in(it)]
    if k in ("par", "alt"):
        return [f for a in node.arms for f in tasks_in(a)]
    if k == "loop":
        return tasks_in(node.body)
    raise ValueError(k)


def ctrls_in(node):
    k = node.kind
    if k == "task":
        return []
    if k == "ctrl":
        return [node]
    if k == "seq":
        return [c for it in node.items for c in ctrls_in(it)]
    if k == "par":
        return [Node("ctrl", state="parallel", name=node.name, pred=None)] + [
            c for a in node.arms for c in ctrls_in(a)
        ]
    if k == "alt":
        return [node.ctrl] + [c for a in node.arms for c in ctrls_in(a)]
    if k == "loop":
        return ctrls_in(node.body)
    raise ValueError(k)


# Edges in the thesis-artifact convention, from the tree. entries/exits are [(function, q)]:
# the probability that entering (leaving) the block goes through that function.


def tree_edges(node):
    """(entries, exits, edges) with edges [(from, to, p, kind, info)]."""
    k = node.kind
    if k == "task":
        return [(node.f, 1.0)], [(node.f, 1.0)], []
    if k == "ctrl":
        return None, None, []
    if k == "seq":
        entries = exits = None
        edges = []
        for it in node.items:
            en, ex, ed = tree_edges(it)
            edges += ed
            if en is None:
                continue
            if exits is None:
                entries = en
            else:
                edges += [
                    (a, b, qa * qb, "seq" if qa * qb >= 1 else ("exit" if qa < 1 else "branch"), None)
                    for a, qa in exits
                    for b, qb in en
                ]
            exits = ex
        return entries, exits, edges
    if k == "par":
        en, ex, ed = [], [], []
        for a in node.arms:
            e1, e2, e3 = tree_edges(a)
            en += e1 or []
            ex += e2 or []
            ed += e3
        return en, ex, ed
    if k == "alt":
        en, ex, ed = [], [], []
        for a, p in zip(node.arms, node.probs):
            e1, e2, e3 = tree_edges(a)
            en += [(f, q * p) for f, q in e1]
            ex += e2
            ed += e3
        return en, ex, ed
    if k == "loop":
        en, ex, ed = tree_edges(node.body)
        ed = ed + [(a, b, qa * node.p * qb, "back", node.choice) for a, qa in ex for b, qb in en]
        return en, [(f, q * (1 - node.p)) for f, q in ex], ed
    raise ValueError(k)


def asl_edges(tree):
    en, ex, ed = tree_edges(tree)
    ed = [("Start", b, q, "seq", None) for b, q in en] + ed + [(a, "End", q, "seq", None) for a, q in ex]
    return [(a, b, round(p, 10), kind, info) for a, b, p, kind, info in ed]


# --------------------------------------------------------------------------------- statistics


def quantile(sorted_xs, q):
    """Linear interpolation between order statistics (Hyndman-Fan type 7, numpy's default)."""
    n = len(sorted_xs)
    h = (n - 1) * q
    lo = math.floor(h)
    hi = min(lo + 1, n - 1)
    return sorted_xs[lo] + (h - lo) * (sorted_xs[hi] - sorted_xs[lo])


def mean(xs):
    return math.fsum(xs) / len(xs)


def summary(xs):
    s = sorted(xs)
    return {
        "mean": r2(mean(s)),
        "p50": r2(quantile(s, 0.50)),
        "p95": r2(quantile(s, 0.95)),
        "p99": r2(quantile(s, 0.99)),
        "min": r2(s[0]),
        "max": r2(s[-1]),
        "sd": r2(math.sqrt(math.fsum((x - mean(s)) ** 2 for x in s) / (len(s) - 1))),
    }


def r2(x):
    return round(x + 0.0, 2)


def equal_probability_bins(values, bins):
    """`bins` bins of probability 1/bins each over the empirical distribution; an observation on a
    boundary is split between its two bins, so every bin has exactly the same mass and the mean of
    the bin means is the sample mean. Returns each bin's mean for every column of `values`
    (a list of tuples sorted by their first column)."""
    n = len(values)
    cols = len(values[0])
    out = []
    # Work in units of 1/(n*bins): observation i spans [i*bins, (i+1)*bins), bin j [j*n, (j+1)*n).
    i = 0
    for j in range(bins):
        lo, hi = j * n, (j + 1) * n
        acc = [0.0] * cols
        while i < n:
            a, b = max(i * bins, lo), min((i + 1) * bins, hi)
            if b > a:
                for c in range(cols):
                    acc[c] += values[i][c] * (b - a)
            if (i + 1) * bins <= hi:
                i += 1
            else:
                break
        out.append(tuple(x / n for x in acc))
    return out


def ols(rows, ys):
    """Least squares with an intercept column already in `rows`; returns (beta, se, r2, sd, bic)."""
    k, n = len(rows[0]), len(rows)
    xtx = [[math.fsum(r[a] * r[b] for r in rows) for b in range(k)] for a in range(k)]
    xty = [math.fsum(r[a] * y for r, y in zip(rows, ys)) for a in range(k)]
    inv = invert(xtx)
    beta = [math.fsum(inv[a][b] * xty[b] for b in range(k)) for a in range(k)]
    res = [y - math.fsum(b * x for b, x in zip(beta, r)) for r, y in zip(rows, ys)]
    rss = math.fsum(e * e for e in res)
    my = mean(ys)
    tss = math.fsum((y - my) ** 2 for y in ys)
    s2 = rss / (n - k)
    se = [math.sqrt(max(inv[a][a] * s2, 0.0)) for a in range(k)]
    bic = n * math.log(rss / n) + k * math.log(n)
    return beta, se, (1 - rss / tss) if tss > 0 else float("nan"), math.sqrt(s2), bic, res


def invert(m):
    k = len(m)
    a = [row[:] + [1.0 if i == j else 0.0 for j in range(k)] for i, row in enumerate(m)]
    for c in range(k):
        p = max(range(c, k), key=lambda r: abs(a[r][c]))
        if abs(a[p][c]) < 1e-12:
            raise ValueError("singular design: the regressors are collinear")
        a[c], a[p] = a[p], a[c]
        piv = a[c][c]
        a[c] = [x / piv for x in a[c]]
        for r in range(k):
            if r != c and a[r][c] != 0.0:
                f = a[r][c]
                a[r] = [x - f * y for x, y in zip(a[r], a[c])]
    return [row[k:] for row in a]


# ------------------------------------------------------------------------- executions and paths


def trimmed_indices():
    return [p * PER_PERIOD + SKIP + i for p in range(PERIODS) for i in range(KEEP)]


def assign_reports(sfn, lam):
    """Each REPORT line goes to the executions whose window [Start-1, End+1] s holds its
    timestamp (the notebooks' rule; the log timestamps were truncated to whole seconds). Returns
    per execution the list of line indices, and the lines that fell in more than one window."""
    starts = [s for s, _ in sfn]
    per_exec = [[] for _ in sfn]
    multi = []
    order = sorted(range(len(starts)), key=lambda i: starts[i])
    assert order == list(range(len(starts)))
    for li, row in enumerate(lam):
        t = row["t"]
        hits = []
        j = bisect.bisect_right(starts, t + 1) - 1
        while j >= 0 and starts[j] >= t - 60:
            if sfn[j][0] - 1 <= t <= sfn[j][1] + 1:
                hits.append(j)
            j -= 1
        for h in hits:
            per_exec[h].append(li)
        if len(hits) > 1:
            multi.append(li)
    return per_exec, multi


def repair_pairs(sfn, lam, per_exec):
    """The notebooks sorted start and end times separately, so when a slow execution ends after a
    later one, the two ends are swapped. For each cluster of overlapping executions, keep the
    pairing under which every REPORT line fits in an execution that was running for the whole
    invocation ([t - Duration, t] with t known to the second)."""
    swaps = []
    n = len(sfn)
    i = 0
    while i < n - 1:
        if sfn[i][1] + 1 < sfn[i + 1][0] - 1:
            i += 1
            continue
        j = i + 1
        while j < n - 1 and sfn[j][1] + 1 >= sfn[j + 1][0] - 1:
            j += 1
        cluster = list(range(i, j + 1))
        lines = sorted({li for c in cluster for li in per_exec[c]})
        ends = [sfn[c][1] for c in cluster]
        best = None
        for perm in permutations(ends):
            if any(e < sfn[c][0] for c, e in zip(cluster, perm)):
                continue
            bad = 0
            for li in lines:
                t, d = lam[li]["t"], lam[li]["duration"] / 1000
                ok = any(
                    max(t, sfn[c][0] + d) <= min(t + 1, e) + 1e-9 for c, e in zip(cluster, perm)
                )
                bad += not ok
            key = (bad, list(perm) != ends)
            if best is None or key < best[0]:
                best = (key, perm)
        if list(best[1]) != ends:
            swaps.append({"executions": cluster, "ends": list(best[1]), "misfit_lines": best[0][0],
                          "changed": [c for c, e, e0 in zip(cluster, best[1], ends) if e != e0]})
        i = j + 1
    return swaps


def permutations(xs):
    if len(xs) <= 1:
        yield list(xs)
        return
    for k in range(len(xs)):
        for rest in permutations(xs[:k] + xs[k + 1 :]):
            yield [xs[k]] + rest


def realize(node, inv, coef, ran=True):
    """The critical path of one execution through `node`: its Lambda time and the states entered
    on it, by kind. `inv` maps function -> list of durations (ms); `coef` weighs the states when
    choosing the slowest arm of a parallel block. Returns None when the execution does not fit the
    structure (a missing or extra REPORT line)."""
    k = node.kind
    if k == "task":
        d = inv.get(node.f, [])
        if len(d) != 1:
            return None
        return {"lambda": d[0], "task": 1, "choice": 0, "pass": 0, "parallel": 0}
    if k == "ctrl":
        return {"lambda": 0.0, "task": 0, "choice": int(node.state == "choice"),
                "pass": int(node.state == "pass"), "parallel": 0}
    if k == "seq":
        acc = {"lambda": 0.0, "task": 0, "choice": 0, "pass": 0, "parallel": 0}
        for it in node.items:
            r = realize(it, inv, coef)
            if r is None:
                return None
            for key in acc:
                acc[key] += r[key]
        return acc
    if k == "par":
        best = None
        for a in node.arms:
            r = realize(a, inv, coef)
            if r is None:
                return None
            w = r["lambda"] + sum(coef.get(key, 0.0) * r[key] for key in coef)
            if best is None or w > best[0]:
                best = (w, r)
        r = dict(best[1])
        r["parallel"] += 1
        return r
    if k == "alt":
        ran_arms = [a for a in node.arms if any(inv.get(f) for f in tasks_in(a))]
        if len(ran_arms) != 1:
            return None
        r = realize(ran_arms[0], inv, coef)
        if r is None:
            return None
        r = dict(r)
        r["choice"] += 1
        return r
    if k == "loop":
        # The body is sequential: the whole loop takes the sum of its invocations, and each Choice
        # in it is entered once per invocation of the function before it.
        if any(c.state != "choice" for c in ctrls_in(node.body)):
            return None
        fs = tasks_in(node.body)
        if any(x.kind == "par" for x in node.body.items):
            return None
        iters = len(inv.get(node.pred, []))
        direct = [x.f for x in node.body.items if x.kind == "task"]
        if iters < 1 or any(len(inv.get(f, [])) != iters for f in direct):
            return None
        for x in node.body.items:
            if x.kind == "alt":
                firsts = [a.items[0].f for a in x.arms if a.items and a.items[0].kind == "task"]
                if sum(len(inv.get(f, [])) for f in firsts) != iters:
                    return None
                for arm in x.arms:
                    # the functions straight in an arm run equally often; a loop in the arm runs at
                    # least once per entry, its own functions equally often
                    direct_arm = [len(inv.get(y.f, [])) for y in arm.items if y.kind == "task"]
                    if len(set(direct_arm)) > 1:
                        return None
                    for y in arm.items:
                        if y.kind == "loop":
                            k = len(inv.get(y.pred, []))
                            if k < (direct_arm[0] if direct_arm else 0):
                                return None
                            if any(len(inv.get(z.f, [])) != k for z in y.body.items if z.kind == "task"):
                                return None
        return {
            "lambda": math.fsum(d for f in fs for d in inv.get(f, [])),
            "task": sum(len(inv.get(f, [])) for f in fs),
            "choice": sum(len(inv.get(c.pred, [])) for c in ctrls_in(node.body)),
            "pass": 0,
            "parallel": 0,
        }
    raise ValueError(k)


def loop_entries(tree):
    """For every loop: its Choice, the function that Choice follows, where it jumps back to, and
    what enters it: the task just before it in its sequence (once per invocation of that task),
    or else the sequence's context: once per execution ("top") or once per run of the enclosing
    parallel or branch arm ("arm", the arm's functions)."""
    out = []

    def go(node, ctx):
        k = node.kind
        if k == "seq":
            prev = None
            for it in node.items:
                if it.kind == "loop":
                    if prev is None and ctx[0] == "inloop":
                        raise ValueError("a loop at the start of a loop body is not supported")
                    first = next(x for x in it.body.items if x.kind == "task").f
                    out.append({"choice": it.choice, "from": it.pred, "back_to": first,
                                "p": it.p, "entered_after": prev if prev else ctx})
                    go(it.body, ("inloop",))
                else:
                    go(it, ctx)
                if it.kind == "task":
                    prev = it.f
                elif it.kind != "ctrl":
                    prev = None
        elif k in ("par", "alt"):
            for a in node.arms:
                go(a, ("arm", tasks_in(a)))

    go(tree, ("top",))
    return out


def branch_groups(tree):
    out = []

    def go(node):
        k = node.kind
        if k == "seq":
            for it in node.items:
                go(it)
        elif k == "par":
            for a in node.arms:
                go(a)
        elif k == "alt":
            firsts = []
            for a in node.arms:
                t = next(x for x in a.items if x.kind == "task")
                firsts.append(t.f)
            out.append({"choice": node.ctrl.name, "from": node.ctrl.pred, "arms": firsts,
                        "probs": node.probs})
            for a in node.arms:
                go(a)
        elif k == "loop":
            go(node.body)

    go(tree)
    return out


def edge_frequencies(tree, edges_out, executions, notebook_p):
    """Observed frequencies of every probabilistic edge over the executions given as
    {function: invocations}; loop exits go to the edge's target in `edges_out`."""
    freq = []
    for g in branch_groups(tree):
        taken = [sum(e.get(f, 0) for e in executions) for f in g["arms"]]
        out_of = sum(e.get(g["from"], 0) for e in executions)
        freq.append({
            "state": g["choice"], "kind": "branch", "from": g["from"], "out_of": out_of,
            "edges": [{"to": f, "taken": t, "frequency": round(t / out_of, 4),
                       "paper_probability": notebook_p.get((g["from"], f)), "asl_probability": p}
                      for f, t, p in zip(g["arms"], taken, g["probs"])],
            "sum_check": sum(taken) == out_of,
        })
    for lp in loop_entries(tree):
        x = lp["from"]
        after = lp["entered_after"]
        departures = sum(e.get(x, 0) for e in executions)
        if isinstance(after, str):
            entered = sum(e.get(after, 0) for e in executions)
        elif after[0] == "top":
            entered = len(executions)
        else:  # first in an arm: once per execution in which the arm ran
            entered = sum(1 for e in executions if any(e.get(f, 0) for f in after[1]))
        exit_to = [b for a, b, p, kind, info in edges_out if a == x and kind in ("exit",)]
        exit_to = exit_to[0] if exit_to else "End"
        freq.append({
            "state": lp["choice"], "kind": "self-loop" if x == lp["back_to"] else "loop",
            "from": x, "out_of": departures,
            "edges": [
                {"to": lp["back_to"], "taken": departures - entered,
                 "frequency": round((departures - entered) / departures, 4),
                 "paper_probability": notebook_p.get((x, lp["back_to"])), "asl_probability": lp["p"]},
                {"to": exit_to, "taken": entered,
                 "frequency": round(entered / departures, 4),
                 "paper_probability": notebook_p.get((x, exit_to)), "asl_probability": round(1 - lp["p"], 10)},
            ],
        })
    return freq


# ------------------------------------------------------------------------------------ per app


def derive_app(mirror, n):
    d = app_dir(n)
    nb = parse_notebook(n, mirror.show(f"{d}/App{n}.ipynb"))
    asl_text = mirror.show(f"{d}/App{n}.json")
    tree = asl_tree(asl_text)
    sfn = [(float(r["Start"]), float(r["End"])) for r in read_csv(mirror.show(f"{d}/App{n}_SFN_Logs.csv"))]
    lam = []
    for r in read_csv(mirror.show(f"{d}/App{n}_Lambda_Logs.csv")):
        lam.append({
            "f": r["Function"], "memory": int(r["Memory Size"]), "duration": float(r["Duration"]),
            "billed": float(r["Billed Duration"]), "t": float(r["UTCTimestamp"]),
            "max_memory": int(r["Max Memory Used"]),
        })
    dur_csv = [(int(r[""]), float(r["Duration"])) for r in read_csv(mirror.show(f"{d}/App{n}_Duration_AWS.csv"))]
    cost_csv = [(int(r[""]), float(r["1M_Exe_Cost"])) for r in read_csv(mirror.show(f"{d}/App{n}_Cost_AWS.csv"))]
    results = json.loads(mirror.show(f"{d}/results.json"))

    functions = sorted(nb["memory"], key=lambda f: int(f[1:]))
    if functions != [f"f{i}" for i in range(1, n + 1)]:
        sys.exit(f"App{n}: unexpected functions {functions}")

    # --- the graph: notebook vs state machine
    paper_edges = sorted((a, b, round(p, 10)) for a, b, p in nb["edges"])
    asl_e = asl_edges(tree)
    asl_set = sorted((a, b, p) for a, b, p, _, _ in asl_e)
    graph_check = {
        "notebook_edges": len(paper_edges),
        "asl_edges": len(asl_set),
        "identical": paper_edges == asl_set,
        "only_in_notebook": [list(e) for e in paper_edges if e not in asl_set],
        "only_in_asl": [list(e) for e in asl_set if e not in paper_edges],
    }

    # --- executions
    keep = trimmed_indices()
    if len(sfn) != PERIODS * PER_PERIOD:
        sys.exit(f"App{n}: {len(sfn)} executions in the SFN log, expected {PERIODS * PER_PERIOD}")
    sfn_ms = {i: (sfn[i][1] - sfn[i][0]) * 1000 for i in keep}
    if [i for i, _ in dur_csv] != keep:
        sys.exit(f"App{n}: Duration_AWS.csv does not hold the trimmed executions")
    dur_agree = max(abs(v - sfn_ms[i]) for i, v in dur_csv)
    per_exec, multi = assign_reports(sfn, lam)
    swaps = repair_pairs(sfn, lam, per_exec)

    # The paper's cost per execution, recomputed: every REPORT line in the window, at the
    # notebook's per-100-ms price table, plus $0.20 per million requests.
    price100 = nb["pricing_model"]
    paper_cost = {}
    ours_cost = {}
    for i in keep:
        lines = per_exec[i]
        paper_cost[i] = 1e6 * math.fsum(price100[lam[li]["memory"]] * lam[li]["billed"] / 100 + PRICE_REQUEST for li in lines)
        ours_cost[i] = 1e6 * math.fsum(lam_cost(lam[li]["memory"], lam[li]["billed"]) for li in lines)
    cost_agree = max(abs(v - paper_cost[i]) for i, v in cost_csv)

    # Each line once: the windows of the re-paired executions; a line in two windows goes to the
    # execution that can hold the whole invocation (or, failing that, the earlier one).
    ends = {i: sfn[i][1] for i in range(len(sfn))}
    for s in swaps:
        for c, e in zip(s["executions"], s["ends"]):
            ends[c] = e
    paired = [(sfn[i][0], ends[i]) for i in range(len(sfn))]
    per_exec2, multi2 = assign_reports(paired, lam)
    owner = {}
    for i in range(len(sfn)):
        for li in per_exec2[i]:
            owner.setdefault(li, i)
    for li in multi2:
        cands = sorted(i for i in range(len(sfn)) if li in per_exec2[i])
        t, dd = lam[li]["t"], lam[li]["duration"] / 1000
        fit = [c for c in cands if max(t, paired[c][0] + dd) <= min(t + 1, paired[c][1]) + 1e-9]
        owner[li] = fit[0] if fit else cands[0]
    lines_of = {i: [] for i in range(len(sfn))}
    for li, i in owner.items():
        lines_of[i].append(li)
    overlapping = sorted({i for li in multi2 for i in range(len(sfn)) if li in per_exec2[i]})
    keep_set = set(keep)

    # --- per-function durations over the 3,000 kept executions (each line once)
    kept_lines = sorted(li for i in keep for li in lines_of[i])
    by_f = {f: [] for f in functions}
    for li in kept_lines:
        by_f[lam[li]["f"]].append(li)
    fstats = {}
    for f in functions:
        rows = sorted((lam[li]["duration"], lam[li]["billed"]) for li in by_f[f])
        mems = {lam[li]["memory"] for li in by_f[f]}
        if mems != {nb["memory"][f]}:
            sys.exit(f"App{n} {f}: logged memory {mems} is not the notebook's {nb['memory'][f]}")
        fstats[f] = {
            "rows": rows,
            "memory_mb": nb["memory"][f],
            "invocations": len(rows),
            "mean_duration_ms": mean([r[0] for r in rows]),
            "mean_billed_duration_ms": mean([r[1] for r in rows]),
            "max_memory_used_mb": max(lam[li]["max_memory"] for li in by_f[f]),
            "paper_mean_duration_ms": nb["paper_mean_ms"][f],
            "paper_invocations": nb["paper_counts"][f],
        }

    # --- per-execution invocations and critical paths
    inv_of = {}
    for i in range(len(sfn)):
        inv = {}
        for li in sorted(lines_of[i]):
            inv.setdefault(lam[li]["f"], []).append(lam[li]["duration"])
        inv_of[i] = inv
    clean = [i for i in keep if i not in overlapping]
    fitting = [i for i in clean if realize(tree, inv_of[i], {}) is not None]
    misfits = [i for i in clean if i not in set(fitting)]
    counts = [{f: len(v) for f, v in inv_of[i].items()} for i in fitting]
    freqs = edge_frequencies(tree, asl_e, counts, {(x, y): p for x, y, p in nb["edges"]})

    true_ms = {i: (ends[i] - sfn[i][0]) * 1000 for i in range(len(sfn))}

    return {
        "n": n, "nb": nb, "tree": tree, "functions": functions, "fstats": fstats,
        "paper_edges": nb["edges"], "asl_edges": asl_e, "graph_check": graph_check,
        "dur_csv": dur_csv, "dur_agree": dur_agree, "cost_csv": cost_csv, "cost_agree": cost_agree,
        "paper_cost": paper_cost, "ours_cost": ours_cost, "results": results, "sfn": sfn,
        "swaps": swaps, "true_ms": true_ms, "overlapping": [i for i in overlapping if i in keep_set],
        "multi_lines": len([li for li in multi if any(li in per_exec[i] for i in keep)]),
        "unassigned_lines": len(lam) - len(owner),
        "fitting": fitting, "misfits": misfits, "inv_of": inv_of, "freqs": freqs,
        "lam": lam, "lines_of": lines_of, "keep": keep,
        "overlapping_all": overlapping,
    }


def lam_cost(memory_mb, billed_ms):
    return billed_ms / 1000 * memory_mb / 1024 * PRICE_GB_S + PRICE_REQUEST


# ------------------------------------------------------------------------------ orchestration


MODELS = {
    "M0 constant": [],
    "M1 a + b*tasks (optiserve's form)": ["task"],
    "M2 a + b*tasks + c*control states": ["task", "control"],
    "M3 a + b*tasks + per kind of control state": ["task", "choice", "pass", "parallel"],
    "M4 a + b*(all states entered)": ["states"],
}


def features(r):
    control = r["choice"] + r["pass"] + r["parallel"]
    return {"task": r["task"], "choice": r["choice"], "pass": r["pass"], "parallel": r["parallel"],
            "control": control, "states": r["task"] + control}


def fit_model(apps, names, trim=None):
    """Fits y = E2E - (critical-path Lambda time) on the states of the critical path. The
    critical path depends on the per-state costs, so the fit and the path are iterated."""
    coef = {}
    for _ in range(20):
        rows, ys, meta = [], [], []
        for a in apps:
            for i in a["fitting"]:
                r = realize(a["tree"], a["inv_of"][i], coef_for_path(coef))
                fx = features(r)
                y = a["true_ms"][i] - r["lambda"]
                rows.append([1.0] + [float(fx[k]) for k in names])
                ys.append(y)
                meta.append((a["n"], i, r, a["true_ms"][i]))
        if trim is not None:
            beta, _, _, _, _, res = ols(rows, ys)
            med = sorted(res)[len(res) // 2]
            mad = sorted(abs(e - med) for e in res)[len(res) // 2]
            keep = [k for k, e in enumerate(res) if abs(e - med) <= trim * 1.4826 * mad]
            rows = [rows[k] for k in keep]
            ys = [ys[k] for k in keep]
            meta = [meta[k] for k in keep]
        beta, se, rsq, sd, bic, res = ols(rows, ys)
        new = dict(zip(names, beta[1:]))
        if all(abs(new.get(k, 0) - coef.get(k, 0)) < 1e-6 for k in set(new) | set(coef)):
            coef = new
            break
        coef = new
    # R^2 of the end-to-end latency itself (Lambda time + fitted overhead)
    paper = [19.81 * m[2]["task"] + 38.62 for m in meta]
    e2e = [m[3] for m in meta]
    pred = [m[2]["lambda"] + y_hat for m, y_hat in zip(meta, [y - e for y, e in zip(ys, res)])]
    me = mean(e2e)
    r2_e2e = 1 - math.fsum((a - b) ** 2 for a, b in zip(e2e, pred)) / math.fsum((a - me) ** 2 for a in e2e)
    s = sorted(res)
    return {
        "terms": ["intercept"] + names,
        "coef_ms": [round(b, 3) for b in beta],
        "se_ms": [round(x, 3) for x in se],
        "n": len(ys),
        "r2_overhead": round(rsq, 4),
        "r2_end_to_end": round(r2_e2e, 5),
        "residual_sd_ms": round(sd, 2),
        "residual_p05_p50_p95_ms": [round(quantile(s, q), 2) for q in (0.05, 0.5, 0.95)],
        "bic": round(bic, 1),
        "mean_overhead_ms": round(mean(ys), 2),
        "paper_overhead_on_the_same_paths_mean_ms": round(mean(paper), 2),
    }


def residual_profile(apps, a_ms, b_ms):
    """Residuals of the fitted M1 over all 3,600 executions of each app, by position in their
    720-execution period: the first executions after a 2-hour pause start cold (a Python cold start
    runs the function's init, which the REPORT Duration leaves out), and the notebooks drop the
    first and last 60 of each period."""
    groups = [("0", 0, 1), ("1-9", 1, 10), ("10-59", 10, 60), ("60-659 (kept)", 60, 660), ("660-719", 660, 720)]
    out = {}
    for name, lo, hi in groups:
        res = []
        for a in apps:
            bad = set(a["overlapping_all"])
            for i in range(len(a["sfn"])):
                if not lo <= i % PER_PERIOD < hi or i in bad:
                    continue
                r = realize(a["tree"], a["inv_of"][i], {"task": b_ms})
                if r is None:
                    continue
                res.append(a["true_ms"][i] - r["lambda"] - (a_ms + b_ms * r["task"]))
        s = sorted(res)
        out[name] = {
            "executions": len(s),
            "mean_ms": round(mean(s), 1),
            "median_ms": round(quantile(s, 0.5), 1),
            "max_ms": round(s[-1], 1),
            "over_150_ms": sum(1 for x in s if x > 150),
        }
    return out


def sfn_delay_notebook(mirror):
    """What StepFunctionsDelay.ipynb measured, read from its saved outputs."""
    path = "evaluations/model/SFNDelay/StepFunctionsDelay.ipynb"
    cells = notebook_cells(mirror.show(path))
    types = {}
    per_task = []
    overall = None
    for src, out in cells:
        for name, typ in re.findall(r"'name': '([^']+)',\s*'stateMachineArn': '[^']+',\s*'type': '(\w+)'", out):
            types[name] = typ
        m = re.search(r"Average Discrepancy between Durations reported by Step Function and Lambda:\s+([0-9.]+)", out)
        if m:
            per_task.append(float(m.group(1)))
        if src.strip() == "np.mean(discrepancy_App1) # AWS Step Functions Interaction Delay":
            overall = float(out.strip())
    return {
        "path": path,
        "state_machine_types": types,
        "mean_gap_per_task_ms": [round(x, 2) for x in per_task],
        "app1_mean_ms": round(overall, 3),
        "what": (
            "Per Lambda task state, the time between two events of the execution's Step Functions log "
            "(ids 4 and 5, 9 and 10, ...: TaskStarted and TaskSucceeded in a task's event sequence) minus "
            "the REPORT Duration; 100 executions 10 s apart of a 2-task Express state "
            "machine (128 MB functions sleeping 400 and 200 ms) and of a 6-task Express app (App1), "
            "31 Dec 2019, us-east-2. The mean over App1's 600 tasks is the model's 18.81 ms per node; the "
            "1 ms per edge is not measured there. Transitions between states, Choice/Pass/Parallel states "
            "and the execution start/end are not measured."
        ),
    }


def coef_for_path(coef):
    out = {}
    for k, v in coef.items():
        if k in ("control", "states"):
            for kk in ("choice", "pass", "parallel") + (("task",) if k == "states" else ()):
                out[kk] = out.get(kk, 0.0) + v
        else:
            out[k] = out.get(k, 0.0) + v
    return out


# ------------------------------------------------------------------------------------ writing


def bundle_for(a, orch):
    n = a["n"]
    fs = []
    for f in a["functions"]:
        st = a["fstats"][f]
        m = st["memory_mb"]
        bins = equal_probability_bins(st["rows"], BINS)
        fs.append({
            "id": f,
            "memory": [m],
            "variants": [{
                "name": "default",
                "model": {"kind": "table", "points": [{"memory_mb": m, "duration_ms": r2(st["mean_duration_ms"])}]},
                "samples": [{"memory_mb": m, "duration_ms": r2(b[0])} for b in bins],
            }],
        })
    ordered = (
        [e for e in a["paper_edges"] if e[0] == "Start"]
        + [e for e in a["paper_edges"] if e[0] != "Start" and e[1] != "End"]
        + [e for e in a["paper_edges"] if e[1] == "End" and e[0] != "Start"]
    )
    edges = [{"from": x, "to": y, "probability": p} for x, y, p in ordered]
    last_end = datetime.datetime.fromtimestamp(max(e for _, e in a["sfn"]), datetime.timezone.utc)
    return {
        "schema": "optiserve.bundle/v1",
        "name": f"app{n}",
        "description": (
            f"App{n} of Lin & Khazaei, 'Modeling and Optimization of Performance and Cost of Serverless "
            f"Applications' (IEEE TPDS 2020), measured on AWS Step Functions (Express) and Lambda in "
            f"us-east-2 in January 2020: {n} Python 3.7 functions at the paper's memory sizes, "
            f"3,000 executions. Workflow and edge probabilities as in the paper's notebook; each "
            f"function's samples are {BINS} equal-probability bins of its logged durations (bin means). "
            f"Derived numbers from github.com/{REPO} (MIT licence, Copyright (c) 2020 Changyuan Lin) "
            f"at {COMMIT[:12]}; see tests/fixtures/real-aws/README.md."
        ),
        "provenance": {
            "tool": "scripts/real-aws/derive_apps.py",
            "tool_version": "1",
            "created_at": last_end.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": "us-east-2",
            "source": f"github.com/{REPO}@{COMMIT} evaluations/model/App{n}",
        },
        "pricing": {
            "region": "us-east-2",
            "architecture": "x86_64",
            "price_per_gb_second": PRICE_GB_S,
            "price_per_request": PRICE_REQUEST,
            "billing_granularity_ms": GRANULARITY_MS,
        },
        "functions": fs,
        "workflow": {"edges": edges, "orchestration": orch},
        "deployed": {f: {"memory_mb": a["fstats"][f]["memory_mb"], "variant": "default"} for f in a["functions"]},
    }


def dump_bundle(b):
    """Pretty JSON with each function's samples packed four to a line (compact fixtures)."""
    text = json.dumps(b, indent=2)
    out = []
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        out.append(line)
        if line.strip() == '"samples": [':
            indent = line[: len(line) - len(line.lstrip())] + "  "
            objs = []
            i += 1
            while lines[i].strip() not in ("]", "],"):
                # each sample object spans 4 lines: {, memory, duration, }
                obj = []
                while True:
                    obj.append(lines[i].strip())
                    i += 1
                    if obj[-1] in ("}", "},"):
                        break
                objs.append(json.dumps(json.loads("".join(obj).rstrip(",")), separators=(",", ":")))
            for k in range(0, len(objs), 4):
                chunk = ",".join(objs[k : k + 4])
                out.append(indent + chunk + ("," if k + 4 < len(objs) else ""))
            out.append(lines[i])
        i += 1
    return "\n".join(out) + "\n"


def write(path, text):
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(text)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mirror", default=DEFAULT_MIRROR, help="bare git mirror of " + REPO)
    ap.add_argument("--out", default=os.path.join(here, "..", "..", "tests", "fixtures", "real-aws"))
    args = ap.parse_args()
    mirror = Mirror(args.mirror, COMMIT)
    out = os.path.normpath(args.out)
    os.makedirs(out, exist_ok=True)
    licence = mirror.show("LICENSE").splitlines()
    copyright_line = next(l for l in licence if l.startswith("Copyright"))

    apps = [derive_app(mirror, n) for n in APPS]

    # ---- orchestration overhead
    fits = {name: fit_model(apps, cols) for name, cols in MODELS.items()}
    robust = {name: fit_model(apps, cols, trim=5.0) for name, cols in MODELS.items()}
    per_app = {f"app{a['n']}": fit_model([a], MODELS["M1 a + b*tasks (optiserve's form)"]) for a in apps}
    m1 = robust["M1 a + b*tasks (optiserve's form)"]
    a_ms, b_ms = m1["coef_ms"]
    # optiserve: overhead = (n + 2) * state_ms + (n + 1) * transition_ms = n*(s+t) + (2s+t)
    state_ms, transition_ms = a_ms - b_ms, 2 * b_ms - a_ms
    if transition_ms < 0 or state_ms < 0:
        sys.exit(f"M1 does not fit optiserve's form with non-negative delays: {m1}")
    orch = {"state_ms": round(state_ms, 2), "transition_ms": round(transition_ms, 2)}

    measured_all = {}
    for a in apps:
        n = a["n"]
        b = bundle_for(a, orch)
        write(os.path.join(out, f"app{n}.bundle.json"), dump_bundle(b))
        m = measured_for(a, copyright_line)
        measured_all[n] = m
        write(os.path.join(out, f"app{n}.measured.json"), json.dumps(m, indent=2) + "\n")

    orch_doc = orchestration_doc(apps, fits, robust, per_app, orch, m1)
    orch_doc["residuals_by_position_in_period"] = residual_profile(apps, a_ms, b_ms)
    orch_doc["step_functions_delay_notebook"] = sfn_delay_notebook(mirror)
    write(os.path.join(out, "orchestration.json"), json.dumps(orch_doc, indent=2) + "\n")
    write(os.path.join(out, "README.md"), readme(apps, measured_all, orch_doc, copyright_line))
    report(apps, measured_all, orch_doc)


def measured_for(a, copyright_line):
    n = a["n"]
    d = app_dir(n)
    durs = [v for _, v in a["dur_csv"]]
    repaired = [a["true_ms"][i] for i in a["keep"]]
    costs = [v for _, v in a["cost_csv"]]
    ours = [a["ours_cost"][i] for i in a["keep"]]
    # Lambda cost of each line once, over the 3,000 executions, at AWS's GB-s price.
    once = 1e6 * math.fsum(
        lam_cost(st_row[0], st_row[1])
        for f in a["functions"]
        for st_row in [(a["fstats"][f]["memory_mb"], r[1]) for r in a["fstats"][f]["rows"]]
    ) / len(a["keep"])
    res = a["results"]
    ne = a["nb"]["paper_ne"]
    ceil_mean = 1e6 * math.fsum(
        ne[f] * lam_cost(st["memory_mb"], math.ceil(st["mean_duration_ms"] / GRANULARITY_MS) * GRANULARITY_MS)
        for f, st in a["fstats"].items()
    )
    mean_billed = 1e6 * math.fsum(
        ne[f] * lam_cost(st["memory_mb"], st["mean_billed_duration_ms"]) for f, st in a["fstats"].items()
    )
    express = [
        1e6 * (EXPRESS_PER_REQUEST + math.ceil(x / 100 - 1e-9) * 100 / 1000 * EXPRESS_MEMORY_MB / 1024 * EXPRESS_PER_GB_S)
        for x in durs
    ]
    return {
        "source": {
            "repository": f"https://github.com/{REPO}",
            "commit": COMMIT,
            "licence": "MIT",
            "copyright": copyright_line,
            "paths": {
                "state_machine": f"{d}/App{n}.json",
                "notebook": f"{d}/App{n}.ipynb",
                "lambda_logs": f"{d}/App{n}_Lambda_Logs.csv",
                "sfn_logs": f"{d}/App{n}_SFN_Logs.csv",
                "durations": f"{d}/App{n}_Duration_AWS.csv",
                "costs": f"{d}/App{n}_Cost_AWS.csv",
                "paper_model": f"{d}/results.json",
            },
            "derived_by": "scripts/real-aws/derive_apps.py",
        },
        "executions": len(durs),
        "executions_started": len(a["sfn"]),
        "kept": f"executions {SKIP}..{SKIP + KEEP - 1} of each of the {PERIODS} periods of {PER_PERIOD} (as the paper's notebook)",
        "latency_ms": summary(durs),
        "latency_source": (
            f"App{n}_Duration_AWS.csv (End - Start of the ExecutionStarted/ExecutionSucceeded log events); "
            f"equal to (End - Start) of App{n}_SFN_Logs.csv rows within {a['dur_agree']:.2e} ms"
        ),
        "latency_ms_repaired": {
            **summary(repaired),
            "note": (
                "the notebooks sorted start and end times separately, which swaps the ends of two "
                "executions when a slow one finishes after the next one; re-paired with the Lambda "
                "REPORT lines (each invocation must fit inside its execution). Same mean."
            ),
            "swapped": [
                {"executions": s["changed"], "kept": all(i in set(a["keep"]) for i in s["changed"]),
                 "durations_ms": [r2(a["true_ms"][i]) for i in s["changed"]],
                 "in_duration_csv_ms": [r2((a["sfn"][i][1] - a["sfn"][i][0]) * 1000) for i in s["changed"]]}
                for s in a["swaps"]
            ],
        },
        "quantiles": "linear interpolation between order statistics (Hyndman-Fan type 7, numpy's default)",
        "cost_usd_per_million": {
            "mean": round(mean(costs), 4),
            "source": (
                f"App{n}_Cost_AWS.csv: per execution, every Lambda REPORT line whose timestamp is within "
                "[Start - 1 s, End + 1 s], billed duration (100 ms units) x AWS's published per-100-ms "
                "price for the memory size + $0.20 per million requests; no Step Functions charge"
            ),
            "recomputed_mean": round(mean([a["paper_cost"][i] for i in a["keep"]]), 4),
            "recomputed_max_abs_diff": float(f"{a['cost_agree']:.3g}"),
            "at_gb_second_price_mean": round(mean(ours), 4),
            "each_line_once_at_gb_second_price_mean": round(once, 4),
            "lines_in_two_windows": a["multi_lines"],
            "step_functions_express_would_add_mean": round(mean(express), 4),
            "model_with_paper_invocations_and_ceil_of_mean_duration": round(ceil_mean, 4),
            "model_with_paper_invocations_and_mean_billed_duration": round(mean_billed, 4),
            "paper_expected_invocations": {f: round(ne[f], 6) for f in a["functions"]},
        },
        "paper_model": {
            "latency_ms": round(res["RT_Model"], 2),
            "cost_usd_per_million": round(res["Cost_Model"], 4),
            "latency_accuracy_percent": round(res["RT_Accuracy"], 2),
            "cost_accuracy_percent": round(res["Cost_Accuracy"], 3),
            "orchestration": "18.81 ms per node (Start and End included) + 1 ms per edge (delayType='SFN')",
        },
        "functions": {
            f: {
                "memory_mb": st["memory_mb"],
                "invocations": st["invocations"],
                "per_execution": round(st["invocations"] / len(durs), 4),
                "mean_duration_ms": round(st["mean_duration_ms"], 2),
                "mean_billed_duration_ms": round(st["mean_billed_duration_ms"], 2),
                "p99_duration_ms": r2(quantile([r[0] for r in st["rows"]], 0.99)),
                "max_duration_ms": r2(st["rows"][-1][0]),
                "max_memory_used_mb": st["max_memory_used_mb"],
                "paper_mean_duration_ms": round(st["paper_mean_duration_ms"], 2),
                "paper_invocations": st["paper_invocations"],
            }
            for f, st in a["fstats"].items()
        },
        "edge_frequencies": {
            "executions": len(a["fitting"]),
            "excluded": {
                "overlapping": a["overlapping"],
                "not_matching_the_workflow": a["misfits"],
            },
            "groups": a["freqs"],
        },
        "graph_check": a["graph_check"],
    }


def orchestration_doc(apps, fits, robust, per_app, orch, m1):
    return {
        "state_ms": orch["state_ms"],
        "transition_ms": orch["transition_ms"],
        "start_end_ms": round(m1["coef_ms"][0], 2),
        "per_function_ms": round(m1["coef_ms"][1], 2),
        "n": m1["n"],
        "r2": m1["r2_overhead"],
        "r2_end_to_end": m1["r2_end_to_end"],
        "workflow_type": "EXPRESS",
        "method": (
            "Per execution (the 3,000 kept of each app, less those whose windows overlap another's or "
            "whose REPORT lines do not match the state machine), the realized path is rebuilt from its "
            "Lambda REPORT lines (which arm of each Choice ran, loop counts; parallel arms: the slowest, "
            "states weighed by the fitted costs, iterated to a fixed point) and "
            "y = (ExecutionSucceeded - ExecutionStarted) - (sum of the Lambda Durations on that path) "
            "is regressed by least squares on the states entered on it. 'robust' drops residuals beyond "
            "5 scaled MADs of the first fit. optiserve's form is y = (n+2)*state_ms + (n+1)*transition_ms "
            "for n functions on the path, i.e. intercept = 2*state_ms + transition_ms and slope = "
            "state_ms + transition_ms: state_ms and transition_ms are solved from the robust M1 fit."
        ),
        "models": fits,
        "models_robust": robust,
        "per_app_M1": per_app,
    }



def edge_summary(a):
    kinds = {(x, y): kind for x, y, _, kind, _ in a["asl_edges"]}
    by_src = {}
    for x, y, p in a["paper_edges"]:
        by_src.setdefault(x, []).append((y, p))
    parts = []
    for x, outs in by_src.items():
        if all(p == 1.0 for _, p in outs):
            tgt = ", ".join(y for y, _ in outs)
            parts.append(f"{x} → {tgt}" + (" (parallel)" if len(outs) > 1 else ""))
        else:
            alts = []
            for y, p in outs:
                tag = ""
                if y == x:
                    tag = " self-loop"
                elif kinds.get((x, y)) == "back":
                    tag = " back"
                alts.append(f"{y} {p:g}{tag}")
            parts.append(f"{x} → " + " \\| ".join(alts))
    return "; ".join(parts)


def fmt(x, nd=2):
    return f"{x:,.{nd}f}"


def readme(apps, measured, orch, copyright_line):
    L = []
    w = L.append
    w("# Real AWS measurements: App8–App16 of Lin & Khazaei (2020)")
    w("")
    w("Fixtures derived from public measurements of five AWS Step Functions applications. "
      "Written by `scripts/real-aws/derive_apps.py`; do not edit by hand. Every number below is "
      "printed by that script from the source files, and how it is computed is said next to it.")
    w("")
    w("## Source and licence")
    w("")
    w(f"* Repository: https://github.com/{REPO}, commit `{COMMIT}`, folder `evaluations/model/` "
      "(`AppN/AppN.json` state machine, `AppN/AppN.ipynb` notebook, `AppN/AppN_Lambda_Logs.csv`, "
      "`AppN/AppN_SFN_Logs.csv`, `AppN/AppN_Duration_AWS.csv`, `AppN/AppN_Cost_AWS.csv`, "
      "`AppN/results.json`; `SFNDelay/StepFunctionsDelay.ipynb`).")
    w("* Paper: C. Lin and H. Khazaei, \"Modeling and Optimization of Performance and Cost of "
      "Serverless Applications\", IEEE Transactions on Parallel and Distributed Systems 32(3), 2021 "
      "(published online October 2020), doi:10.1109/TPDS.2020.3028841.")
    w(f"* Licence: MIT, \"{copyright_line}\". The files here hold derived numbers only (means, "
      "quantiles, binned durations, frequencies, regression results), no copy of the data files or "
      "of the authors' code; `derive_apps.py` is our own code.")
    w("")
    w("## What was measured")
    w("")
    w("Each app is an Express state machine in us-east-2 over 8–16 Python 3.7 Lambda functions "
      "(CPU, disk and S3 work; the executions' arns read `…:express:…`), run 3,600 times in January "
      "2020: 5 periods of 720 executions 10 s apart, 2 hours between periods. The inputs are drawn "
      "uniformly from 1..100 and the Choice states compare them with thresholds, which sets the "
      "branch and loop probabilities. Like the paper's notebooks, everything here uses executions "
      "60..659 of each period (3,000 per app); the first executions after each pause start cold "
      "(see the residuals below).")
    w("")
    w("## Files")
    w("")
    w("* `appN.bundle.json`: an optiserve bundle per app. Functions `f1`..`fN` at the one memory "
      "size the paper ran (`memory` = [M], `deployed` = M); one variant `default` whose model is a "
      "one-point table at the mean logged REPORT `Duration` of that function over the 3,000 "
      f"executions, and whose `samples` are {BINS} equal-probability bins of those durations, each "
      "the mean of its bin (an observation on a bin boundary is split between the two bins, so "
      "every bin weighs exactly 1/200 and the samples' mean is the logged mean; values rounded to "
      "0.01 ms). The per-bin billed duration is left out to keep the bundles small (it is unused by "
      "optiserve, which bills the drawn duration); each function's mean billed duration is in "
      "`appN.measured.json`. Workflow: the edges and probabilities of the paper's notebook "
      "(`AppN_G.add_weighted_edges_from`), which are exactly the graph the state machine implies "
      "(checked: `graph_check` in `appN.measured.json`). Orchestration: the overhead estimated "
      "below. Pricing: what the measured cost contains (below).")
    w("* `appN.measured.json`: the source paths and commit; latency mean/p50/p95/p99 (quantiles by "
      "linear interpolation between order statistics, Hyndman–Fan type 7, numpy's default) of "
      "`AppN_Duration_AWS.csv`, which equals (End − Start) of the kept rows of `AppN_SFN_Logs.csv` "
      f"(the ExecutionStarted and ExecutionSucceeded log events) to {max(a['dur_agree'] for a in apps):.0e} ms; the same after "
      "re-pairing (below); the mean cost per million executions of `AppN_Cost_AWS.csv` with its "
      "recomputation and decomposition; the paper's model (`results.json`); per-function "
      "invocations, mean and mean billed duration; observed branch and loop frequencies with counts.")
    w("* `orchestration.json`: the Step Functions overhead analysis (below), all models and fits.")
    w("")
    w("Regenerate (python3 standard library and git only; reads a bare mirror of the repository at "
      "the pinned commit, not run in CI):")
    w("")
    w("```sh")
    w("python3 scripts/real-aws/derive_apps.py --mirror /work/.mirror/pacslab+SLApp-PerfCost-MdlOpt/repo")
    w("```")
    w("")
    w("## Per app")
    w("")
    w("Latency in ms, cost in USD per million executions. Measured: the 3,000 kept executions. "
      "Paper model: `results.json` (18.81 ms per node and 1 ms per edge of Step Functions delay, "
      "Start and End included; durations = each function's mean; cost from the ceiling of each "
      "mean to 100 ms).")
    w("")
    w("| app | functions | mean | p50 | p95 | p99 | max | cost | paper model latency | paper model cost |")
    w("|---|---|---|---|---|---|---|---|---|---|")
    for a in apps:
        m = measured[a["n"]]
        lt = m["latency_ms"]
        w(f"| App{a['n']} | {a['n']} | {fmt(lt['mean'])} | {fmt(lt['p50'])} | {fmt(lt['p95'])} | "
          f"{fmt(lt['p99'])} | {fmt(lt['max'])} | {fmt(m['cost_usd_per_million']['mean'], 4)} | "
          f"{fmt(m['paper_model']['latency_ms'])} | {fmt(m['paper_model']['cost_usd_per_million'], 4)} |")
    w("")
    for a in apps:
        n = a["n"]
        m = measured[n]
        w(f"### App{n}")
        w("")
        w(f"Edges (paper = state machine): Start → f1; {edge_summary(a).replace('Start → f1; ', '')}.")
        w("")
        w("| function | memory MB | invocations / execution | mean duration ms | mean billed ms | p99 ms | max ms | paper's mean ms |")
        w("|---|---|---|---|---|---|---|---|")
        for f, st in m["functions"].items():
            w(f"| {f} | {st['memory_mb']} | {st['per_execution']:.4f} | {fmt(st['mean_duration_ms'])} | "
              f"{fmt(st['mean_billed_duration_ms'])} | {fmt(st['p99_duration_ms'])} | {fmt(st['max_duration_ms'])} | "
              f"{fmt(st['paper_mean_duration_ms'])} |")
        w("")
        ef = m["edge_frequencies"]
        items = []
        for g in ef["groups"]:
            for e in g["edges"]:
                items.append(f"{g['from']}→{e['to']} {e['taken']}/{g['out_of']} = {e['frequency']:.4f} "
                             f"(paper {e['paper_probability']:g})")
        w(f"Observed edge frequencies over {ef['executions']} executions: " + "; ".join(items) + ".")
        ex = ef["excluded"]
        if ex["overlapping"] or ex["not_matching_the_workflow"]:
            w(f"Left out: executions {ex['overlapping']} (they overlap a neighbour, so their REPORT "
              f"lines cannot be told apart){'; ' + str(ex['not_matching_the_workflow']) + ' do not match the state machine' if ex['not_matching_the_workflow'] else ''}.")
        sw = m["latency_ms_repaired"]["swapped"]
        if sw:
            lr = m["latency_ms_repaired"]
            w(f"Re-paired: executions " + "; ".join(
                f"{' and '.join(map(str, x['executions']))} ({' and '.join(fmt(v) for v in x['in_duration_csv_ms'])} ms in the CSV, "
                f"{' and '.join(fmt(v) for v in x['durations_ms'])} ms re-paired)" for x in sw)
              + " had their ends swapped by the notebook's sorting; re-paired with the REPORT lines, p95 "
              f"{fmt(lr['p95'])}, p99 {fmt(lr['p99'])}, max {fmt(lr['max'])} (mean unchanged).")
        w("")
    w("## Cost: what the measured cost contains")
    w("")
    w("`AppN_Cost_AWS.csv` (notebook cell `AppN_avg_cost_aws_df`) is, per execution, the sum over "
      "the Lambda REPORT lines whose (whole-second) timestamp lies in [Start − 1 s, End + 1 s] of "
      "`pricing_model[memory] × Billed Duration / 100 + 0.0000002`, × 10⁶. `pricing_model` is AWS's "
      "2020 price per 100 ms for each memory size (e.g. 128 MB: $0.000000208; = $0.0000166667 per "
      "GB-s rounded to 1e-9), so the measured cost is Lambda compute with 100 ms billing plus $0.20 "
      "per million requests, and **no Step Functions charge**. The bundles therefore price "
      "`price_per_gb_second` 0.0000166667, `price_per_request` 2e-7, `billing_granularity_ms` 100, "
      "no `step_functions`. Recomputing the CSV from the logs this way reproduces every execution's "
      f"cost to within {max(measured[a['n']]['cost_usd_per_million']['recomputed_max_abs_diff'] for a in apps):.0e} USD per million.")
    w("")
    w("| app | measured (CSV) | same lines at the GB-s price | each line once, GB-s price | model: paper NI × ceil(mean) | model: paper NI × mean billed | Express would add |")
    w("|---|---|---|---|---|---|---|")
    for a in apps:
        c = measured[a["n"]]["cost_usd_per_million"]
        w(f"| App{a['n']} | {fmt(c['mean'], 4)} | {fmt(c['at_gb_second_price_mean'], 4)} | "
          f"{fmt(c['each_line_once_at_gb_second_price_mean'], 4)} | "
          f"{fmt(c['model_with_paper_invocations_and_ceil_of_mean_duration'], 4)} | "
          f"{fmt(c['model_with_paper_invocations_and_mean_billed_duration'], 4)} | "
          f"{fmt(c['step_functions_express_would_add_mean'], 4)} |")
    w("")
    w("Columns: the per-100-ms table against the GB-s price differs by the table's rounding "
      "(−0.16 % at 128 MB, +0.04 % at 1536 MB). \"Each line once\": a REPORT line that falls in two "
      "overlapping windows is counted twice in the CSV ("
      + ", ".join(f"App{a['n']}: {measured[a['n']]['cost_usd_per_million']['lines_in_two_windows']}" for a in apps)
      + " lines); here each is counted once. The two model columns are optiserve's analytic formula (expected invocations "
      "from the paper's probabilities × the cost of one invocation): billing the ceiling of the mean "
      "duration (what `optiserve evaluate` does with a mean-duration model) against the mean billed "
      "duration (what the logs say); the gap between them is the error of billing a mean: "
      "mean(ceil(d)) ≠ ceil(mean(d)). \"Express would add\": $1.00 per million requests + each "
      "execution's duration rounded up to 100 ms × 64 MB at $0.00001667 per GB-s, which the "
      "paper's cost leaves out.")
    w("")
    o = orch
    models = o["models"]
    rob = o["models_robust"]
    w("## Step Functions orchestration overhead")
    w("")
    w("**Method.** " + o["method"])
    w("")
    w(f"Each REPORT line is assigned to the execution whose window [Start − 1 s, End + 1 s] holds its "
      f"timestamp; lines in two windows (overlapping executions) are resolved by requiring the "
      f"invocation [t − Duration, t] to fit in the execution, and those executions are left out of "
      f"the fit. Every other kept execution matches its state machine exactly (one f1, f2 and f8, "
      f"one arm of each Choice, all arms of each Parallel, loop counts consistent), so "
      f"{models['M0 constant']['n']} executions of the 5 apps enter the fits. All models on these "
      f"same executions (so R² and BIC compare):")
    w("")
    w("| model | coefficients, ms (± s.e.) | R² of y | R² of end-to-end | residual s.d. ms | BIC |")
    w("|---|---|---|---|---|---|")
    for name, m in models.items():
        co = ", ".join(f"{t} {c:.2f} ± {s:.2f}" for t, c, s in zip(m["terms"], m["coef_ms"], m["se_ms"]))
        w(f"| {name} | {co} | {m['r2_overhead']:.4f} | {m['r2_end_to_end']:.5f} | {m['residual_sd_ms']:.2f} | {m['bic']:.1f} |")
    w("")
    m1r = rob["M1 a + b*tasks (optiserve's form)"]
    w(f"Robust M1 (refitted without the {models['M0 constant']['n'] - m1r['n']} executions whose residual is beyond "
      f"5 scaled MADs): intercept {m1r['coef_ms'][0]:.2f} ± {m1r['se_ms'][0]:.2f}, task "
      f"{m1r['coef_ms'][1]:.2f} ± {m1r['se_ms'][1]:.2f} ms, R² {m1r['r2_overhead']:.4f}, residual s.d. "
      f"{m1r['residual_sd_ms']:.2f} ms, n = {m1r['n']}. These are the numbers used below and in the bundles.")
    w("")
    pa = o["per_app_M1"]
    w("M1 per app (ordinary fit): " + "; ".join(
        f"{k}: {v['coef_ms'][0]:.1f} + {v['coef_ms'][1]:.2f}·n (R² {v['r2_overhead']:.3f}, mean overhead {v['mean_overhead_ms']:.1f} ms)"
        for k, v in pa.items()) + ".")
    w("")
    m1 = m1r
    m1o = models["M1 a + b*tasks (optiserve's form)"]
    w(f"**Result.** Each Lambda task state on the critical path costs {m1['coef_ms'][1]:.2f} ms "
      f"beyond its REPORT Duration, and an execution costs {m1['coef_ms'][0]:.2f} ms more "
      f"(start, end and whatever does not scale with the path). In optiserve's form "
      f"((n + 2)·state_ms + (n + 1)·transition_ms for n functions on the path) that is "
      f"**state_ms = {o['state_ms']}, transition_ms = {o['transition_ms']}**, the values in the "
      f"bundles: the data fix only the sum (per function) and 2·state_ms + transition_ms "
      f"(fixed); on a path, states and transitions differ by one, so they cannot be told apart "
      f"otherwise. Choice, Pass and Parallel states (M2, M3) improve the fit only marginally "
      f"(residual s.d. {m1o['residual_sd_ms']:.2f} → {models['M3 a + b*tasks + per kind of control state']['residual_sd_ms']:.2f} ms) "
      f"and with negative coefficients, which no state can have: they pick up correlations "
      f"between the counts and effects the linear form misses, not a cost of their own. The "
      f"data support M1: Choice, Pass and Parallel states add nothing measurable beyond the "
      f"task states; counting every state alike (M4) fits worse "
      f"(BIC {models['M4 a + b*(all states entered)']['bic']:.0f} against {m1o['bic']:.0f}). Start and End: the intercept "
      f"{m1['coef_ms'][0]:.1f} ± {m1['coef_ms'][0] and m1['se_ms'][0]:.1f} ms is clearly positive but varies "
      f"from app to app ({min(v['coef_ms'][0] for v in pa.values()):.1f}–{max(v['coef_ms'][0] for v in pa.values()):.1f} ms), so take it as "
      f"≈ 10–20 ms. The paper's model assumes 18.81 ms per node (Start and End included) + 1 ms per "
      f"edge, i.e. {18.81 + 1:.2f} ms per function + {2 * 18.81 + 1:.2f} ms, more than measured: on the "
      f"same critical paths it averages {m1['paper_overhead_on_the_same_paths_mean_ms']:.1f} ms per execution against "
      f"{m1['mean_overhead_ms']:.1f} ms measured.")
    w("")
    w(f"R² of y (the overhead alone) is {m1['r2_overhead']:.2f}: the rest is noise of "
      f"s.d. {m1['residual_sd_ms']:.1f} ms per execution, skewed to the right (5 %, 50 %, 95 % "
      f"residual quantiles {m1['residual_p05_p50_p95_ms']} ms). Of the end-to-end latency, the "
      f"critical-path Lambda time plus this overhead explains R² = {m1['r2_end_to_end']:.4f}.")
    w("")
    w("Residuals of the robust M1 over all 3,600 executions by position in the 720-execution "
      "period (the first after the 2-hour pause starts cold: Python's init time is not in the "
      "REPORT Duration):")
    w("")
    w("| position | executions | mean ms | median ms | max ms | > 150 ms |")
    w("|---|---|---|---|---|---|")
    for k, v in o["residuals_by_position_in_period"].items():
        w(f"| {k} | {v['executions']} | {v['mean_ms']} | {v['median_ms']} | {v['max_ms']} | {v['over_150_ms']} |")
    w("")
    w("So cold starts are in the data only at the start of each period, which the kept "
      "executions (60–659) leave out; the kept durations are warm.")
    w("")
    sd = o["step_functions_delay_notebook"]
    w("**The paper's measurement (`SFNDelay/StepFunctionsDelay.ipynb`).** " + sd["what"] +
      f" Per-function means: {', '.join(f'{x:.2f}' for x in sd['mean_gap_per_task_ms'])} ms "
      f"(the first two: the 2-task machine; the other six: App1); mean over App1 {sd['app1_mean_ms']} ms. "
      f"State machine types listed in the notebook: "
      f"{', '.join(f'{k} {v}' for k, v in sd['state_machine_types'].items())} (the measured ones are Express).")
    w("")
    w("**Standard workflows.** Every measured execution here is Express (the execution arns read "
      "`:express:`, the delay study's machines are `EXPRESS`). The data say nothing about Standard "
      "workflows' latency or their per-transition price: the per-state overhead above is for "
      "Express, and Standard's would have to be measured.")
    w("")
    w("## Caveats")
    w("")
    w("* Lambda timestamps were truncated to whole seconds by the notebooks, so the order of "
      "invocations inside an execution is unknown; the critical path is rebuilt from the "
      "structure, the counts and the durations, not from timings.")
    w("* The notebooks sorted start and end times separately and paired them by rank. When a slow "
      "execution (an S3 transfer in f4 took up to 18.8 s) ends after the next one, the two "
      "durations are swapped in `AppN_Duration_AWS.csv` (App12: executions 520/521; App16: "
      "1722/1723); `latency_ms_repaired` re-pairs them. The mean is unaffected.")
    w("* The f3 → f9/f10 branch tests `para4`, drawn once per execution, so when the f3 loop "
      "repeats it takes the same arm again (no kept execution of App10–App16 ran both f9 and f10): "
      "the repetitions are not independent draws, as the workflow model assumes. Only the ~10 % "
      "of executions that loop are affected.")
    top = []
    for a in apps:
        for f, st in a["fstats"].items():
            bins = equal_probability_bins(st["rows"], BINS)
            if st["rows"][-1][0] > 3 * bins[-2][0]:
                top.append(f"App{a['n']} {f}: max {fmt(st['rows'][-1][0])} ms, top bin {fmt(bins[-1][0])} ms")
    w("* Binning keeps the mean but averages each function's slowest 0.5 % into one value: a rare "
      "very slow invocation (S3 transfers) becomes a less extreme value drawn more often ("
      + "; ".join(top) + "). Simulated tails beyond p99 and maxima therefore differ from the raw data.")
    w("* The paper's `results.json` cost accuracy divides by the latency model "
      "(`100 - (cost_model - cost_aws) / rt_model * 100`), so it reads ≈ 99.97 % whatever the cost "
      "error; the cost errors are in the table above.")
    w("")
    return "\n".join(L) + "\n"


def report(apps, measured, orch):
    for a in apps:
        m = measured[a["n"]]
        print(f"App{a['n']}: latency {m['latency_ms']}, cost {m['cost_usd_per_million']['mean']}, "
              f"graph identical {a['graph_check']['identical']}, swaps {a['swaps']}, "
              f"overlapping {a['overlapping']}, misfits {len(a['misfits'])}")
    print(json.dumps({k: v for k, v in orch.items() if k not in ("models", "models_robust", "per_app_M1")}, indent=1))


if __name__ == "__main__":
    main()
