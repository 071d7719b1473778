#!/usr/bin/env python3
"""Writes the generated benchmark data sets as CmdStan JSON (standard library only; fixed seeds,
so every run and every machine gets the same files):
  logistic.data.json  N = 5000 rows, D = 20 standard-normal predictors, y ~ Bernoulli(
                      inv_logit(0.3 + X beta)) with beta drawn once from N(0, 0.5^2)
  bnn_wide.data.json  N = 2000 rows, 14 standard-normal features, y a smooth nonlinear
                      function of them plus N(0, 0.3^2) noise
Usage: make_data.py OUTDIR"""
import json
import math
import pathlib
import random
import sys


def logistic(rng):
    n, d = 5000, 20
    beta = [rng.gauss(0.0, 0.5) for _ in range(d)]
    X = [[round(rng.gauss(0.0, 1.0), 6) for _ in range(d)] for _ in range(n)]
    y = []
    for row in X:
        eta = 0.3 + sum(b * x for b, x in zip(beta, row))
        y.append(1 if rng.random() < 1.0 / (1.0 + math.exp(-eta)) else 0)
    return {"N": n, "D": d, "X": X, "y": y}


def bnn_wide(rng):
    n, d = 2000, 14
    X = [[round(rng.gauss(0.0, 1.0), 6) for _ in range(d)] for _ in range(n)]
    y = []
    for r in X:
        f = math.sin(r[0]) + 0.5 * r[1] * r[2] + math.tanh(r[3] - r[4]) + sum(r[5:]) / 9.0
        y.append(round(f + 0.3 * rng.gauss(0.0, 1.0), 6))
    return {"N": n, "X": X, "y": y}


def main():
    out = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    out.mkdir(parents=True, exist_ok=True)
    for name, make, seed in (("logistic", logistic, 20261123), ("bnn_wide", bnn_wide, 14646401)):
        (out / f"{name}.data.json").write_text(json.dumps(make(random.Random(seed))) + "\n")


if __name__ == "__main__":
    main()
