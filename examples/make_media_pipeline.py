#!/usr/bin/env python3
"""Regenerates examples/media-pipeline.bundle.json: a workflow with all four structures (parallel,
branch, cycle, self-loop) and three ML functions, whose samples are drawn from known curves with
3% multiplicative noise (fixed seed) and fitted by `optiserve fit`, as a profiling run would.

Run from the repository root after `cargo build`: python3 examples/make_media_pipeline.py
"""
import json
import math
import random
import subprocess
import tempfile

OPTISERVE = "target/debug/optiserve"
rng = random.Random(20261128)

GENERAL = range(128, 3009, 192)
ML = range(2048, 10241, 1024)

# id -> (memory sizes, [(variant, raw accuracy, metric, alpha, beta, 1/gamma)])
FUNCTIONS = {
    "ingest": (GENERAL, [("default", None, None, 40, 900, 350)]),
    "classify": (ML, [
        ("resnet-18", 69.76, "ImageNet top-1 %", 516, 6500, 1510),
        ("resnet-50", 76.13, "ImageNet top-1 %", 1140, 14900, 1590),
        ("resnet-101", 77.37, "ImageNet top-1 %", 2150, 25700, 1490),
    ]),
    "thumbnail": (GENERAL, [("default", None, None, 60, 1500, 500)]),
    "merge": (GENERAL, [("default", None, None, 20, 300, 300)]),
    "detect": (ML, [
        ("yolov10n", 38.5, "COCO mAP50-95", 1160, 8740, 2480),
        ("yolov10s", 46.3, "COCO mAP50-95", 2650, 21600, 2350),
        ("yolov10m", 51.1, "COCO mAP50-95", 4300, 37800, 2290),
    ]),
    "caption": (ML, [
        ("distilbert", 91.3, "SST-2 accuracy %", 300, 4000, 1500),
        ("bert-base", 93.5, "SST-2 accuracy %", 600, 8000, 1500),
        ("roberta-base", 94.8, "SST-2 accuracy %", 650, 8600, 1500),
    ]),
    "review": (GENERAL, [("default", None, None, 30, 600, 300)]),
    "publish": (GENERAL, [("default", None, None, 50, 700, 400)]),
}


def fit(samples):
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump([{"memory_mb": s["memory_mb"], "duration_ms": s["duration_ms"]} for s in samples], f)
    out = subprocess.run([OPTISERVE, "fit", f.name, "--format", "json"], check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out)


functions = []
for fid, (grid, variants) in FUNCTIONS.items():
    vs = []
    for name, acc, metric, a, b, inv_g in variants:
        samples = []
        for m in grid:
            for _ in range(3):
                d = (a + b * math.exp(-m / inv_g)) * (1 + rng.gauss(0, 0.03))
                d = round(d, 2)
                samples.append({"memory_mb": m, "duration_ms": d,
                                "billed_duration_ms": math.ceil(d)})
        rep = fit(samples)
        v = {"name": name}
        if acc is not None:
            v["accuracy"] = {"value": acc, "metric": metric}
        v["model"] = {"kind": "exponential", **rep["model"]}
        v["fit"] = {"mape_percent": rep["mape_percent"], "r2": rep["r2"], "samples": rep["samples"]}
        v["samples"] = samples
        vs.append(v)
    functions.append({"id": fid, "memory": {"min_mb": grid.start, "max_mb": grid[-1],
                                            "step_mb": grid.step}, "variants": vs})

bundle = {
    "schema": "optiserve.bundle/v1",
    "name": "media-pipeline",
    "description": "Ingest, then classify and thumbnail in parallel; merge; detect objects (60%) or caption (40%); review, which sends 20% of items back to ingest; publish, retried on itself 10% of the time. Samples are synthetic: known curves with 3% noise, 3 per memory size.",
    "provenance": {"tool": "optiserve", "tool_version": "0.1.0",
                   "source": "synthetic example (examples/make_media_pipeline.py)"},
    "pricing": {"region": "us-east-1", "architecture": "x86_64", "price_per_gb_second": 0.0000166667,
                "price_per_request": 0.0000002, "billing_granularity_ms": 1.0,
                "step_functions": {"type": "standard", "price_per_transition": 0.000025}},
    "functions": functions,
    "workflow": {
        "edges": [
            {"from": a, "to": b, "probability": p} for a, b, p in [
                ("Start", "ingest", 1.0),
                ("ingest", "classify", 1.0), ("ingest", "thumbnail", 1.0),
                ("classify", "merge", 1.0), ("thumbnail", "merge", 1.0),
                ("merge", "detect", 0.6), ("merge", "caption", 0.4),
                ("detect", "review", 1.0), ("caption", "review", 1.0),
                ("review", "ingest", 0.2), ("review", "publish", 0.8),
                ("publish", "publish", 0.1), ("publish", "End", 0.9),
            ]
        ],
        "orchestration": {"state_ms": 18.81, "transition_ms": 1.0},
    },
    "accuracy": {
        "normalization": "min_max",
        "score": {"kind": "formula",
                  "expression": "0.5 * min(A(classify), A(detect)) + 0.3 * A(detect) + 0.2 * A(caption)"},
    },
    "deployed": {
        "ingest": {"memory_mb": 512, "variant": "default"},
        "classify": {"memory_mb": 4096, "variant": "resnet-50"},
        "thumbnail": {"memory_mb": 512, "variant": "default"},
        "merge": {"memory_mb": 320, "variant": "default"},
        "detect": {"memory_mb": 4096, "variant": "yolov10s"},
        "caption": {"memory_mb": 4096, "variant": "bert-base"},
        "review": {"memory_mb": 320, "variant": "default"},
        "publish": {"memory_mb": 512, "variant": "default"},
    },
}
with open("examples/media-pipeline.bundle.json", "w") as f:
    json.dump(bundle, f, indent=2)
    f.write("\n")
print("wrote examples/media-pipeline.bundle.json")
