#!/usr/bin/env python3
"""Writes simulated galaxy-cluster data for cluster_mdn.model: N clusters, each with a log mass
log M200c ~ U(13.5, 15.5) and 14 summary features that depend on it non-linearly, with
heteroscedastic scatter (a stand-in for the simulated catalogue, which is not bundled).
Standard library only; the seed makes the file reproducible.

usage: make_data.py [N] [output.json]   (defaults: 2000, cluster_mdn.data.json beside this file)
"""
import json
import math
import pathlib
import random
import sys


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    out = pathlib.Path(sys.argv[2]) if len(sys.argv) > 2 else pathlib.Path(__file__).with_name("cluster_mdn.data.json")
    rng = random.Random(7)
    x, log_mass = [], []
    for _ in range(n):
        m = rng.uniform(13.5, 15.5)
        t = m - 14.5
        # Richness, velocity dispersion, X-ray luminosity, ... like features: powers of the mass
        # with scatter that grows at low mass, plus a few nuisance features.
        scatter = 0.15 + 0.1 * max(0.0, -t)
        row = [
            0.8 * t + rng.gauss(0, scatter),
            0.33 * t + rng.gauss(0, 0.05),
            1.3 * t + rng.gauss(0, 2 * scatter),
            math.tanh(t) + rng.gauss(0, 0.1),
            t * t + rng.gauss(0, 0.2),
        ]
        row += [0.5 * t * math.sin(k) + rng.gauss(0, 0.3) for k in range(5)]
        row += [rng.gauss(0, 1) for _ in range(4)]
        x.append([round(v, 6) for v in row])
        log_mass.append(round(m, 6))
    out.write_text(json.dumps({"N": n, "x": x, "log_mass": log_mass}) + "\n")


if __name__ == "__main__":
    main()
