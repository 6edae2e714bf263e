"""The continual runs shared by E5, E6 and E7: the paper's two streams in miniature.

One cell = one (stream, agent, seed, configuration) run of :func:`linrelu.continual.run_continual`.
E5, E6 and E7 build their cells with :func:`continual_cells` and compute them with the same
:func:`run_cell`, so the runner's cache (keyed by run_cell's qualified name and the cell dict)
computes each run once and all three experiments read it.

Streams and models (THEORY.md, "The paper's experiments"):

- ``permuted_mnist`` with the paper's MLP shape (3 hidden ReLU layers, standard
  parameterization with Flax's LeCun-normal init: W ~ N(0, 1/fan_in), b = 0), plain SGD with
  minibatch 1 and global-norm gradient clipping at 0.5, one epoch per task. Their ER is a separate
  step (``er_mode="separate"``): with minibatch 1 an ER term in the objective would see a 1-row
  feature matrix, whose effective rank is always 1. The authors take it every 100 minibatches with
  step 0.01; one ER step costs ≈ 0.26 s here (erank gradient through three 100×100 eigh's, measured)
  against 0.14 s for a whole 1000-step task of bp, so quick mode takes one ER step per task (every
  1000 minibatches, on those 1000 images) with the authors' step 0.01: 10× less ER per task than
  theirs. (Step 0.1, the same summed ER step, killed a third of the units at the first task:
  dead fraction 0.03 → 0.33, measured; 0.01 left it at 0.14–0.31 over 13 tasks.)
- ``class_pairs`` (the Continual ImageNet protocol on MNIST-5k: binary tasks on the next two
  classes of a random class order, head carried over) with the paper's ConvNet
  (:class:`linrelu.convnet.ConvNet`), SGD with momentum 0.9, minibatch 100, and the authors'
  separate ER step (every 12 minibatches there, step 0.01; here once per task = every 4
  minibatches, on the task's 400 images, step 0.01). Measured: ER in the objective made an
  er / l2_er cell cost 38–55 s against 11 s for l2 (eigh of the 100×100 feature Grams of 5
  layers at every step; ≈ 45 ms per 100×100 eigh on this CPU).

Quick sizes, chosen by measurement on the 2-core CPU so that E5–E7 together take a few minutes:

- permuted_mnist: width 100 (paper 1000), 30 tasks of 1000 images (paper 800 of 60 000), step
  0.5 (paper 0.01): 30 000 steps of minibatch 1 in all, ≈ 0.2 ms each. The step is 50× the
  paper's so that the network drifts as far in 30k steps as the paper's does in millions
  (exploration: at step 0.1 bp kept 0.83 accuracy with 3–28 % dead units over 80 tasks; at 0.5
  its accuracy fell from ≈ 0.86 to ≈ 0.6–0.8 with up to 60 % dead units by task 60; at 0.5 the
  authors' ER step 0.01 keeps l2_er learning, an ER step of 0.5 blew the weights up).
- class_pairs: 10 tasks (paper 2000; MNIST has 5 disjoint pairs, the order wraps after task 4),
  200 training + 50 test images per class (paper 600 + 100), 1 epoch (paper 20), i.e. 4 steps
  of minibatch 100 per task at ≈ 0.1–0.3 s each; step 0.04 (measured, seed means over the
  first/last 5 tasks: bp reaches 0.72/0.78, l2_er 0.80/0.91; 2 epochs at step 0.02 gave bp
  0.83/0.88 but made E5–E7 take 394 s instead of 334 s); "VALID" padding (126k parameters
  instead of SAME's 258k: half the cost per step; SAME, the authors' choice, in full mode).
- cbp: the authors' utility decay 0.99; replacement rate and maturity scaled to the short runs
  (a unit matures after 100 steps and ρ = 1e-6 would replace < 1 unit in 30k steps): ρ = 1e-4
  (Permuted MNIST, Dohare et al.'s value there), and ρ = 1e-3 with maturity 10 on the 40-step
  class-pair runs. Full mode uses the authors' defaults (ρ = 1e-6, maturity 100).

Full mode (``mode == "full"``): the paper's sizes on the user's data, read from the directory in
the environment variable ``LINRELU_DATA_DIR`` (set by ``paper_repro.py --data-dir``).

Spectra: every task start records the exact normalized GGN ε-ranks (T1, through
:func:`linrelu.ggn_eigenvalues`) on a log grid of ε (:data:`EPS_GRID`); bp and l2_er of the
first seed also record an SLQ density of the true Hessian at the early and the late task (for
E5's figure; Lanczos Ritz values and the unbroadened quadrature mass, :mod:`linrelu.lanczos`).
"""

from __future__ import annotations

import os

import numpy as np
from tqdm.auto import tqdm

from linrelu.continual import make_agent, make_stream, run_continual
from linrelu.experiments.base import to_jsonable

DATA_DIR_ENV = "LINRELU_DATA_DIR"
STREAM_NAMES = ("permuted_mnist", "class_pairs")
CELL_AGENTS = ("bp", "l2", "er", "l2_er", "cbp", "reset")
SLQ_AGENTS = ("bp", "l2_er")
QUICK_SEEDS = (0, 1)
FULL_SEEDS = (0, 1, 2, 3, 4)
# ε grid of every recorded normalized GGN ε-rank: 10^(k/4), k = −24..4 (1e-6 .. 10), plus the
# paper's Continual-ImageNet ε = 0.03 (its Permuted-MNIST ε = 0.01 is on the grid).
EPS_GRID = tuple(sorted({float(10.0 ** (k / 4)) for k in range(-24, 5)} | {0.03}))
SLQ_EPS = (1e-3, 1e-2, 3e-2, 1e-1)

QUICK = {
    "permuted_mnist": {
        "stream": "permuted_mnist", "model": "mlp", "num_tasks": 30,
        "stream_options": {"n_train": 1000, "n_test": 200, "n_probe": 50},
        "width": 100, "depth": 3, "epochs": 1, "batch_size": 1,
        "agent_options": {"lr": 0.5, "optimizer": "sgd", "clip_norm": 0.5, "l2": 1e-3,
                          "er": 1.0, "er_mode": "separate", "er_lr": 0.01, "er_every": 1000,
                          "replacement_rate": 1e-4, "maturity_threshold": 100},
        "slq_order": 40, "slq_runs": 2},
    "class_pairs": {
        "stream": "class_pairs", "model": "convnet", "padding": "VALID", "num_tasks": 10,
        "stream_options": {"n_train_per_class": 200, "n_test_per_class": 50, "n_probe": 20},
        "epochs": 1, "batch_size": 100,
        "agent_options": {"lr": 0.04, "optimizer": "momentum", "momentum": 0.9, "l2": 1e-3,
                          "er": 1.0, "er_mode": "separate", "er_lr": 0.01, "er_every": 4,
                          "replacement_rate": 1e-3, "maturity_threshold": 10},
        "slq_order": 20, "slq_runs": 1},
}


def _full_configs(data_dir: str) -> dict:
    """The paper's sizes (THEORY.md, "The paper's experiments") on the user's data."""
    return {
        "permuted_mnist": {
            "stream": "permuted_mnist", "model": "mlp", "num_tasks": 800,
            "stream_options": {"n_train": 60000, "n_test": 10000, "n_probe": 50,
                               "data_dir": data_dir},
            "width": 1000, "depth": 3, "epochs": 1, "batch_size": 1,
            "agent_options": {"lr": 0.01, "optimizer": "sgd", "clip_norm": 0.5, "l2": 1e-3,
                              "er": 1.0, "er_mode": "separate", "er_lr": 0.01, "er_every": 100},
            "slq_order": 100, "slq_runs": 4},
        "class_pairs": {
            "stream": "class_pairs", "model": "convnet", "padding": "SAME", "num_tasks": 2000,
            "stream_options": {"n_train_per_class": 600, "n_test_per_class": 100,
                               "n_probe": 50, "data_dir": data_dir},
            "epochs": 20, "batch_size": 100,
            "agent_options": {"lr": 0.01, "optimizer": "momentum", "momentum": 0.9,
                              "l2": 1e-3, "er": 1.0, "er_mode": "separate", "er_lr": 0.01,
                              "er_every": 12},
            "slq_order": 100, "slq_runs": 4},
    }


def early_task(num_tasks: int) -> int:
    """The early task start compared with the last one: task ⌊T/6⌋ (≥ 1: task 0 starts from the
    random init, before any training; the paper compares tasks 50 and 300)."""
    return max(1, num_tasks // 6)


def continual_cells(mode: str) -> list:
    """The shared cells: one per (stream, agent, seed). Identical dicts for E5, E6 and E7.

    Full mode reads the data directory from ``LINRELU_DATA_DIR`` (ValueError when unset)."""
    if mode not in ("quick", "full"):
        raise ValueError(f"mode: expected 'quick' or 'full', received {mode!r}")
    if mode == "quick":
        configs, seeds = QUICK, QUICK_SEEDS
    else:
        data_dir = os.environ.get(DATA_DIR_ENV)
        if not data_dir:
            raise ValueError(f"--data-dir: full mode runs the paper's streams on your MNIST and "
                             f"Continual-ImageNet files; expected a directory in "
                             f"{DATA_DIR_ENV} (set by paper_repro.py --data-dir), received "
                             f"nothing")
        configs, seeds = _full_configs(data_dir), FULL_SEEDS
    cells = []
    for name in STREAM_NAMES:
        cfg = configs[name]
        T = cfg["num_tasks"]
        for agent in CELL_AGENTS:
            for seed in seeds:
                slq = [early_task(T), T - 1] if agent in SLQ_AGENTS and seed == seeds[0] else []
                cells.append({**cfg, "agent": agent, "seed": seed, "slq_tasks": slq})
    return cells


def build_model(cell: dict, stream):
    """The cell's network: the paper-shaped MLP or the paper's ConvNet."""
    if cell["model"] == "mlp":
        from linrelu.mlp import MLP

        sizes = (stream.in_dim, *([cell["width"]] * cell["depth"]), stream.out_dim)
        return MLP(sizes, sigma_w=1.0, sigma_b=0.0, parameterization="standard")
    if cell["model"] == "convnet":
        from linrelu.convnet import ConvNet

        return ConvNet(in_shape=stream.input_shape, out_dim=stream.out_dim,
                       padding=cell["padding"])
    raise ValueError(f"model: expected 'mlp' or 'convnet', received {cell['model']!r}")


def _compact(metrics: dict) -> dict:
    """Drop the full eigenvalue list (the ε-ranks on EPS_GRID are kept)."""
    return {k: v for k, v in metrics.items() if k != "ggn_eigenvalues"}


def run_cell(cell: dict) -> dict:
    """Run one continual cell; per-task records (start/end metrics, training info, SLQ)."""
    stream = make_stream(cell["stream"], seed=cell["seed"], num_tasks=cell["num_tasks"],
                         **cell["stream_options"])
    net = build_model(cell, stream)
    agent = make_agent(cell["agent"], **cell["agent_options"])
    # TQDM_DISABLE is read here, at run time: `paper_repro.py --quiet` sets it after tqdm's
    # import, when tqdm's own environment defaults have already been read
    with tqdm(total=cell["num_tasks"], desc=f"  {cell['stream']} {cell['agent']} seed "
              f"{cell['seed']}", unit="task", leave=False,
              disable=os.environ.get("TQDM_DISABLE") == "1") as bar:
        records = run_continual(
            net, stream, agent, epochs=cell["epochs"], batch_size=cell["batch_size"],
            seed=cell["seed"], eps_ladder=EPS_GRID, slq_tasks=cell["slq_tasks"],
            slq_options={"order": cell["slq_order"], "num_runs": cell["slq_runs"],
                         "eps_values": SLQ_EPS},
            on_record=lambda _record: bar.update(1), end_metrics=False)
    out = []
    for r in records:
        rec = {"task": r["task"], "train": r["train"], "start": _compact(r["start"])}
        if "slq" in r:
            rec["slq"] = r["slq"]
        out.append(rec)
    return to_jsonable({"cell": cell, "num_params": int(net.num_params), "records": out})


def select(cells: list, results: list, **match) -> list:
    """The (cell, result) pairs whose cell matches every key=value in ``match``."""
    return [(c, r) for c, r in zip(cells, results)
            if all(c.get(k) == v for k, v in match.items())]


def as_float(x) -> float:
    """Inverse of to_jsonable for scalars ("nan"/"inf" strings back to floats)."""
    return float(x) if not isinstance(x, str) else float(x.replace("inf", "Infinity")
                                                           if x != "nan" else "nan")


def series(result: dict, phase: str, key: str, sub=None, reduce=np.mean) -> np.ndarray:
    """Per-task array of ``record[phase][key]`` (or ``[key][sub]``; a list → ``reduce`` over
    layers, the mean by default)."""
    vals = []
    for r in result["records"]:
        v = r[phase][key]
        if sub is not None:
            v = v[sub]
        vals.append(reduce([as_float(x) for x in v]) if isinstance(v, list) else as_float(v))
    return np.asarray(vals, dtype=np.float64)


def eps_key(eps: float) -> str:
    """The record key of ε (``repr`` of the float, as the engine writes it)."""
    return repr(float(eps))


def config_label(cell: dict) -> str:
    """One line naming a stream's configuration (benchmark, model, sizes)."""
    if cell["model"] == "mlp":
        model = f"MLP 784-{'-'.join([str(cell['width'])] * cell['depth'])}-10"
    else:
        model = f"ConvNet ({cell['padding']} padding)"
    a = cell["agent_options"]
    return (f"{cell['stream']}, {model}, {cell['num_tasks']} tasks, {cell['epochs']} epoch(s) "
            f"of minibatch {cell['batch_size']}, {a['optimizer']} step {a['lr']}")


def by_stream(cells: list, results: list) -> dict:
    """{stream name: [(cell, result), ...]} in first-seen order."""
    out = {}
    for c, r in zip(cells, results, strict=True):
        out.setdefault(c["stream"], []).append((c, r))
    return out
