"""``python -m benchmarks.population``: run-steps per second of a population of P runs trained
as one vmapped program (:func:`linrelu.continual.train_population`) against one lone run
(:func:`linrelu.continual.train_task_with_state`), on whatever backend JAX has, and the ``--full``
estimate that follows.

Configurations (``--configs``, comma-separated; default ``mlp100``):

- ``mlp100``: the long tier's MLP 784-100-100-100-10, bp, minibatch 1, ``STEPS`` steps per member;
- ``mlp1000``: the full tier's width-1000 MLP (784-1000-1000-1000-10), bp, minibatch 1;
- ``convnet``: the paper's ConvNet on 32×32×3 class-pair tasks (full tier), bp with the full
  tier's optimizer, minibatch 100, 2 epochs of 1200 images (24 steps) per member.

MLP inputs are MNIST-like: every row has 19 % of its 784 entries nonzero (MNIST-5k's mean), so on
the CPU the engine takes its sparse first-layer step as it does on MNIST (on an accelerator the
dense one: ``linrelu.continual.train.SPARSE_BACKENDS``). Protocol: every program is compiled
and run once before timing (warm-up excluded), results are forced with ``block_until_ready``, the
median of ``--rounds`` interleaved rounds is reported; one "run-step" is one optimizer step of one
member. On the CPU it writes the section "Populations" of benchmarks/RESULTS.md; on an
accelerator, the section "Populations on an accelerator".
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks._sections import OWNED, write_section
from benchmarks.workers import cpu_name

STEPS = 2000  # optimizer steps per member per timed call (one task of 2000 images)
POPULATIONS = (1, 2, 4, 8, 64)
REPEATS = 5
#: a ratio within 1 ± MARGIN of the lone run is reported as no clear gain (the table's last
#: column shows how much one program's rounds differ on the machine that ran it)
MARGIN = 0.10
SECTION = "## Populations: one vmapped program vs lone runs (issue 17)"
GPU_SECTION = "## Populations on an accelerator (issue 17)"
BEGIN, END = OWNED[2]
GPU_BEGIN, GPU_END = OWNED[5]
#: run-steps of --full (linrelu/experiments/tiers/full.toml): Permuted MNIST 6 agents × 5 seeds ×
#: 800 tasks × 60 000 minibatch-1 steps; class pairs 6 × 5 × 2000 tasks × 20 epochs × 12 steps
FULL_RUN_STEPS = {"mlp1000": 6 * 5 * 800 * 60_000, "convnet": 6 * 5 * 2000 * 20 * 12}
CONFIGS = ("mlp100", "mlp1000", "convnet")


def _config(name: str, steps: int):
    """(model, task, agent, epochs, batch_size, run-steps per member per call)."""
    from linrelu.continual import Task, make_agent
    from linrelu.experiments.continual_runs import tier_config

    rng = np.random.default_rng(0)
    if name in ("mlp100", "mlp1000"):
        from linrelu.models.mlp import MLP

        width = 100 if name == "mlp100" else 1000
        net = MLP((784, width, width, width, 10), parameterization="standard", sigma_b=0.0,
                  sigma_w=1.0)
        X = rng.random((steps, 784)) * (rng.random((steps, 784)) < 0.19)
        y = rng.integers(0, 10, steps)
        task = Task(0, X, y, X[:10], y[:10], X[:5], y[:5], "ce", 10)
        return net, task, make_agent("bp", lr=0.01), 1, 1, steps
    if name == "convnet":
        from linrelu.models.convnet import ConvNet

        table = tier_config("full")["class_pairs"]
        net = ConvNet(in_shape=(32, 32, 3), out_dim=2, padding=table["padding"])
        X, y = rng.random((1200, 32, 32, 3)), rng.integers(0, 2, 1200)
        task = Task(0, X, y, X[:100], y[:100], X[:10], y[:10], "ce", 2)
        agent = make_agent("bp", **table["agent_options"])
        return net, task, agent, 2, table["batch_size"], 2 * 1200 // table["batch_size"]
    raise ValueError(f"--configs: expected names from {CONFIGS}, received {name!r}")


def _programs(config: str, populations, steps: int) -> tuple[dict, int]:
    """({name: (P, zero-argument callable)}, run-steps per member per call): "lone" (one run,
    train_task_with_state) and "P=…" (train_population with P members)."""
    import jax

    from linrelu.continual import train_population, train_task_with_state

    net, task, agent, epochs, batch, per_call = _config(config, steps)
    init = [net.init(jax.random.PRNGKey(s)) for s in range(max(populations))]
    keys = [jax.random.PRNGKey(100 + s) for s in range(max(populations))]

    def lone():
        return train_task_with_state(net, init[0], None, task, agent, epochs=epochs,
                                     batch_size=batch, key=keys[0])[0]

    def population(P):
        return lambda: train_population(net, init[:P], [None] * P, [task] * P, agent,
                                        lrs=[agent.lr] * P, epochs=epochs, batch_size=batch,
                                        keys=keys[:P])[0]

    return {"lone": (1, lone), **{f"P={P}": (P, population(P)) for P in populations}}, per_call


def measure(populations=POPULATIONS, steps: int = STEPS, repeats: int = REPEATS,
            config: str = "mlp100") -> dict:
    """Run-steps per second of each program: compiled and run once first (warm-up excluded),
    then ``repeats`` rounds, each timing every program once in turn (interleaved, so a slow
    spell of a shared machine hits all of them), results forced with ``block_until_ready``;
    the median round counts."""
    import jax

    programs, steps = _programs(config, populations, steps)
    for _, fn in programs.values():
        jax.block_until_ready(fn())
    times = {name: [] for name in programs}
    for _ in range(repeats):
        for name, (_, fn) in programs.items():
            t0 = time.perf_counter()
            jax.block_until_ready(fn())
            times[name].append(time.perf_counter() - t0)
    out = {}
    for name, (P, _) in programs.items():
        t = float(np.median(times[name]))
        out[name] = {"P": P, "seconds": t, "steps_per_call": steps,
                     "run_steps_per_s": P * steps / t,
                     "best_run_steps_per_s": P * steps / min(times[name]),
                     "spread": (max(times[name]) - min(times[name])) / t}
    return out


CONFIG_LABELS = {"mlp100": "MLP 784-100-100-100-10, bp, minibatch 1, MNIST-like sparse inputs",
                 "mlp1000": "MLP 784-1000-1000-1000-10, bp, minibatch 1, MNIST-like sparse "
                            "inputs",
                 "convnet": "the paper's ConvNet on 32×32×3, bp (full tier's optimizer), "
                            "minibatch 100"}


def table(rows: dict, config: str, steps: int, rounds: int) -> list:
    """One configuration's table and verdict (and its --full estimate where one follows)."""
    lone = rows["lone"]["run_steps_per_s"]
    pops = {k: v for k, v in rows.items() if k != "lone"}
    best_name = max(pops, key=lambda k: pops[k]["run_steps_per_s"])
    best = pops[best_name]["run_steps_per_s"]
    lines = [f"**{CONFIG_LABELS[config]}** ({steps} steps per member per call, median of "
             f"{rounds} interleaved rounds):", "",
             "| program | run-steps/s (median round) | vs one lone run, medians | vs one lone "
             "run, fastest rounds | spread of rounds (max − min) / median |",
             "|---|---|---|---|---|",
             f"| lone run | {lone:,.0f} | 1.00× | 1.00× | {rows['lone']['spread']:.0%} |"]
    lone_best = rows["lone"]["best_run_steps_per_s"]
    for name, r in pops.items():
        lines.append(f"| population {name} | {r['run_steps_per_s']:,.0f} | "
                     f"{r['run_steps_per_s'] / lone:.2f}× | "
                     f"{r['best_run_steps_per_s'] / lone_best:.2f}× | {r['spread']:.0%} |")
    ratio = best / lone
    ratio_best = pops[best_name]["best_run_steps_per_s"] / lone_best
    verdict = ("pays" if min(ratio, ratio_best) >= 1 + MARGIN else
               "does not pay" if max(ratio, ratio_best) <= 1 - MARGIN else
               f"gives no clear gain (medians and fastest rounds do not both clear ±{MARGIN:.0%})")
    lines += ["", f"Best: population {best_name}, {ratio:.2f}× the lone run's rate per "
              f"run-step (medians; {ratio_best:.2f}× fastest rounds): a population {verdict}."]
    if config in FULL_RUN_STEPS:
        what = ("Permuted MNIST (6 agents × 5 seeds × 800 tasks × 60 000 steps)"
                if config == "mlp1000" else
                "class pairs (6 agents × 5 seeds × 2000 tasks × 20 epochs × 12 steps)")
        full = FULL_RUN_STEPS[config]
        lines.append(f"--full {what}: {full:.2e} run-steps; at the best rate ≈ "
                     f"{full / best / 3600:,.1f} device-hours, as lone runs ≈ "
                     f"{full / lone / 3600:,.1f} (training only; spectra and census extra).")
    # no estimate from the width-100 rate: --full trains the width-1000 MLP, whose cost per step
    # is measured (config mlp1000), not scaled from width 100 (a scaling guessed as 1/10 printed
    # ≈ 32 device-hours on an H200 where the measured width-1000 rate gives 7.0–7.4)
    return lines


def report(results: dict, steps: int, rounds: int, backend: str, device: str) -> list:
    """The section: a header naming the machine, then one :func:`table` per configuration."""
    lines = [SECTION if backend == "cpu" else GPU_SECTION, "",
             f"Generated by `python -m benchmarks.population` on "
             f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}. Backend {backend} "
             f"({device}; host {cpu_name()}, {os.cpu_count()} cores, 1-min load "
             f"{os.getloadavg()[0]:.1f}). Each call includes what the API does after "
             f"training (float64 params, held-out evaluation of every member).", ""]
    for config, (rows, per_call) in results.items():
        lines += table(rows, config, per_call, rounds) + [""]
    return lines


def main(argv=None) -> int:
    import jax

    parser = argparse.ArgumentParser(prog="python -m benchmarks.population")
    parser.add_argument("--tiny", action="store_true", help="a quick check; writes no file")
    parser.add_argument("--configs", default="mlp100", help=f"comma-separated of {CONFIGS}")
    parser.add_argument("--populations", default=None, help="comma-separated P values")
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--json", default=None, help="also write the rows, config by config")
    args = parser.parse_args(argv)
    configs = [c for c in args.configs.split(",") if c]
    for c in configs:
        if c not in CONFIGS:
            parser.error(f"--configs: expected names from {CONFIGS}, received {c!r}")
    jax.config.update("jax_enable_x64", True)
    steps = 50 if args.tiny else STEPS
    pops = (tuple(int(p) for p in args.populations.split(",")) if args.populations else
            (1, 2) if args.tiny else POPULATIONS)
    rounds = args.rounds or (2 if args.tiny else REPEATS)
    results = {}
    for config in configs:
        rows = measure(pops, steps, rounds, config)
        results[config] = (rows, rows["lone"]["steps_per_call"])
        print(f"{config}: {json.dumps(rows)}", flush=True)
        if args.json:
            Path(args.json).write_text(json.dumps({c: r for c, (r, _) in results.items()}))
    lines = report(results, steps, rounds, jax.default_backend(), str(jax.devices()[0]))
    print("\n".join(lines))
    if not args.tiny:
        begin, end = (BEGIN, END) if jax.default_backend() == "cpu" else (GPU_BEGIN, GPU_END)
        write_section(Path(__file__).with_name("RESULTS.md"), begin, end, "\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
