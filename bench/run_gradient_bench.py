#!/usr/bin/env python3
"""Halo vs Stan Math 2.21: compile time, log density and gradient time per call, and a
correctness cross-check of the two at the same points (issue 4 item 9, issue 6 item 5).
See bench/README.md. Standard library only.

For every model: haloc compiles it (wall time, median of --haloc-runs); the Stan twin in
bench/stan/ goes through rstan::stanc and g++ -O3 -march=native into bench/stan/harness.cpp
(cached by content hash); the harness loads the Halo library too, checks gradients, log
densities and constrained values against Stan at random points, and times both, interleaved.
The whole set runs --repeats times; the table shows the median over repeats of each figure.
"""
import argparse
import concurrent.futures
import datetime
import hashlib
import json
import os
import pathlib
import platform
import shutil
import statistics
import subprocess
import sys
import time

from bench_common import cpu_model, log, source_state, tool_version

REPO = pathlib.Path(__file__).resolve().parent.parent
BENCH = REPO / "bench"
SITE = pathlib.Path("/usr/lib/R/site-library")

POSTERIORDB = [
    "arK-arK", "arma-arma11", "diamonds-diamonds", "earnings-logearn_interaction",
    "eight_schools-eight_schools_noncentered", "garch-garch11", "gp_pois_regr-gp_pois_regr",
    "hmm_example-hmm_example", "kidiq-kidscore_interaction", "kidiq-kidscore_momiq",
    "kilpisjarvi_mod-kilpisjarvi", "low_dim_gauss_mix-low_dim_gauss_mix",
    "mesquite-logmesquite_logvas", "nes1980-nes", "sblri-blr",
]

# Tolerances of the cross-check (relative; see harness.cpp for how each is measured).
GRAD_TOL = 1e-8
LP_TOL = 1e-10


def models(gen):
    """(name, halo .model, stan .stan, data .json) for every benchmarked model."""
    out = []
    for p in POSTERIORDB:
        out.append((p, REPO / "models" / "posteriordb" / f"{p}.model", BENCH / "stan" / f"{p}.stan",
                    REPO / "models" / "posteriordb" / f"{p}.data.json"))
    out.append(("logistic (N=5000, D=20)", BENCH / "models" / "logistic.model", BENCH / "stan" / "logistic.stan",
                gen / "logistic.data.json"))
    out.append(("bnn 1-5-10-1 (N=100)", REPO / "models" / "bnn" / "bnn.model", BENCH / "stan" / "bnn.stan",
                REPO / "models" / "bnn" / "bnn.data.json"))
    out.append(("bnn 14-64-64-1 (N=2000)", BENCH / "models" / "bnn_wide.model", BENCH / "stan" / "bnn_wide.stan",
                gen / "bnn_wide.data.json"))
    return out


def stan_flags(boost_dir):
    """toolchain.md section 7, with -isystem so that Stan's headers do not warn."""
    inc = [SITE / "StanHeaders/include", SITE / "StanHeaders/include/src", SITE / "RcppEigen/include",
           SITE / "RcppEigen/include/unsupported", SITE / "RcppParallel/include", boost_dir]
    flags = ["-std=gnu++14", "-O3", "-march=native", "-Wall", "-Wextra", "-DNDEBUG", "-DEIGEN_NO_DEBUG",
             "-DBOOST_DISABLE_ASSERTS", "-DBOOST_PENDING_INTEGER_LOG2_HPP", "-DBOOST_NO_AUTO_PTR", "-D_REENTRANT"]
    for d in inc:
        flags += ["-isystem", str(d)]
    return flags


STAN_LIBS = ["-L" + str(SITE / "StanHeaders/lib"), "-lStanHeaders", "-ltbb", "-lpthread", "-ldl"]


def digest(*parts):
    h = hashlib.sha256()
    for p in parts:
        h.update(p if isinstance(p, bytes) else str(p).encode())
        h.update(b"\0")
    return h.hexdigest()[:16]


def safe(name):
    return "".join(c if c.isalnum() else "_" for c in name)


def build_stan(todo, cache, jobs, use_pch):
    """Builds the harness of each (name, stan) in `todo`; returns {name: harness path or None}
    and {name: error}. Each model's object (stanc output, ~1 min of g++) is cached by the hash of
    its Stan program and the toolchain; the harness's own object by the hash of harness.cpp;
    linking them takes a second."""
    boost_dir = cache / "boost"  # toolchain.md 7: a directory holding only boost -> /usr/include/boost
    boost_dir.mkdir(parents=True, exist_ok=True)
    if not (boost_dir / "boost").exists():
        (boost_dir / "boost").symlink_to("/usr/include/boost")
    flags = stan_flags(boost_dir)
    desc = SITE / "StanHeaders/DESCRIPTION"
    env_key = digest(" ".join(flags), tool_version(["g++", "--version"]), desc.read_bytes() if desc.exists() else b"")
    pch_src = BENCH / "stan" / "stan_pch.hpp"
    harness_src = BENCH / "stan" / "harness.cpp"
    stanc_src = BENCH / "stan" / "stanc.R"
    if use_pch:
        pch_dir = cache / f"pch-{digest(env_key, pch_src.read_bytes())}"
        if not (pch_dir / "stan_pch.hpp.gch").exists():
            log("building the Stan precompiled header (about a minute, once)")
            pch_dir.mkdir(parents=True, exist_ok=True)
            shutil.copy(pch_src, pch_dir / "stan_pch.hpp")
            r = subprocess.run(["g++", *flags, "-x", "c++-header", str(pch_dir / "stan_pch.hpp"), "-o",
                                str(pch_dir / "stan_pch.hpp.tmp.gch")], capture_output=True, text=True)
            if r.returncode != 0:
                raise SystemExit("precompiled header failed:\n" + r.stderr[-3000:])
            os.replace(pch_dir / "stan_pch.hpp.tmp.gch", pch_dir / "stan_pch.hpp.gch")
        prelude = ["-Winvalid-pch", "-include", str(pch_dir / "stan_pch.hpp")]
        env_key = digest(env_key, pch_src.read_bytes())
    else:
        prelude = ["-include", str(SITE / "StanHeaders/include/stan/math/prim/mat/fun/Eigen.hpp")]

    def compile_object(src, obj, lang_args=()):
        t0 = time.perf_counter()
        cmd = ["g++", *flags, *prelude, *lang_args, "-c", str(src), "-o", str(obj) + ".tmp"]
        r = subprocess.run(cmd, capture_output=True, text=True)
        pathlib.Path(str(obj) + ".log").write_text(" ".join(cmd) + "\n" + r.stdout + r.stderr)
        if r.returncode != 0:
            return f"g++ failed, see {obj}.log"
        os.replace(str(obj) + ".tmp", obj)
        log(f"  compiled {obj.parent.name}/{obj.name} in {time.perf_counter() - t0:.0f} s")
        return None

    out, errors = {}, {}
    harness_obj = cache / f"harness-{digest(env_key, harness_src.read_bytes())}" / "harness.o"
    jobs_todo = []
    if not harness_obj.exists():
        harness_obj.parent.mkdir(parents=True, exist_ok=True)
        jobs_todo.append(("harness", lambda: compile_object(harness_src, harness_obj)))
    pending = []
    for name, stan in todo:
        d = cache / "stan" / f"{safe(name)}-{digest(env_key, stanc_src.read_bytes(), stan.read_bytes())}"
        out[name] = d
        if not (d / "model.o").exists():
            d.mkdir(parents=True, exist_ok=True)
            pending.append((name, stan, d))
    if pending:
        log(f"stanc: {len(pending)} model(s)")
        args = []
        for name, stan, d in pending:
            args += [str(stan), str(d / "model.hpp"), "model_" + safe(stan.stem)]
        r = subprocess.run(["Rscript", str(BENCH / "stan" / "stanc.R"), *args], capture_output=True, text=True)
        if r.returncode != 0:
            raise SystemExit("rstan::stanc failed:\n" + r.stderr[-3000:])
        for name, stan, d in pending:
            # -w: the generated code is Stan's, not ours (its unused parameters are many).
            jobs_todo.append((name, lambda d=d: compile_object(d / "model.hpp", d / "model.o", ("-x", "c++", "-w"))))
    if jobs_todo:
        log(f"g++: {len(jobs_todo)} object(s), {jobs} at a time (about a minute each)")
        with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
            results = list(pool.map(lambda job: (job[0], job[1]()), jobs_todo))
        for name, err in results:
            if err and name == "harness":
                raise SystemExit("the Stan harness does not compile: " + err)
            if err:
                errors[name] = err
    for name, d in list(out.items()):
        if name in errors:
            out[name] = None
            continue
        exe = d / f"harness-{harness_obj.parent.name}"
        if not exe.exists():
            r = subprocess.run(["g++", str(harness_obj), str(d / "model.o"), "-o", str(exe), *STAN_LIBS],
                               capture_output=True, text=True)
            if r.returncode != 0:
                errors[name], out[name] = "link failed: " + r.stderr.strip()[-500:], None
                continue
        out[name] = exe
    return out, errors


def compile_halo(haloc, model, so, runs):
    """Median wall time of `haloc model -o so` over `runs` runs, or (None, first error line)."""
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        r = subprocess.run([str(haloc), str(model), "-o", str(so)], capture_output=True, text=True)
        times.append(time.perf_counter() - t0)
        if r.returncode != 0:
            msg = (r.stderr or r.stdout).strip().splitlines()
            return None, msg[0] if msg else f"exit {r.returncode}"
    return statistics.median(times), None


def check_verdict(c):
    """A list of problems found by the cross-check (empty when Halo and Stan agree)."""
    problems = []
    if c["grad_max_rel"] > GRAD_TOL:
        w = c["grad_worst"]
        problems.append(f"gradient differs: max rel {c['grad_max_rel']:.3g} at {w['name']} (point {w['point']}): "
                        f"Stan {w['stan']!r}, Halo {w['halo']!r}")
    if c["lp_full_max_rel"] > LP_TOL:
        problems.append(f"full log density (all constants, Jacobian) differs: max rel {c['lp_full_max_rel']:.3g}")
    if c["lp_full_nojac_max_rel"] > LP_TOL:
        problems.append(f"full log density without Jacobian differs: max rel {c['lp_full_nojac_max_rel']:.3g}")
    # The offset is a difference of two sums of many terms: compare its spread with their size.
    spread = c["lp_propto_offset_max"] - c["lp_propto_offset_min"]
    if spread > LP_TOL * max(1.0, abs(c["lp_propto_scale"])):
        problems.append(f"propto log densities differ by a non-constant: offset Halo-Stan ranges over "
                        f"[{c['lp_propto_offset_min']!r}, {c['lp_propto_offset_max']!r}]")
    if c["constrained_max_rel"] > GRAD_TOL:
        problems.append(f"constrained values / transformed parameters differ: max rel {c['constrained_max_rel']:.3g}")
    return problems


def fmt_ns(x):
    return "-" if x is None else f"{x:,.0f}"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=str(REPO / "build"), help="Halo build directory (default: build/)")
    ap.add_argument("--haloc", help="haloc to use (default: BUILD/bin/haloc)")
    ap.add_argument("--cache", help="cache directory (default: $HALO_BENCH_CACHE or BUILD/bench-cache)")
    ap.add_argument("--models", help="comma-separated substrings: run only the models whose name has one")
    ap.add_argument("--repeats", type=int, default=3, help="runs of the whole set (median taken; default 3)")
    ap.add_argument("--seconds", type=float, default=2.0, help="timing seconds per model and run (default 2)")
    ap.add_argument("--haloc-runs", type=int, default=5, help="haloc runs per model (median; default 5)")
    ap.add_argument("--jobs", type=int, default=2, help="parallel Stan compiles (default 2)")
    ap.add_argument("--no-pch", action="store_true", help="no precompiled Stan header (worth it for 1-2 models)")
    ap.add_argument("--check-only", action="store_true",
                    help="cross-check Halo against Stan, no timing; exit 1 on any mismatch or failure")
    ap.add_argument("--out", default=str(BENCH / "results" / "gradient.md"),
                    help="markdown report (default bench/results/gradient.md; 'none' for none)")
    a = ap.parse_args()

    build = pathlib.Path(a.build)
    haloc = pathlib.Path(a.haloc) if a.haloc else build / "bin" / "haloc"
    cache = pathlib.Path(a.cache or os.environ.get("HALO_BENCH_CACHE") or build / "bench-cache").resolve()
    cache.mkdir(parents=True, exist_ok=True)
    gen = cache / "data"
    chosen = models(gen)
    if a.models:
        keys = [k.strip() for k in a.models.split(",") if k.strip()]
        chosen = [m for m in chosen if any(k in m[0] for k in keys)]
    if not chosen:
        raise SystemExit("no model matches --models")
    if not haloc.exists():
        raise SystemExit(f"{haloc} not found: build it (cmake --build build --target haloc)")
    if any(str(m[3]).startswith(str(gen)) for m in chosen):
        subprocess.run([sys.executable, str(BENCH / "make_data.py"), str(gen)], check=True)
    load_before = os.getloadavg()

    # Halo: compile (timed).
    halo_so, haloc_s, halo_err = {}, {}, {}
    (cache / "halo").mkdir(exist_ok=True)
    for name, model, _, _ in chosen:
        so = cache / "halo" / f"{safe(name)}.so"
        t, err = compile_halo(haloc, model, so, 1 if a.check_only else a.haloc_runs)
        if err:
            halo_err[name] = err
            log(f"haloc {name}: does not compile: {err}")
        else:
            halo_so[name], haloc_s[name] = so, t
            log(f"haloc {name}: {t:.3f} s")

    # Stan: build (cached).
    harness, stan_err = build_stan([(m[0], m[2]) for m in chosen], cache, max(1, a.jobs), not a.no_pch)

    # Run: repeats x models, Halo and Stan interleaved inside each harness run.
    runs = {m[0]: [] for m in chosen}
    checks, run_err = {}, {}
    repeats = 1 if a.check_only else max(1, a.repeats)
    for rep in range(repeats):
        for name, _, _, data in chosen:
            if not harness.get(name) or name in run_err:
                continue
            cmd = [str(harness[name]), str(data), "--seconds", str(a.seconds)]
            if name in halo_so:
                cmd += ["--halo", str(halo_so[name])]
            if a.check_only:
                cmd += ["--no-time"]
            r = subprocess.run(cmd, capture_output=True, text=True)
            if r.returncode != 0:
                run_err[name] = (r.stderr.strip() or f"exit {r.returncode}").splitlines()[-1]
                log(f"run {name}: FAILED: {run_err[name]}")
                continue
            res = json.loads(r.stdout.strip().splitlines()[-1])
            runs[name].append(res)
            if "check" in res and name not in checks:
                checks[name] = res
            if a.check_only:
                log(f"check {name}: " + ("; ".join(check_verdict(res["check"])) or "ok") if "check" in res
                    else f"check {name}: Stan only")
                continue
            log(f"run {rep + 1}/{repeats} {name}: " + ", ".join(
                f"{k[:-3]} {res[k]:,.0f} ns" for k in ("halo_density_ns", "halo_gradient_ns", "stan_density_ns",
                                                       "stan_gradient_ns") if k in res))
    load_after = os.getloadavg()

    def med(name, key):
        vals = [r[key] for r in runs[name] if key in r]
        return statistics.median(vals) if vals else None

    rows, problems = [], {}
    for name, _, _, _ in chosen:
        hd, hg = med(name, "halo_density_ns"), med(name, "halo_gradient_ns")
        sd, sg = med(name, "stan_density_ns"), med(name, "stan_gradient_ns")
        dims = runs[name][0]["dims"] if runs[name] else None
        if name in halo_err:
            check = "Halo: does not compile"
        elif name in stan_err or name in run_err:
            check = "FAILED: " + (stan_err.get(name) or run_err.get(name))
        elif name in checks:
            p = check_verdict(checks[name]["check"])
            if p:
                problems[name] = p
            check = "MISMATCH" if p else f"ok ({checks[name]['check']['grad_max_rel']:.0e})"
        else:
            check = "-"
        rows.append([name, "-" if dims is None else str(dims),
                     "does not compile" if name in halo_err else f"{haloc_s[name]:.3f}",
                     fmt_ns(hd), fmt_ns(hg), "-" if not (hd and hg) else f"{hg / hd:.2f}",
                     fmt_ns(sd), fmt_ns(sg), "-" if not (hg and sg) else f"{hg / sg:.3f}", check])

    head = ["model", "dims", "haloc s", "Halo density ns", "Halo gradient ns", "Halo grad/density",
            "Stan density ns", "Stan gradient ns", "Halo/Stan gradient", "Halo vs Stan check"]
    if a.check_only:
        head = [head[0], head[1], head[-1]]
        rows = [[r[0], r[1], r[-1]] for r in rows]
    table = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    table += ["| " + " | ".join(r) + " |" for r in rows]
    ratios = [float(r[8]) for r in rows if not a.check_only and r[8] != "-"]
    summary = []
    if ratios:
        gm = statistics.geometric_mean(ratios)
        summary.append(f"Halo/Stan gradient time: geometric mean {gm:.3f} over {len(ratios)} models; "
                       f"{sum(x <= 0.25 for x in ratios)}/{len(ratios)} at or below 0.25 (issue 4 target).")
        gd = [float(r[5]) for r in rows if r[5] != "-"]
        summary.append(f"Halo gradient/density: {sum(x <= 3 for x in gd)}/{len(gd)} at or below 3 (issue 4 target).")
    detail = []
    for name, ps in problems.items():
        c = checks[name]
        detail.append(f"- **{name}**: " + "; ".join(ps) +
                      f". At point 0: full lp Stan {c['lp_full']['stan']!r}, Halo {c['lp_full']['halo']!r}; "
                      f"without Jacobian Stan {c['lp_full_nojac']['stan']!r}, Halo {c['lp_full_nojac']['halo']!r}; "
                      f"propto Stan {c['lp_propto']['stan']!r}, Halo {c['lp_propto']['halo']!r}.")
    for name, err in {**halo_err}.items():
        detail.append(f"- {name}: Halo does not compile: `{err}`")
    for name, err in {**stan_err, **run_err}.items():
        detail.append(f"- {name}: {err}")

    print("\n".join(table))
    for s in summary:
        print(s)
    for d in detail:
        print(d)

    if a.out != "none":
        commit, dirty = source_state(REPO)
        cpu = cpu_model()
        # What -march=native means here (the model name alone, "AMD EPYC", does not say).
        march = [l.split()[-1] for l in subprocess.run(["g++", "-march=native", "-Q", "--help=target"],
                                                       capture_output=True, text=True).stdout.splitlines()
                 if l.strip().startswith("-march=")]
        if march:
            cpu += f" (g++ -march=native: {march[0]})"
        lines = [
            "# Gradient benchmark: Halo vs Stan Math 2.21",
            "",
            f"Written by `{' '.join(['bench/run_gradient_bench.py', *sys.argv[1:]])}` on "
            f"{datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}.",
            "",
            f"- Machine: {cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}; load average "
            f"{load_before[0]:.1f} before, {load_after[0]:.1f} after (the cores are shared: see bench/README.md)",
            f"- Halo: {tool_version([str(haloc), '--version'])}, commit {commit}{' (uncommitted changes)' if dirty else ''}; "
            f"Stan: StanHeaders 2.21.0 (rstan::stanc), {tool_version(['g++', '--version'])}, -O3 -march=native",
            f"- {repeats} run(s) of the set, {a.seconds:g} s of interleaved timing per model and run; figures are "
            "medians over runs of medians over rounds. haloc: median wall time of "
            f"{1 if a.check_only else a.haloc_runs} compile(s), process start included.",
            "- Halo: `bs_log_density` / `bs_log_density_gradient` (propto, Jacobian). Stan: density "
            "`log_prob<false,true>` on doubles (its cheapest), gradient `log_prob_grad<true,true>`.",
            f"- Check: gradient (max relative difference per component, tolerance {GRAD_TOL:g}), full log density "
            f"with and without Jacobian ({LP_TOL:g}), propto log density up to a constant, constrained values, at "
            "4 random points in (-1, 1)^dims; `ok (x)` gives the largest gradient difference.",
            "",
            *table,
            "",
            *summary,
        ]
        if detail:
            lines += ["", "## Mismatches and failures", "", *detail]
        out = pathlib.Path(a.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text("\n".join(lines) + "\n")
        log(f"wrote {out}")

    if a.check_only and (problems or halo_err or stan_err or run_err):
        sys.exit(1)


if __name__ == "__main__":
    main()
