#!/usr/bin/env python3
"""Regenerates examples/six-functions.bundle.json: the benchmark application of the optimize issue —
six functions, three of them ML stages with five model variants each, sixteen memory sizes per
function: 16^3 general x (16*5)^3 ML options = 2.1e9 configurations. Curves are illustrative.

Run from the repository root: python3 examples/make_six_functions.py
"""
import json

GENERAL = {"min_mb": 128, "max_mb": 3008, "step_mb": 192}
ML = {"min_mb": 1024, "max_mb": 8704, "step_mb": 512}


def exp(a, b, inv_g):
    return {"kind": "exponential", "alpha_ms": a, "beta_ms": b, "gamma_per_mb": 1.0 / inv_g}


def general(fid, a, b, inv_g):
    return {"id": fid, "memory": GENERAL, "variants": [{"name": "default", "model": exp(a, b, inv_g)}]}


def ml(fid, metric, variants):
    return {"id": fid, "memory": ML, "variants": [
        {"name": n, "accuracy": {"value": acc, "metric": metric}, "model": exp(a, b, g)}
        for n, acc, a, b, g in variants]}


bundle = {
    "schema": "optiserve.bundle/v1",
    "name": "six-functions",
    "description": "Benchmark application: pre-process, then classify and detect in parallel, merge, analyse text (60%) or skip it, post-process; 10% of executions go around again. 2.1e9 configurations.",
    "provenance": {"tool": "optiserve", "tool_version": "0.1.0",
                   "source": "synthetic benchmark (examples/make_six_functions.py)"},
    "pricing": {"region": "us-east-1", "architecture": "x86_64", "price_per_gb_second": 0.0000166667,
                "price_per_request": 0.0000002, "billing_granularity_ms": 1.0},
    "functions": [
        general("pre", 60, 1800, 450),
        ml("classify", "ImageNet top-1 %", [
            ("resnet-18", 69.76, 516, 6500, 1510), ("resnet-34", 73.31, 830, 10400, 1550),
            ("resnet-50", 76.13, 1140, 14900, 1590), ("resnet-101", 77.37, 2150, 25700, 1490),
            ("resnet-152", 78.31, 3050, 36200, 1470)]),
        ml("detect", "COCO mAP50-95", [
            ("yolov10n", 38.5, 1160, 8740, 2480), ("yolov10s", 46.3, 2650, 21600, 2350),
            ("yolov10m", 51.1, 4300, 37800, 2290), ("yolov10b", 52.5, 5200, 45500, 2260),
            ("yolov10l", 53.2, 5900, 52400, 2240)]),
        general("merge", 25, 400, 300),
        ml("nlp", "SST-2 accuracy %", [
            ("distilbert", 91.3, 300, 4000, 1500), ("bert-base", 93.5, 600, 8000, 1500),
            ("roberta-base", 94.8, 650, 8600, 1500), ("bert-large", 94.9, 1900, 26000, 1450),
            ("roberta-large", 96.4, 2000, 27500, 1450)]),
        general("post", 40, 900, 380),
    ],
    "workflow": {"edges": [
        {"from": a, "to": b, "probability": p} for a, b, p in [
            ("Start", "pre", 1.0), ("pre", "classify", 1.0), ("pre", "detect", 1.0),
            ("classify", "merge", 1.0), ("detect", "merge", 1.0),
            ("merge", "nlp", 0.6), ("merge", "post", 0.4), ("nlp", "post", 1.0),
            ("post", "pre", 0.1), ("post", "End", 0.9)]]},
    "accuracy": {"normalization": "min_max",
                 "score": {"kind": "weighted_sum", "weights": {"classify": 0.4, "detect": 0.4, "nlp": 0.2}}},
    "deployed": {},
}
with open("examples/six-functions.bundle.json", "w") as f:
    json.dump(bundle, f, indent=2)
    f.write("\n")
print("wrote examples/six-functions.bundle.json")
