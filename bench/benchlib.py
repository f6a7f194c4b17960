"""What bench/startup and bench/tools share: the timer's spec and output, users, load average and ratios."""
import json
import math
import os
import statistics
import subprocess
from pathlib import Path

PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def loadavg():
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def contender(name, uid, gid, argv, env, cwd, kind="serial", expect=0):
    """One entry of startup_timer's spec; `expect` (the exit status a good run has) is read only here."""
    return {"name": name, "uid": uid, "gid": gid, "argv": [str(a) for a in argv], "env": env, "cwd": str(cwd),
            "kind": kind, "expect": expect}


def env_dict(spec):
    return dict(kv.split("=", 1) for kv in spec["env"])


def as_user(spec):
    """A preexec_fn that drops to the spec's user (as root; as that user it changes nothing)."""
    uid, gid = spec["uid"], spec["gid"]

    def drop():
        if os.geteuid() == 0:
            os.setgroups([])
        os.setresgid(gid, gid, gid)
        os.setresuid(uid, uid, uid)
    return drop


def run_once(spec, **kw):
    """Runs a contender once outside the timer, as its user, with its env and cwd."""
    return subprocess.run(spec["argv"], env=env_dict(spec), cwd=spec["cwd"], preexec_fn=as_user(spec),
                          stdin=subprocess.DEVNULL, **kw)


def run_timer(timer, specs, rounds, work, parallel=None, raw=None, seed=1):
    """Runs build/bench/startup_timer over `specs`, round by round, each round in a random order drawn
    from `seed` (serial rounds first, then parallel ones). Returns (serial, parallel, failures):
    serial[name][round] = ms, parallel[name] = [starts/s per round], failures[name] = runs whose exit
    status was not the contender's `expect`."""
    spec_file = Path(work) / "spec.json"
    spec = {"rounds": rounds, "seed": seed, "contenders": specs, "parallel": parallel or {}}
    spec_file.write_text(json.dumps(spec))
    out = subprocess.run([str(timer), str(spec_file)], check=True, capture_output=True, text=True).stdout
    if raw:
        Path(raw).write_text(out)
    expect = {s["name"]: s.get("expect", 0) for s in specs}
    # In the specs' order, whatever order the rounds ran them in.
    serial = {s["name"]: {} for s in specs if s.get("kind", "serial") == "serial"}
    rates = {s["name"]: [] for s in specs if s.get("kind") == "parallel"}
    failures = {}
    for line in out.splitlines():
        f = line.split("\t")
        if f[0] == "serial":
            serial[f[1]][int(f[2])] = int(f[3]) / 1e6
            if int(f[4]) != expect[f[1]]:
                failures[f[1]] = failures.get(f[1], 0) + 1
        elif f[0] == "parallel":
            rates[f[1]].append(int(f[4]) / (int(f[3]) / 1e9))
            if f[5] != "0":
                failures[f[1]] = failures.get(f[1], 0) + int(f[5])
    return serial, rates, failures


def percentile(values, p):
    v = sorted(values)
    return v[min(len(v) - 1, int(round(p * (len(v) - 1))))]


def per_round(serial, a, b, op):
    rounds = sorted(set(serial[a]) & set(serial[b]))
    return [op(serial[a][r], serial[b][r]) for r in rounds]


def ratios(serial, a, b):
    """The median of the per-round ratios a/b, with their min and max."""
    r = per_round(serial, a, b, lambda x, y: x / y)
    return statistics.median(r), min(r), max(r)


def median_ci(values, level=0.95):
    """A confidence interval for the median of `values` that assumes no distribution, only that the
    values are independent draws (interleaved rounds are, up to drifts in the load): the order
    statistics x(l) and x(n+1-l), where l is the largest rank with P(B < l) <= (1 - level) / 2 for
    B ~ Binomial(n, 1/2) (n = 15: the 4th and 12th of the sorted values; 61: the 23rd and 39th).
    None when n is too small for that level (n < 6 at 95%)."""
    v = sorted(values)
    n = len(v)
    below = 0  # P(B < l)
    rank = 0
    for k in range(n):
        below += math.comb(n, k) / 2**n
        if below > (1 - level) / 2:
            break
        rank = k + 1
    return (v[rank - 1], v[n - rank]) if rank else None


def against(ci, target, better_below=True):
    """What the interval says of a target: met when it lies wholly on the good side, missed when
    wholly on the other, undecided when it holds the target (more rounds may decide)."""
    if ci is None:
        return "undecided (too few rounds)"
    lo, hi = ci
    good, bad = (hi <= target, lo > target) if better_below else (lo >= target, hi < target)
    return "met" if good else "missed" if bad else "undecided"
