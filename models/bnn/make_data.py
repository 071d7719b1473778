#!/usr/bin/env python3
"""Writes bnn.data.json, the data of bnn.model (design.md, use case 2): 100 points of
y = 0.3 + sin(2 pi x / 2.5) + 0.2 eps on x in [-1, 1], and a prediction grid over the wider
range [-1.3, 1.3]. Standard library only; the seed makes the file reproducible."""
import json
import math
import pathlib
import random


def linspace(lo, hi, n):
    return [lo + (hi - lo) * i / (n - 1) for i in range(n)]


def main():
    rng = random.Random(1)
    x = linspace(-1.0, 1.0, 100)
    y = [0.3 + math.sin(2 * math.pi * xi / 2.5) + 0.2 * rng.gauss(0.0, 1.0) for xi in x]
    x_grid = linspace(-1.3, 1.3, 100)
    data = {"N": len(x), "x": x, "y": y, "N_grid": len(x_grid), "x_grid": x_grid}
    out = pathlib.Path(__file__).with_name("bnn.data.json")
    out.write_text(json.dumps(data) + "\n")


if __name__ == "__main__":
    main()
