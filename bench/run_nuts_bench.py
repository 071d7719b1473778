#!/usr/bin/env python3
"""Halo vs rstan 2.21: NUTS efficiency on the same models, data and settings, in one run
(issue 5 item 9, issue 6 items 4-5). See bench/README.md. Standard library only (plus R with
rstan, which the script installs from Debian when it is missing).

For every model, one after the other (the order alternates between repeats):
  rstan  bench/rstan_nuts.R: stan_model (compile, timed), sampling(), rstan::monitor;
  Halo   haloc (compile, timed), halo sample with the same settings, then bench/monitor_csv.R:
         rstan::monitor on Halo's CSV draws, so that both sides' bulk ESS and R-hat come from
         the same code (and `halo summary`'s own bulk ESS is checked against it).
Seconds are per-chain elapsed times (warmup + sampling) summed over the chains: rstan's
get_elapsed_time, Halo's `# Elapsed Time` lines. Gradient evaluations are n_leapfrog__ summed
over warmup and sampling. For the BNN the identifiable quantities (sigma, the posterior
predictive mean and 90% band at grid points) are compared between the two runs within Monte
Carlo error.
"""
import argparse
import ctypes
import datetime
import json
import os
import pathlib
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time

from bench_common import cpu_model, log, source_state, tool_version

REPO = pathlib.Path(__file__).resolve().parent.parent
BENCH = REPO / "bench"
PDB = REPO / "models" / "posteriordb"
R_PACKAGES = ["r-cran-rstan", "r-cran-jsonlite", "r-cran-stanheaders", "r-cran-rcppeigen"]

# name (as bench/rstan_nuts.R knows it) -> what Halo samples, and the ESS/s target of the issues
# (issue 5: >= 4x rstan on eight schools, the logistic regression and two posteriordb models;
# issue 6: >= 10x on the BNN).
MODELS = {
    "eight_schools": dict(label="eight schools (non-centred)",
                          model=PDB / "eight_schools-eight_schools_noncentered.model",
                          data=PDB / "eight_schools-eight_schools_noncentered.data.json", target=4),
    "logistic": dict(label="logistic regression N=5000 D=20", model=BENCH / "models" / "logistic.model",
                     data="GEN/logistic.data.json", target=4),
    "arK": dict(label="arK-arK", model=PDB / "arK-arK.model", data=PDB / "arK-arK.data.json", target=4),
    "low_dim": dict(label="low_dim_gauss_mix", model=PDB / "low_dim_gauss_mix-low_dim_gauss_mix.model",
                    data=PDB / "low_dim_gauss_mix-low_dim_gauss_mix.data.json", target=4),
    "bnn": dict(label="BNN 1-5-10-1 (N=100)", model=REPO / "models" / "bnn" / "bnn.model",
                data=REPO / "models" / "bnn" / "bnn.data.json", init="prior", target=10),
}
# BNN reference values (issue 6 item 4): grid indices (1-based) of x_grid = linspace(-1.3, 1.3,
# 100), every ~0.33 from -1.3 to 1.3.
BNN_GRID = [1, 14, 26, 38, 50, 51, 63, 75, 87, 100]
Z_LIMIT = 4.0


def ensure_r_packages():
    """Installs Debian's rstan and what it needs when any is missing (issue 5 item 9)."""
    missing = []
    for p in R_PACKAGES:
        r = subprocess.run(["dpkg-query", "-W", "-f=${Status}", p], capture_output=True, text=True)
        if r.returncode != 0 or "install ok installed" not in r.stdout:
            missing.append(p)
    if not missing:
        return
    cmd = ["apt-get", "-o", "DPkg::Lock::Timeout=600", "install", "-y", "--no-install-recommends", *missing]
    if os.geteuid() != 0:
        if not shutil.which("sudo"):
            raise SystemExit(f"missing {', '.join(missing)}: install them as root ({' '.join(cmd)})")
        cmd = ["sudo", *cmd]
    log(f"installing {', '.join(missing)}: {' '.join(cmd)}")
    if subprocess.run(cmd).returncode != 0:
        raise SystemExit("apt-get failed; install " + " ".join(missing) + " and run again")


def halo_param_names(so, data):
    """The parameters block's constrained names (`theta.1`), from the library itself
    (bs_param_names without transformed parameters and generated quantities)."""
    lib = ctypes.CDLL(str(so), mode=os.RTLD_LOCAL)
    lib.bs_model_construct.restype = ctypes.c_void_p
    lib.bs_model_construct.argtypes = [ctypes.c_char_p, ctypes.c_uint, ctypes.POINTER(ctypes.c_char_p)]
    lib.bs_param_names.restype = ctypes.c_char_p
    lib.bs_param_names.argtypes = [ctypes.c_void_p, ctypes.c_bool, ctypes.c_bool]
    lib.bs_model_destruct.argtypes = [ctypes.c_void_p]
    err = ctypes.c_char_p()
    m = lib.bs_model_construct(str(data).encode(), 1, ctypes.byref(err))
    if not m:
        raise SystemExit(f"{so}: the model could not be constructed with {data}")
    names = lib.bs_param_names(m, False, False).decode()
    lib.bs_model_destruct(m)
    return names.split(",") if names else []


def read_csv_columns(path, wanted):
    """{column: [values]} of the draws in a Stan CSV file, and its per-chain elapsed seconds."""
    cols, rows, elapsed = None, [], {}
    with open(path) as f:
        for line in f:
            if line.startswith("#"):
                m = re.match(r"#\s+(?:Elapsed Time:)?\s*([0-9.eE+-]+) seconds \((Warm-up|Sampling|Total)\)", line)
                if m:
                    elapsed[m.group(2)] = float(m.group(1))
                continue
            if cols is None:
                cols = line.rstrip("\n").split(",")
                idx = [cols.index(w) for w in wanted]
                continue
            if line.strip():
                v = line.rstrip("\n").split(",")
                rows.append([float(v[i]) for i in idx])
    if "Total" not in elapsed:
        raise SystemExit(f"{path}: no '# Elapsed Time' lines (an interrupted run?)")
    return {w: [r[k] for r in rows] for k, w in enumerate(wanted)}, elapsed


def run_rscript(args, what):
    r = subprocess.run(["Rscript", *map(str, args)], capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"{what} failed:\n{r.stderr[-3000:]}")
    return r


def monitor(csvs, params, quantities, out):
    """bench/monitor_csv.R on Stan CSV files: the parameters block's min bulk ESS and max
    R-hat, and summaries of `quantities`."""
    names_file = out.with_suffix(".params")
    names_file.write_text("\n".join(params) + "\n")
    args = [BENCH / "monitor_csv.R", "--params", f"@{names_file}", "--out", out]
    if quantities:
        args += ["--quantities", ",".join(quantities)]
    run_rscript(args + [*csvs], "bench/monitor_csv.R")
    return json.loads(out.read_text())


def halo_summary_ess(halo, csvs):
    """{name: bulk ESS} as `halo summary` prints it (a cross-check of its estimator)."""
    r = subprocess.run([str(halo), "summary", *map(str, csvs)], capture_output=True, text=True)
    if r.returncode != 0:
        return {}
    out, col = {}, None
    for line in r.stdout.splitlines():
        f = line.split()
        if f and "ESS_bulk" in f:
            col = f.index("ESS_bulk") + 1  # the name column has no header
            continue
        if col is not None and len(f) > col:
            try:
                out[f[0]] = float(f[col])
            except ValueError:
                pass
        if col is not None and not f:
            col = None if out else col
    return out


def run_rstan(name, a, work, gen):
    out = work / f"rstan-{name}.json"
    args = [BENCH / "rstan_nuts.R", "--models", name, "--chains", a.chains, "--warmup", a.warmup,
            "--samples", a.samples, "--seed", a.seed, "--cores", a.parallel, "--out", out, "--gen-dir", gen]
    if name == "bnn":
        args += ["--draws-dir", work / "rstan-draws"]
    t0 = time.perf_counter()
    run_rscript(args, f"bench/rstan_nuts.R ({name})")
    process_s = time.perf_counter() - t0
    rec = json.loads(out.read_text())["results"][0]
    return dict(compile_s=rec["compile_s"], sample_wall_s=rec["sampling_s"], chain_s=rec["chain_s"],
                min_ess_bulk=rec["min_ess_bulk"], gradients=rec["gradients"], divergent=rec["divergent"],
                max_rhat=rec["max_rhat"], wall_s=rec["wall_s"], process_s=process_s)


def run_halo(name, a, work, gen, haloc, halo):
    m = MODELS[name]
    data = str(m["data"]).replace("GEN", str(gen))
    so = work / f"{name}.so"
    t0 = time.perf_counter()
    r = subprocess.run([str(haloc), str(m["model"]), "-o", str(so)], capture_output=True, text=True)
    compile_s = time.perf_counter() - t0
    if r.returncode != 0:
        raise SystemExit(f"haloc {m['model']} failed:\n{r.stderr[-2000:]}")
    outdir = work / f"halo-{name}"
    shutil.rmtree(outdir, ignore_errors=True)
    cmd = [str(halo), "sample", str(so), "--data", data, "--chains", str(a.chains), "--threads", str(a.parallel),
           "--warmup", str(a.warmup), "--samples", str(a.samples), "--seed", str(a.seed), "--max-depth", "10",
           "--delta", "0.8", "--metric", "diag", "-o", str(outdir), "--quiet"]
    if m.get("init"):
        cmd += ["--init", m["init"]]
    t0 = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True)
    sample_wall_s = time.perf_counter() - t0
    if r.returncode != 0:
        raise SystemExit(f"halo sample ({name}) failed:\n{r.stderr[-2000:]}")
    csvs = sorted(outdir.glob("*-[0-9]*.csv"), key=lambda p: int(p.stem.rsplit("-", 1)[1]))
    if len(csvs) != a.chains:
        raise SystemExit(f"halo sample ({name}): expected {a.chains} CSV files in {outdir}, found {len(csvs)}")
    chain_s, leapfrogs, divergent = 0.0, 0, 0
    for c in csvs:
        cols, elapsed = read_csv_columns(c, ["n_leapfrog__", "divergent__"])
        chain_s += elapsed["Total"]
        divergent += int(sum(cols["divergent__"]))
    # Warmup rows are not in the files: the leapfrog steps of warmup and sampling come from the
    # run's configuration record (the same counts as the CSV's n_leapfrog__ for sampling).
    config = json.loads(next(outdir.glob("*-config.json")).read_text())
    for c in config["chain_results"]:
        leapfrogs += c["leapfrog_steps_warmup"] + c["leapfrog_steps_sampling"]
    params = halo_param_names(so, data)
    quantities = bnn_quantities() if name == "bnn" else []
    mon = monitor(csvs, params, quantities, work / f"halo-{name}-monitor.json")
    ess_halo = halo_summary_ess(halo, csvs)
    diffs = [abs(ess_halo[p] - mon["ess_bulk"][p]) / mon["ess_bulk"][p] for p in params if p in ess_halo]
    return dict(compile_s=compile_s, sample_wall_s=sample_wall_s, chain_s=chain_s,
                min_ess_bulk=mon["min_ess_bulk"], argmin=mon["argmin_ess_bulk"], gradients=leapfrogs,
                divergent=divergent, max_rhat=mon["max_rhat"], wall_s=compile_s + sample_wall_s,
                summary_ess_max_rel_diff=max(diffs) if len(diffs) == len(params) else None,
                quantities=mon.get("quantities"), csvs=[str(c) for c in csvs], so=str(so), data=data)


def bnn_quantities():
    return ["sigma"] + [f"mu_grid.{k}" for k in BNN_GRID] + [f"y_grid.{k}" for k in BNN_GRID]


def gradient_ns(bench_gradient_time, so, data):
    """Halo's gradient time alone (bench_gradient_time, 1 s), to set against the sampler's time
    per gradient evaluation: the difference is the sampler's own overhead per leapfrog step."""
    if not bench_gradient_time.exists():
        return None
    r = subprocess.run([str(bench_gradient_time), so, data, "1"], capture_output=True, text=True)
    m = re.search(r"gradient ([0-9.]+) (ns|us|ms)", r.stdout)
    if r.returncode != 0 or not m:
        return None
    return float(m.group(1)) * {"ns": 1, "us": 1e3, "ms": 1e6}[m.group(2)]


def fmt_sig(x):
    """Three significant digits at least, thousands separated: 0.201, 3.42, 21,614."""
    if x is None:
        return "-"
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:.3g}"


def fmt(x, spec):
    return "-" if x is None else format(x, spec)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=str(REPO / "build"), help="Halo build directory (default: build/)")
    ap.add_argument("--models", default=",".join(MODELS),
                    help=f"comma-separated subset of {','.join(MODELS)} (default: all)")
    ap.add_argument("--repeats", type=int, default=1, help="runs of the whole set; medians are reported (default 1)")
    ap.add_argument("--chains", type=int, default=4)
    ap.add_argument("--warmup", type=int, default=1000)
    ap.add_argument("--samples", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--parallel", type=int, default=1,
                    help="chains run at once, on both sides (rstan cores, halo --threads; default 1: on a "
                         "shared 2-core machine a second chain competes with other work for the cores)")
    ap.add_argument("--work", help="scratch directory (default BUILD/nuts-bench)")
    ap.add_argument("--no-install", action="store_true", help="do not apt-get install missing R packages")
    ap.add_argument("--out", default=str(BENCH / "results" / "nuts.md"),
                    help="markdown report (default bench/results/nuts.md; 'none' for none)")
    a = ap.parse_args()

    chosen = [m.strip() for m in a.models.split(",") if m.strip()]
    bad = [m for m in chosen if m not in MODELS]
    if bad or not chosen:
        raise SystemExit(f"unknown model(s) {', '.join(bad) or '(none)'}; known: {', '.join(MODELS)}")
    if min(a.repeats, a.chains, a.warmup, a.samples, a.parallel) < 1:
        raise SystemExit("--repeats, --chains, --warmup, --samples and --parallel must be at least 1")
    build = pathlib.Path(a.build).resolve()
    haloc, halo = build / "bin" / "haloc", build / "bin" / "halo"
    for exe in (haloc, halo):
        if not exe.exists():
            raise SystemExit(f"{exe} not found: build it (cmake --build build --target haloc halo)")
    if not a.no_install:
        ensure_r_packages()
    if not shutil.which("Rscript"):
        raise SystemExit("Rscript not found: install r-base-core and " + " ".join(R_PACKAGES))
    work = pathlib.Path(a.work or build / "nuts-bench").resolve()
    gen = work / "data"
    gen.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, str(BENCH / "make_data.py"), str(gen)], check=True)

    load_before = os.getloadavg()
    started = time.perf_counter()
    runs = {m: [] for m in chosen}
    first_halo, first_rstan_draws = {}, None
    for rep in range(a.repeats):
        for name in chosen:
            rep_dir = work / f"run{rep + 1}"
            rep_dir.mkdir(parents=True, exist_ok=True)
            sides = ["rstan", "halo"] if rep % 2 == 0 else ["halo", "rstan"]
            res = {}
            for side in sides:
                log(f"run {rep + 1}/{a.repeats} {name}: {side}")
                if side == "rstan":
                    res["rstan"] = run_rstan(name, a, rep_dir, gen)
                else:
                    res["halo"] = run_halo(name, a, rep_dir, gen, haloc, halo)
            s, h = res["rstan"], res["halo"]
            for r in (s, h):
                r["ess_per_s"] = r["min_ess_bulk"] / r["chain_s"]
                r["grad_per_s"] = r["gradients"] / r["chain_s"]
            log(f"  rstan: ESS {s['min_ess_bulk']:.0f}, {s['chain_s']:.2f} chain-s -> {s['ess_per_s']:.1f}/s; "
                f"Halo: ESS {h['min_ess_bulk']:.0f}, {h['chain_s']:.3f} chain-s -> {h['ess_per_s']:.1f}/s; "
                f"ratio {h['ess_per_s'] / s['ess_per_s']:.1f}")
            runs[name].append(res)
            if rep == 0:
                first_halo[name] = h
                if name == "bnn":
                    first_rstan_draws = rep_dir / "rstan-draws"
    load_after = os.getloadavg()
    total_s = time.perf_counter() - started

    def med(name, side, key):
        vals = [r[side][key] for r in runs[name] if r[side].get(key) is not None]
        return statistics.median(vals) if vals else None

    head = ["model", "side", "min bulk ESS", "chain s (sum)", "min ESS / s", "gradients / s", "us / gradient",
            "compile s", "wall s incl. compile", "divergences", "max R-hat", "Halo/rstan ESS/s", "target"]
    table = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    verdicts, overhead_rows = [], []
    for name in chosen:
        m = MODELS[name]
        ratios = [r["halo"]["ess_per_s"] / r["rstan"]["ess_per_s"] for r in runs[name]]
        ratio = statistics.median(ratios)
        for side, label in (("rstan", "rstan 2.21"), ("halo", "Halo")):
            us_per_grad = med(name, side, "chain_s") / med(name, side, "gradients") * 1e6
            table.append("| " + " | ".join([
                m["label"] if side == "rstan" else "", label,
                fmt(med(name, side, "min_ess_bulk"), ".0f"), fmt(med(name, side, "chain_s"), ".3g"),
                fmt_sig(med(name, side, "ess_per_s")), fmt(med(name, side, "grad_per_s"), ",.3g"),
                fmt(us_per_grad, ".3g"), fmt(med(name, side, "compile_s"), ".2f"),
                fmt(med(name, side, "wall_s"), ".1f"),
                fmt(med(name, side, "divergent"), ".0f"), fmt(med(name, side, "max_rhat"), ".3f"),
                f"**{ratio:.1f}x**" if side == "halo" else "",
                f">= {m['target']}x" if side == "halo" else ""]) + " |")
        verdicts.append((name, ratio, min(ratios), max(ratios), m["target"]))
        h = first_halo[name]
        g = gradient_ns(build / "bin" / "bench_gradient_time", h["so"], h["data"])
        per = h["chain_s"] / h["gradients"] * 1e9
        overhead_rows.append((name, per, g))

    lines_summary = []
    met = [v for v in verdicts if v[1] >= v[4]]
    for name, ratio, lo, hi, target in verdicts:
        spread = f" (runs {lo:.1f}-{hi:.1f})" if a.repeats > 1 else ""
        lines_summary.append(f"- {MODELS[name]['label']}: Halo/rstan min-bulk-ESS per second **{ratio:.1f}x**{spread}; "
                             f"target >= {target}x: {'met' if ratio >= target else 'NOT met'}")
    overhead = ["| model | Halo sampler ns / gradient evaluation | Halo gradient alone ns | rest (sampler, output) ns |",
                "|---|---|---|---|"]
    for name, per, g in overhead_rows:
        overhead.append(f"| {MODELS[name]['label']} | {per:,.0f} | {fmt(g, ',.0f')} | "
                        f"{fmt(None if g is None else per - g, ',.0f')} |")
    ess_check = [f"{MODELS[n]['label']}: {first_halo[n]['summary_ess_max_rel_diff']:.1e}"
                 for n in chosen if first_halo[n].get("summary_ess_max_rel_diff") is not None]

    bnn_lines = []
    bnn_bad = 0
    if "bnn" in chosen and first_rstan_draws is not None:
        rcsv = sorted(first_rstan_draws.glob("bnn-*.csv"))
        ref = monitor(rcsv, ["sigma"], bnn_quantities(), first_rstan_draws / "monitor.json")["quantities"]
        hq = first_halo["bnn"]["quantities"]
        x_grid = json.loads(pathlib.Path(MODELS["bnn"]["data"]).read_text())["x_grid"]
        bnn_lines = ["| quantity | rstan (MCSE) | Halo (MCSE) | z | rstan R-hat / bulk ESS | Halo R-hat / bulk ESS |",
                     "|---|---|---|---|---|---|"]

        def row(label, key, stat):
            nonlocal bnn_bad
            r, h = ref[key], hq[key]
            mc = {"mean": "mcse_mean", "sd": "mcse_sd", "q5": "mcse_q5", "q95": "mcse_q95"}[stat]
            z = (h[stat] - r[stat]) / (r[mc] ** 2 + h[mc] ** 2) ** 0.5
            bnn_bad += abs(z) >= Z_LIMIT
            bnn_lines.append(f"| {label} | {r[stat]:.4g} ({r[mc]:.2g}) | {h[stat]:.4g} ({h[mc]:.2g}) | "
                             f"{z:+.2f}{'' if abs(z) < Z_LIMIT else ' **!**'} | {r['rhat']:.3f} / {r['ess_bulk']:.0f} | "
                             f"{h['rhat']:.3f} / {h['ess_bulk']:.0f} |")
        row("sigma: mean", "sigma", "mean")
        row("sigma: sd", "sigma", "sd")
        for k in BNN_GRID:
            x = x_grid[k - 1]
            row(f"mu_grid[{k}] (x = {x:+.2f}): mean", f"mu_grid.{k}", "mean")
        for k in BNN_GRID:
            x = x_grid[k - 1]
            row(f"y_grid[{k}] (x = {x:+.2f}): 5%", f"y_grid.{k}", "q5")
            row(f"y_grid[{k}] (x = {x:+.2f}): 95%", f"y_grid.{k}", "q95")
        n_cmp = len(bnn_lines) - 2
        bnn_lines.append("")
        bnn_lines.append(f"{n_cmp - bnn_bad}/{n_cmp} within |z| < {Z_LIMIT:g} "
                         "(z = (Halo - rstan) / sqrt(MCSE_Halo^2 + MCSE_rstan^2)).")

    print("\n".join(table))
    print("\n".join(lines_summary))
    if bnn_lines:
        print("\n".join(bnn_lines))

    if a.out != "none":
        commit, dirty = source_state(REPO)
        cpu = cpu_model()
        rver = subprocess.run(["Rscript", "-e", "cat(as.character(packageVersion('rstan')), "
                               "as.character(packageVersion('StanHeaders')))"], capture_output=True, text=True)
        rstan_v, sh_v = (rver.stdout.split() + ["?", "?"])[:2]
        lines = [
            "# NUTS efficiency: Halo vs rstan 2.21",
            "",
            f"Written by `{' '.join(['bench/run-nuts-bench.sh', *sys.argv[1:]])}` on "
            f"{datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')} "
            f"({total_s / 60:.0f} min).",
            "",
            f"- Machine: {cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}; load average "
            f"{load_before[0]:.1f} before, {load_after[0]:.1f} after (the cores are shared: see bench/README.md)",
            f"- Halo: {tool_version([str(haloc), '--version'])}, commit {commit}"
            f"{' (uncommitted changes)' if dirty else ''}; rstan {rstan_v}, StanHeaders {sh_v}, "
            f"{tool_version(['g++', '--version'])} (R's default flags)",
            f"- Both sides: {a.chains} chains x ({a.warmup} warmup + {a.samples} draws), seed {a.seed}, "
            f"{a.parallel} chain(s) at once, diag metric, delta 0.8, max depth 10; same data. "
            f"Halo's BNN starts from `--init prior`, rstan's from its default uniform(-2, 2). "
            f"{a.repeats} run(s) of the set, medians shown; per model rstan and Halo run one after the other.",
            "- Min bulk ESS: over the parameters block (not transformed parameters or generated quantities), "
            "rank-normalised bulk ESS (Vehtari et al. 2021) by `rstan::monitor` on both sides (Halo's CSV "
            "draws through bench/monitor_csv.R). Seconds: per-chain elapsed time, warmup + sampling, summed "
            "over chains (rstan's get_elapsed_time; Halo's `# Elapsed Time` lines): ESS per core-second. "
            "Gradients: n_leapfrog__ over warmup and sampling. Wall: compile + the sampling call "
            "(rstan's sampling() includes starting R workers; Halo's is the `halo sample` process).",
            "",
            *table,
            "",
            *lines_summary,
            f"- Targets met: {len(met)}/{len(verdicts)}.",
            "",
            "## Where Halo's time per gradient evaluation goes (run 1)",
            "",
            "Sampler time per gradient evaluation (chain seconds / gradient evaluations, so it includes "
            "everything a chain does per iteration: NUTS, adaptation, constraining and generated quantities, "
            "writing the CSV row) against the gradient alone (`bench_gradient_time`, same library, same machine, "
            "right after):",
            "",
            *overhead,
        ]
        if ess_check:
            lines += ["", "`halo summary`'s bulk ESS against rstan::monitor's on the same Halo draws, largest "
                      "relative difference over the parameters (halo summary prints whole numbers): " + "; ".join(ess_check) + "."]
        if bnn_lines:
            lines += ["", "## BNN: Halo against the rstan reference (issue 6 item 4)", "",
                      "Run 1's draws: posterior mean and sd of sigma, the posterior predictive mean (`mu_grid`) and "
                      "90% band (5% and 95% quantiles of `y_grid`) at grid points, with Monte Carlo standard "
                      "errors (rstan's mcse_mean, mcse_sd, mcse_quantile) on both sides. Network weights are not "
                      "identifiable (symmetries) and are not compared.", "", *bnn_lines]
        out = pathlib.Path(a.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text("\n".join(lines) + "\n")
        log(f"wrote {out}")


if __name__ == "__main__":
    main()
