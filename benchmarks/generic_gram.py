"""``python -m benchmarks.generic_gram [--tiny] [--out PATH]``: the any-JAX-model Gram (issue 12).

1. The paper-shaped ConvNet (conv 32-64-128 with 2×2 max-pool, dense 128-128, 2 outputs) on
   32×32×3 inputs, n·k from 200 to 2000: linrelu's per-sample Jacobian blocks against
   ``jax.jacrev``-then-J Jᵀ (time and peak memory), and one size where J does not fit 16 GiB.
2. MLPs: the closed form (T5) against the generic path on the same network.

Each cell runs in its own process (``benchmarks._generic_cell``) so its peak RSS is its own; times
are medians after a warm-up call (compilation excluded), forced with ``block_until_ready``.
The section is written into RESULTS.md between the GENERIC markers (the rest is left alone).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

from benchmarks._sections import OWNED, write_section

BEGIN, END = OWNED[0]

FULL = {
    # n·k = 20 … 2000 with k = 2; jacrev of the whole batch needs (n·k) backward passes over all
    # n samples at once: its workspace outgrew this machine's 24 GiB at n·k = 200 (the process
    # was OOM-killed), so it runs at the three smallest sizes only
    "convnet_n": (10, 25, 50, 100, 250, 500, 1000),
    "jacrev_max_n": 50,
    "block_n": 119,  # samples per block under the default 2 GiB budget at p = 373 826, k = 2
    # n·k = 6000: J = 6000 × 373 826 × 8 B = 16.7 GiB > 16 GiB; 8 GiB of blocks at a time
    "nofit": {"n": 3000, "budget": 8 * 1024**3},
    "mlp": ((64, 256, 2, 10, 100), (64, 1024, 2, 10, 100)),  # (d, width, depth, k, n)
    "repeats": 2,
}
# tiny: one ConvNet size, n = 3 > block_n = 2, so the large-n protocol (a warm-up call on
# block_n samples, one timed call) runs too
TINY = {"convnet_n": (3,), "jacrev_max_n": 3, "block_n": 2, "nofit": None,
        "mlp": ((4, 8, 1, 2, 3),), "repeats": 1}


def cell(cfg: dict, timeout: int = 3600) -> dict:
    out = subprocess.run([sys.executable, "-m", "benchmarks._generic_cell", json.dumps(cfg)],
                         capture_output=True, text=True, timeout=timeout,
                         cwd=Path(__file__).resolve().parents[1])
    if out.returncode != 0:
        return {**cfg, "error": out.stderr.strip().splitlines()[-1][:200]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def run(tiny: bool) -> dict:
    c = TINY if tiny else FULL
    shape = [8, 8, 3] if tiny else [32, 32, 3]
    conv = []
    for n in c["convnet_n"]:
        reps = c["repeats"] if n <= c["block_n"] else 1  # large n: one timed call (minutes)
        base = {"model": "convnet", "in_shape": shape, "k": 2, "n": n, "repeats": reps}
        warm = {"warmup_n": c["block_n"]} if n > c["block_n"] else {}
        row = {"blocked": cell({**base, "method": "blocked", **warm})}
        if n <= c["jacrev_max_n"]:
            row["jacrev"] = cell({**base, "method": "jacrev"})
        conv.append(row)
        print(f"[generic_gram] convnet n={n}: {row}", flush=True)
    nofit = None
    if c["nofit"]:
        nofit = cell({"model": "convnet", "in_shape": shape, "k": 2, "n": c["nofit"]["n"],
                      "budget": c["nofit"]["budget"], "repeats": 0, "method": "blocked"},
                     timeout=5400)
        print(f"[generic_gram] no-fit: {nofit}", flush=True)
    mlp = []
    for d, width, depth, k, n in c["mlp"]:
        base = {"model": "mlp", "d": d, "width": width, "depth": depth, "k": k, "n": n,
                "repeats": c["repeats"]}
        mlp.append({m: cell({**base, "method": m}) for m in ("closed_form", "blocked")})
        print(f"[generic_gram] mlp w={width}: {mlp[-1]}", flush=True)
    return {"convnet": conv, "nofit": nofit, "mlp": mlp, "load_after": os.getloadavg()}


def _gib(x):
    return f"{x:.2f} GiB"


def report(r: dict) -> str:
    lines = ["## Any JAX model: per-sample Jacobian blocks (issue 12)", "",
             "Paper-shaped ConvNet (`linrelu.models.convnet.ConvNet`, 32×32×3, k = 2, float64), "
             "`jacobian_gram(f, params, X)` (default 2 GiB block budget) against "
             "`jax.jacrev` of the whole batch then J Jᵀ. Times: median of 2 after a warm-up up to "
             "n·k = 200, one timed call above (warm-up on one block). Backend: "
             f"{r['convnet'][0]['blocked'].get('backend', '?')}; no GPU was lent to this "
             "session, so no accelerator numbers.", "",
             "| n·k | p | J size | blocked: time | blocked: peak RSS | jacrev: time | "
             "jacrev: peak RSS | speed-up | trace agreement |",
             "|---|---|---|---|---|---|---|---|---|"]
    for row in r["convnet"]:
        b = row["blocked"]
        if "error" in b:
            lines.append(f"| n={b['n']} | | | error: {b['error']} | | | | | |")
            continue
        jsize = b["nk"] * b["p"] * 8 / 2**30
        j = row.get("jacrev")
        if j and "error" not in j:
            agree = abs(j["trace"] - b["trace"]) / abs(j["trace"])
            lines.append(f"| {b['nk']} | {b['p']} | {_gib(jsize)} | {b['median_s']:.2f} s | "
                         f"{_gib(b['peak_rss_gib'])} | {j['median_s']:.2f} s | "
                         f"{_gib(j['peak_rss_gib'])} | {j['median_s'] / b['median_s']:.1f}× | "
                         f"{agree:.1e} |")
        else:
            why = (j["error"] if j else "not run: its workspace exceeded this machine's 24 GiB "
                   "from n·k = 200")
            lines.append(f"| {b['nk']} | {b['p']} | {_gib(jsize)} | {b['median_s']:.2f} s | "
                         f"{_gib(b['peak_rss_gib'])} | {why} | | | |")
    nf = r.get("nofit")
    if nf:
        if "error" in nf:
            lines += ["", f"J does not fit (n = {nf['n']}): error {nf['error']}"]
        else:
            jsize = nf["nk"] * nf["p"] * 8 / 2**30
            lines += ["", f"Where J does not fit 16 GiB: n·k = {nf['nk']}, J would be "
                          f"{_gib(jsize)}; the blocked Gram (block budget "
                          f"{_gib(nf['budget'] / 2**30)}) finished in {nf['first_s']:.0f} s "
                          f"(one run, compilation included) at peak RSS "
                          f"{_gib(nf['peak_rss_gib'])}."]
    lines += ["", "MLPs: closed form (T5) against the generic path on the same network "
                  "(`jacobian_gram(net, …)` vs `jacobian_gram(f, …)`).", "",
              "| sizes | n·k | p | closed form | generic | ratio generic/closed | "
              "trace agreement |", "|---|---|---|---|---|---|---|"]
    for row in r["mlp"]:
        a, b = row["closed_form"], row["blocked"]
        if "error" in a or "error" in b:
            lines.append(f"| error | {a.get('error', '')} {b.get('error', '')} | | | | | |")
            continue
        agree = abs(a["trace"] - b["trace"]) / abs(a["trace"])
        lines.append(f"| ({a['d']}, {a['width']}×{a['depth']}, {a['k']}), n = {a['n']} | "
                     f"{a['nk']} | {a['p']} | {a['median_s']:.3f} s | {b['median_s']:.3f} s | "
                     f"{b['median_s'] / a['median_s']:.1f}× | {agree:.1e} |")
    lines += ["", f"Load average after the run: {', '.join(f'{x:.1f}' for x in r['load_after'])}"
                  " (2 cores)."]
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.generic_gram",
                                 description=__doc__.splitlines()[0])
    ap.add_argument("--tiny", action="store_true", help="toy sizes (timings meaningless)")
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "RESULTS.md")
    args = ap.parse_args(argv)
    write_section(args.out, BEGIN, END, report(run(args.tiny)))
    print(f"[generic_gram] wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
