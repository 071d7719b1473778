#!/usr/bin/env python3
"""Writes reference_draws.csv: the draws the summary tests and posterior_reference.R share.

Long format (quantity,chain,draw,value), values with 17 significant digits so that C++ and R
read the same doubles. Pure Python (random.Random), fixed seed: re-running reproduces the file.
"""
import math
import random

rng = random.Random(20240517)


def ar1(n, rho, scale=1.0):
    x = rng.gauss(0, scale / math.sqrt(max(1e-12, 1 - rho * rho)))
    out = []
    for _ in range(n):
        x = rho * x + rng.gauss(0, scale)
        out.append(x)
    return out


def poisson(lam):
    # Knuth's method: integer draws, many ties.
    l, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= l:
            return k
        k += 1


quantities = {
    "iid": [[rng.gauss(0, 1) for _ in range(200)] for _ in range(4)],
    "ar1": [ar1(200, 0.9) for _ in range(4)],
    "shifted": [[rng.gauss(1.5 if c == 3 else 0.0, 1) for _ in range(200)] for c in range(4)],
    "odd": [ar1(101, 0.5) for _ in range(3)],
    "ties": [[float(poisson(3.0)) for _ in range(200)] for _ in range(4)],
    "heavy": [[rng.gauss(0, 1) / max(1e-3, abs(rng.gauss(0, 1))) for _ in range(150)] for _ in range(2)],
    "antithetic": [ar1(200, -0.6) for _ in range(4)],
    "short": [[rng.gauss(0, 1) for _ in range(7)] for _ in range(2)],
}

with open("reference_draws.csv", "w") as f:
    f.write("quantity,chain,draw,value\n")
    for name, chains in quantities.items():
        for c, chain in enumerate(chains):
            for i, v in enumerate(chain):
                f.write("%s,%d,%d,%s\n" % (name, c + 1, i + 1, repr(float(v))))
