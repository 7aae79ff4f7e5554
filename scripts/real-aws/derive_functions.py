#!/usr/bin/env python3
"""Per-memory duration statistics of the six Lambda functions of Lin & Khazaei (TPDS 2020).

Source: the public repository pacslab/SLApp-PerfCost-MdlOpt (MIT licence),
`evaluations/alg/App6/App6_Lambda_Logs.csv`: one row per invocation (Function, Memory Size, Max
Memory Used, Duration, Billed Duration, RequestId), 100 invocations of each of f1..f6 at each of
46 memory sizes (128..3008 MB in 64 MB steps). App6 holds all six functions; the logs of App1..App5
hold subsets of them, row for row the same (the script checks this when they are present).

Writes `tests/fixtures/real-aws/functions/fN.csv`, one row per memory size:

    memory_mb,duration_ms,count,median_ms,sd_ms

where `duration_ms` is the mean Duration (ms) of the invocations at that memory (so that
`optiserve fit fN.csv` fits the per-memory means), `median_ms` their median and `sd_ms` their
sample standard deviation (n - 1). Standard library only; no code of the source repository.

    python3 scripts/real-aws/derive_functions.py --repo /work/.mirror/pacslab+SLApp-PerfCost-MdlOpt/repo
    python3 scripts/real-aws/derive_functions.py --repo PATH --rev COMMIT --out DIR
    python3 scripts/real-aws/derive_functions.py --check ...   # fail if the committed files differ

`--repo` is a clone of the repository (bare or not); the files are read with `git show REV:path`.
"""

import argparse
import csv
import io
import math
import statistics
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

REV = "4173c9823edd42049b7e7074f370a9e97bcf17d9"
LOG = "evaluations/alg/App{n}/App{n}_Lambda_Logs.csv"
FUNCTIONS = ["f1", "f2", "f3", "f4", "f5", "f6"]
HEADER = "memory_mb,duration_ms,count,median_ms,sd_ms"


def git_show(repo: str, rev: str, path: str) -> str | None:
    done = subprocess.run(
        ["git", "-C", repo, "show", f"{rev}:{path}"],
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout if done.returncode == 0 else None


def read_log(text: str) -> dict[str, list[tuple[int, float, str]]]:
    """Function -> [(memory MB, duration ms, request id)]."""
    rows = defaultdict(list)
    for r in csv.DictReader(io.StringIO(text)):
        rows[r["Function"]].append((int(r["Memory Size"]), float(r["Duration"]), r["RequestId"]))
    return rows


def fmt(x: float) -> str:
    """Fixed four decimals, trailing zeros trimmed (durations are logged to 0.01 ms)."""
    s = f"{x:.4f}".rstrip("0").rstrip(".")
    return s if s != "-0" else "0"


def derive(rows: list[tuple[int, float, str]]) -> list[str]:
    by_memory = defaultdict(list)
    for memory, duration, _ in rows:
        by_memory[memory].append(duration)
    lines = []
    for memory in sorted(by_memory):
        d = by_memory[memory]
        sd = statistics.stdev(d) if len(d) > 1 else 0.0
        lines.append(
            f"{memory},{fmt(statistics.fmean(d))},{len(d)},{fmt(statistics.median(d))},{fmt(sd)}"
        )
    return lines


def main() -> int:
    here = Path(__file__).resolve().parent
    default_out = here.parent.parent / "tests" / "fixtures" / "real-aws" / "functions"
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--repo", required=True, help="a clone of pacslab/SLApp-PerfCost-MdlOpt")
    p.add_argument("--rev", default=REV, help=f"the commit to read (default {REV})")
    p.add_argument("--out", default=str(default_out), help="output folder")
    p.add_argument("--check", action="store_true", help="compare with the files in --out")
    a = p.parse_args()

    text = git_show(a.repo, a.rev, LOG.format(n=6))
    if text is None:
        print(f"cannot read {LOG.format(n=6)} at {a.rev} in {a.repo}", file=sys.stderr)
        return 1
    app6 = read_log(text)
    missing = [f for f in FUNCTIONS if f not in app6]
    if missing:
        print(f"App6's log lacks {missing}", file=sys.stderr)
        return 1
    # The other apps' logs must agree with App6's for the functions they share.
    for n in range(1, 6):
        other = git_show(a.repo, a.rev, LOG.format(n=n))
        if other is None:
            continue
        for f, rows in read_log(other).items():
            if sorted(rows) != sorted(app6.get(f, [])):
                print(f"App{n}'s {f} differs from App6's {f}", file=sys.stderr)
                return 1

    out = Path(a.out)
    stale = []
    for f in FUNCTIONS:
        rows = app6[f]
        if any(not math.isfinite(d) or d <= 0 for _, d, _ in rows):
            print(f"{f}: a duration is not a positive number", file=sys.stderr)
            return 1
        body = "\n".join(
            [
                f"# {f} of pacslab/SLApp-PerfCost-MdlOpt {a.rev[:12]} {LOG.format(n=6)}"
                " (MIT licence; see README.md)",
                "# per memory size: mean Duration (duration_ms), invocations, median, sample sd (ms)",
                HEADER,
                *derive(rows),
            ]
        )
        body += "\n"
        path = out / f"{f}.csv"
        if a.check:
            if not path.exists() or path.read_text() != body:
                stale.append(str(path))
        else:
            out.mkdir(parents=True, exist_ok=True)
            path.write_text(body)
            print(f"wrote {path} ({len(rows)} invocations)")
    if stale:
        print("stale: " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
