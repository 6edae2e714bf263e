"""``python -m benchmarks.population``: run-steps per second of a population of P minibatch-1 SGD
runs of the long tier's MLP (784-100-100-100-10) trained as one vmapped program
(:func:`linrelu.continual.train_population`), P = 1, 8, 64, against P lone runs
(:func:`linrelu.continual.train_task_with_state`) — on whatever backend JAX has (CPU here; a
GPU where one is installed), and the ``--full`` Permuted-MNIST estimate that follows.

Protocol: every program is compiled and run once before timing (warm-up excluded), results are
forced with ``block_until_ready``, the median of 3 repeats is reported; one "run-step" is one
optimizer step of one member. Writes the section "Populations" of benchmarks/RESULTS.md.
"""

from __future__ import annotations

import json
import platform
import sys
import time
from pathlib import Path

import numpy as np

STEPS = 2000  # optimizer steps per member per timed call (one task of 2000 images)
POPULATIONS = (1, 8, 64)
SECTION = "## Populations: one vmapped program vs lone runs (issue 17)"
BEGIN = "<!-- POPULATION:BEGIN (python -m benchmarks.population) -->"
END = "<!-- POPULATION:END -->"


def _measure(P: int, steps: int) -> dict:
    import jax

    from linrelu.continual import Task, make_agent, train_population, train_task_with_state
    from linrelu.mlp import MLP

    net = MLP((784, 100, 100, 100, 10), parameterization="standard", sigma_b=0.0)
    rng = np.random.default_rng(0)
    X, y = rng.random((steps, 784)), rng.integers(0, 10, steps)
    task = Task(0, X, y, X[:10], y[:10], X[:5], y[:5], "ce", 10)
    agent = make_agent("bp", lr=0.01)
    params = [net.init(jax.random.PRNGKey(s)) for s in range(P)]
    keys = [jax.random.PRNGKey(100 + s) for s in range(P)]

    def population():
        return train_population(net, params, [None] * P, [task] * P, agent, lrs=[0.01] * P,
                                epochs=1, batch_size=1, keys=keys)[0]

    def lone():
        return [train_task_with_state(net, p, None, task, agent, epochs=1, batch_size=1,
                                      key=k)[0] for p, k in zip(params, keys)]

    out = {}
    for name, fn in (("population", population), ("lone", lone)):
        if name == "lone" and P > 8:
            continue  # P lone runs cost P × the P = 1 time (measured at P = 8)
        jax.block_until_ready(fn())
        times = []
        for _ in range(3):
            t0 = time.perf_counter()
            jax.block_until_ready(fn())
            times.append(time.perf_counter() - t0)
        t = float(np.median(times))
        out[name] = {"seconds": t, "run_steps_per_s": P * steps / t}
    return out


def main(argv=None) -> int:
    import jax

    jax.config.update("jax_enable_x64", True)
    tiny = bool(argv and "--tiny" in argv)
    steps = 50 if tiny else STEPS
    rows = {P: _measure(P, steps) for P in ((1, 2) if tiny else POPULATIONS)}
    backend = jax.default_backend()
    device = str(jax.devices()[0])
    lines = [SECTION, "",
             f"Backend {backend} ({device}; {platform.processor() or platform.machine()}), "
             f"MLP 784-100-100-100-10, minibatch 1, {steps} steps per member, median of 3.", "",
             "| P | population run-steps/s | lone runs run-steps/s | population / lone |",
             "|---|---|---|---|"]
    for P, r in rows.items():
        pop = r["population"]["run_steps_per_s"]
        lone = r.get("lone", {}).get("run_steps_per_s")
        lines.append(f"| {P} | {pop:,.0f} | {f'{lone:,.0f}' if lone else '—'} | "
                     f"{f'{pop / lone:.2f}×' if lone else '—'} |")
    best = max(r["population"]["run_steps_per_s"] for r in rows.values())
    # --full Permuted MNIST: 6 agents × 5 seeds × 800 tasks × 60 000 steps, width 1000 (≈ 10×
    # the width-100 step's flops): the estimate below scales the best width-100 rate by 1/10.
    full_steps = 6 * 5 * 800 * 60_000
    lines += ["", f"--full Permuted MNIST ({full_steps:.2e} run-steps at width 1000) at the best "
              f"rate above scaled by 1/10 for width 1000: ≈ {full_steps / (best / 10) / 3600:,.0f}"
              f" device-hours on this backend (training only; spectra every 10 tasks extra).",
              "On XLA:CPU the population is slower per run-step than lone runs, so the "
              "experiments run one run per process there (`linrelu.continual.population_pays`)."]
    print("\n".join(lines))
    print(json.dumps({str(k): v for k, v in rows.items()}))
    path = Path(__file__).with_name("RESULTS.md")
    if not tiny:
        section = "\n".join([BEGIN, "", *lines, "", END])
        text = path.read_text(encoding="utf-8") if path.exists() else ""
        if BEGIN in text and END in text:
            head, rest = text.split(BEGIN, 1)
            text = head + section + rest.split(END, 1)[1]
        else:
            text = text.rstrip("\n") + "\n\n" + section + "\n"
        path.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
