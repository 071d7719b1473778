#!/usr/bin/env python3
"""Plots the BNN's posterior predictive: the data, the predictive mean and the 90% band of
y_grid over x_grid, from the Stan CSV files that `halo sample` wrote. Standard library only.

usage: plot.py bnn.data.json out.svg chain1.csv [chain2.csv ...]

Prints a table of the predictive mean and 5% / 95% quantiles at a few grid points."""
import csv
import json
import sys


def read_draws(paths, prefix):
    """Columns prefix.1 .. prefix.K of every draw (comment lines skipped)."""
    draws = []
    for path in paths:
        with open(path, newline="") as f:
            rows = csv.reader(line for line in f if not line.startswith("#"))
            header = next(rows)
            cols = [i for i, name in enumerate(header) if name.startswith(prefix + ".")]
            cols.sort(key=lambda i: int(header[i].split(".")[1]))
            for row in rows:
                if row:
                    draws.append([float(row[i]) for i in cols])
    if not draws:
        sys.exit("no draws with columns %s.k in %s" % (prefix, ", ".join(paths)))
    return draws


def quantile(sorted_values, p):
    """Linear interpolation between order statistics (type 7, as R and numpy)."""
    h = (len(sorted_values) - 1) * p
    lo = int(h)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (h - lo) * (sorted_values[hi] - sorted_values[lo])


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    data = json.load(open(sys.argv[1]))
    out = sys.argv[2]
    draws = read_draws(sys.argv[3:], "y_grid")
    xg = data["x_grid"]
    k = len(xg)
    mean, lo, hi = [], [], []
    for j in range(k):
        column = sorted(d[j] for d in draws)
        mean.append(sum(column) / len(column))
        lo.append(quantile(column, 0.05))
        hi.append(quantile(column, 0.95))

    width, height, pad = 720, 440, 50
    xs, ys = data["x"], data["y"]
    x_min, x_max = min(xg + xs), max(xg + xs)
    y_min, y_max = min(lo + ys), max(hi + ys)
    sx = lambda x: pad + (x - x_min) / (x_max - x_min) * (width - 2 * pad)
    sy = lambda y: height - pad - (y - y_min) / (y_max - y_min) * (height - 2 * pad)
    band = " ".join("%.2f,%.2f" % (sx(x), sy(y)) for x, y in zip(xg, hi))
    band += " " + " ".join("%.2f,%.2f" % (sx(x), sy(y)) for x, y in reversed(list(zip(xg, lo))))
    line = " ".join("%.2f,%.2f" % (sx(x), sy(y)) for x, y in zip(xg, mean))
    parts = [
        '<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="12">' % (width, height),
        '<rect width="100%" height="100%" fill="white"/>',
        '<polygon points="%s" fill="#9ecae1" fill-opacity="0.6" stroke="none"/>' % band,
        '<polyline points="%s" fill="none" stroke="#08519c" stroke-width="2"/>' % line,
    ]
    parts += ['<circle cx="%.2f" cy="%.2f" r="2.5" fill="#333"/>' % (sx(x), sy(y)) for x, y in zip(xs, ys)]
    parts.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>' % (pad, height - pad, width - pad, height - pad))
    parts.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>' % (pad, pad, pad, height - pad))
    for i in range(5):
        xv = x_min + (x_max - x_min) * i / 4
        yv = y_min + (y_max - y_min) * i / 4
        parts.append('<text x="%.1f" y="%d" text-anchor="middle">%.2f</text>' % (sx(xv), height - pad + 18, xv))
        parts.append('<text x="%d" y="%.1f" text-anchor="end">%.2f</text>' % (pad - 6, sy(yv) + 4, yv))
    parts.append('<text x="%d" y="24" font-size="14">BNN posterior predictive: data, mean, 90%% band (%d draws)</text>' % (pad, len(draws)))
    parts.append("</svg>")
    with open(out, "w") as f:
        f.write("\n".join(parts) + "\n")
    print("x        mean      q5        q95")
    for j in range(0, k, max(1, k // 8)):
        print("%-8.3f %-9.4f %-9.4f %-9.4f" % (xg[j], mean[j], lo[j], hi[j]))
    print("wrote", out)


if __name__ == "__main__":
    main()
