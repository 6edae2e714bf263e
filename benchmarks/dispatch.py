"""``python -m benchmarks.dispatch [--tiny] [--rounds R] [--out PATH]``: the public
``lr.jacobian_gram`` as dispatched against the engine it chose, with and without the user's
global ``jax_enable_x64`` (issue 35), at the floor size of ``python -m benchmarks``.

Each mode runs in its own process (``jax_enable_x64`` is a process-wide switch). Inside it, after
one warm-up call of each (compilation excluded), the numpy/OpenBLAS and jax/XLA dgemm 4096², the
host engine (``closed_form_gram.mixed_gram(..., backend="host")``), the XLA engine and the
dispatched ``lr.jacobian_gram`` are timed in turns, ``rounds`` times, results forced with
``jax.block_until_ready``; the medians are reported, the engine times as a fraction of the dgemm
rate R_best (the flops the engine does: ``benchmarks.__main__.gram_flops``) and the dispatched
time over the time of the engine it chose. The 1-minute load average is read before and after:
on a shared machine it says how far the numbers can be trusted. The section goes into
RESULTS.md between the DISPATCH markers.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

from benchmarks._sections import OWNED, write_section

BEGIN, END = next(pair for pair in OWNED if pair[0].startswith("<!-- DISPATCH:"))
FULL = (4096, 3, 256, 10)
TINY = (16, 2, 6, 3)
DGEMM = {"full": 4096, "tiny": 64}


def measure(x64: bool, tiny: bool, rounds: int) -> dict:
    """One mode's medians (this process: call it where ``jax_enable_x64`` is as ``x64`` says)."""
    import jax
    import jax.numpy as jnp
    import numpy as np

    import linrelu as lr
    from benchmarks.__main__ import D_IN, gram_flops
    from linrelu.spectral import closed_form_gram

    width, depth, n, k = TINY if tiny else FULL
    net = lr.MLP((D_IN, *([width] * depth), k))
    params = net.init(jax.random.PRNGKey(0))
    X = jnp.asarray(np.random.default_rng(0).random((n, D_IN)))  # float32 unless x64 is on
    N = DGEMM["tiny" if tiny else "full"]
    rng = np.random.default_rng(0)
    A, B = rng.normal(size=(N, N)), rng.normal(size=(N, N))
    with lr.float64():
        jA, jB = jnp.asarray(A), jnp.asarray(B)
    mm = jax.jit(jnp.matmul)

    def xla_dgemm():
        with lr.float64():
            return mm(jA, jB)

    C = np.empty((N, N))  # numpy's product in place: the rate without fresh-page faults
    fns = {"numpy_dgemm": lambda: np.matmul(A, B, out=C), "xla_dgemm": xla_dgemm,
           "host": lambda: closed_form_gram.mixed_gram(net, params, X, backend="host"),
           "xla": lambda: closed_form_gram.mixed_gram(net, params, X, backend="xla"),
           "dispatched": lambda: lr.jacobian_gram(net, params, X)}
    load_before = os.getloadavg()[0]
    for fn in fns.values():
        jax.block_until_ready(fn())
    times = {name: [] for name in fns}
    system = {name: [] for name in fns}  # kernel time of the call: page faults, compaction
    for _ in range(rounds):
        for name, fn in fns.items():
            s0 = resource.getrusage(resource.RUSAGE_SELF).ru_stime
            t0 = time.perf_counter()
            jax.block_until_ready(fn())
            times[name].append(time.perf_counter() - t0)
            system[name].append(resource.getrusage(resource.RUSAGE_SELF).ru_stime - s0)
    med = {name: float(np.median(ts)) for name, ts in times.items()}
    R_best = 2.0 * N**3 / min(med["numpy_dgemm"], med["xla_dgemm"])
    done = gram_flops([width] * depth, n, k, D_IN)["done"]
    chosen = closed_form_gram.gram_backend(net, params, X)
    return {"x64": x64, "cfg": [width, depth, n, k], "rounds": rounds, "chosen": chosen,
            "median_s": med, "times": times, "R_best": R_best,
            "median_system_s": {name: float(np.median(ts)) for name, ts in system.items()},
            "R_numpy": 2.0 * N**3 / med["numpy_dgemm"], "R_xla": 2.0 * N**3 / med["xla_dgemm"],
            "fraction": {b: done / med[b] / R_best for b in ("host", "xla", "dispatched")},
            "dispatched_over_chosen": med["dispatched"] / med[chosen],
            "paired_ratio": paired_ratio(times, chosen),
            "load_before": load_before, "load_after": os.getloadavg()[0]}


def paired_ratio(times: dict, chosen: str) -> float:
    """Median over rounds of (dispatched time / chosen engine's time) in the same round: a load
    change between rounds hits both alike."""
    import numpy as np

    return float(np.median([d / c for d, c in zip(times["dispatched"], times[chosen])]))


def run(tiny: bool, rounds: int) -> dict:
    """Both modes, each in a fresh interpreter."""
    from benchmarks.workers import cpu_name

    modes = []
    for x64 in (False, True):
        code = (f"import jax, json; jax.config.update('jax_enable_x64', {x64}); "
                f"from benchmarks.dispatch import measure; "
                f"print(json.dumps(measure({x64}, {tiny}, {rounds})))")
        env = {k: v for k, v in os.environ.items() if k != "JAX_ENABLE_X64"}
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             cwd=Path(__file__).resolve().parents[1], env=env, check=True)
        modes.append(json.loads(out.stdout.strip().splitlines()[-1]))
    return {"cpu": cpu_name(), "cores": os.cpu_count(), "tiny": tiny,
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "modes": modes}


def _system(mode: dict, name: str) -> str:
    sys_s = mode.get("median_system_s", {}).get(name)
    return "—" if sys_s is None else f"{sys_s:.2f} s"


def report(r: dict) -> str:
    """The DISPATCH section of RESULTS.md."""
    w, d, n, k = r["modes"][0]["cfg"]
    lines = [
        "## The public path against its engine (`python -m benchmarks.dispatch`)",
        "",
        f"{r['date']}, {r['cpu']}, {r['cores']} cores{' (TINY SIZES)' if r['tiny'] else ''}: "
        f"`lr.jacobian_gram` as dispatched against the engine it chose, MLP width {w}, depth "
        f"{d}, n = {n}, k = {k}; medians of {r['modes'][0]['rounds']} interleaved rounds "
        f"after a warm-up; fractions of R_best, the faster dgemm {'64' if r['tiny'] else '4096'}² "
        f"of the same process. Target: dispatched within 5 % of the chosen engine, and ≥ 0.85 "
        f"R_best.",
        "",
        "| global jax_enable_x64 | chosen | host | XLA | dispatched | dispatched / chosen "
        "(medians; per round) | fraction host / XLA / dispatched | R_numpy / R_xla (GFLOP/s) | "
        "kernel (system) time per call: host / XLA / dispatched | load before → after |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for m in r["modes"]:
        t, f = m["median_s"], m["fraction"]
        lines.append(
            f"| {'on' if m['x64'] else 'off'} | {m['chosen']} | {t['host']:.3f} s | "
            f"{t['xla']:.3f} s | {t['dispatched']:.3f} s | {m['dispatched_over_chosen']:.3f}; "
            f"{paired_ratio(m['times'], m['chosen']):.3f} | "
            f"{f['host']:.2f} / {f['xla']:.2f} / {f['dispatched']:.2f} | "
            f"{m['R_numpy'] / 1e9:.1f} / {m['R_xla'] / 1e9:.1f} | "
            f"{_system(m, 'host')} / {_system(m, 'xla')} / {_system(m, 'dispatched')} | "
            f"{m['load_before']:.1f} → {m['load_after']:.1f} |")
    lines += ["", "A load average above the core count means other jobs shared the cores: the "
              "per-round ratios (same process, interleaved) are then more reliable than the "
              "fractions. The kernel time is the process's system CPU time during the call: on "
              "this kind of virtual machine it is mostly page faults on fresh memory, which "
              "can wait for the kernel to compact memory for a transparent huge page after "
              "another library (here the XLA engine just before, in each round) freed many "
              "buffers; the host engine therefore takes its large arrays on populated small "
              "pages (`linrelu.spectral.linalg.fresh_array`)."]
    loads = [x for m in r["modes"] for x in (m["load_before"], m["load_after"])]
    spread = max(max(ts) / min(ts) for m in r["modes"] for ts in m["times"].values())
    if max(loads) > r["cores"]:
        lines += ["", f"**Not decisive:** the load average reached {max(loads):.1f} on "
                  f"{r['cores']} cores and one timing varied by up to {spread:.1f}× between "
                  f"rounds; neither target is decided by this run (rerun on a quiet machine)."]
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.dispatch",
                                 description=__doc__.splitlines()[0])
    ap.add_argument("--tiny", action="store_true", help="toy sizes (timings meaningless)")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "RESULTS.md")
    args = ap.parse_args(argv)
    r = run(args.tiny, args.rounds)
    print(json.dumps(r))
    write_section(args.out, BEGIN, END, report(r))
    print(f"[dispatch] wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
