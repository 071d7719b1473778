"""What the benchmark scripts (run_gradient_bench.py, run_nuts_bench.py) share: tool versions and
the machine and source state written at the top of a report."""
import subprocess
import sys


def tool_version(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True).stdout.splitlines()[0]
    except (OSError, IndexError):
        return "?"


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def source_state(repo):
    """(short commit, True when tracked files have uncommitted changes)."""
    commit = subprocess.run(["git", "-C", str(repo), "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    dirty = subprocess.run(["git", "-C", str(repo), "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True).stdout.strip()
    return commit, bool(dirty)


def cpu_model():
    try:
        return next(l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name"))
    except (OSError, StopIteration):
        return "?"
