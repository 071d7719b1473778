#!/usr/bin/env python3
"""Writes the data of the timing networks next to this script (not committed: the wide one is
2.6 MB): wide_mlp.data.json (1000 rows x 128 features) and mlp_14_64_64_1.data.json (2000 rows
x 14 features). Features are standard normal, y = tanh of a random projection plus 0.1 noise.
Standard library only; the seed makes the files reproducible."""
import json
import math
import pathlib
import random


def write(name, rows, features, rng):
    X = [[rng.gauss(0.0, 1.0) for _ in range(features)] for _ in range(rows)]
    w = [rng.gauss(0.0, 1.0) / math.sqrt(features) for _ in range(features)]
    y = [math.tanh(sum(a * b for a, b in zip(row, w))) + 0.1 * rng.gauss(0.0, 1.0) for row in X]
    # CmdStan JSON: a matrix is a list of rows.
    data = {"N": rows, "X": [[round(v, 6) for v in row] for row in X], "y": [round(v, 6) for v in y]}
    out = pathlib.Path(__file__).with_name(name + ".data.json")
    out.write_text(json.dumps(data) + "\n")


def main():
    rng = random.Random(2024)
    write("wide_mlp", 1000, 128, rng)
    write("mlp_14_64_64_1", 2000, 14, rng)


if __name__ == "__main__":
    main()
