"""The continual runs shared by E5, E6, E7 and E10: the paper's two streams, in three tiers.

One cell = one (stream, agent, step, seed) run of :func:`linrelu.continual.run_continual`. E5, E6,
E7 and E10 build their cells with :func:`continual_cells` and compute them with the same
:func:`run_cell`, so the runner's cache (keyed by run_cell's qualified name and the cell dict)
computes each run once and every experiment reads it.

**Tiers are data**: ``linrelu/experiments/tiers/{quick,long,full}.toml``, one table per stream,
each value with its source in a comment (the authors' lop-jax hyperparameter files, Dohare et
al.'s configs, or "CPU budget"). ``python paper_repro.py --list`` shows them.

- ``quick`` (the README command): a preview, two seeds, 12 Permuted-MNIST tasks of 1000 images
  (12 000 steps) and 4 class-pair tasks of 3 minibatches: far too short for loss of plasticity,
  and the findings say so (:func:`run_length_note`); plus E7's preview of ``--long`` (below).
- ``long`` (``--long``): Permuted MNIST with Dohare et al.'s width-100 protocol on MNIST-5k,
  750 tasks × 4000 images = 3.0 M minibatch-1 SGD steps per run, 3 seeds of bp, l2_er, cbp and
  reset and 2 of l2 and er (the 45-minute CPU budget; long.toml's ``agent_seeds``,
  :func:`agent_seeds`); bp at steps 0.003 and
  0.01 (the pilot), then the other agents at the step :func:`choose_agent_step` picks from the
  pilot, written into long.toml as ``agent_step`` (until it is there the tier has bp cells
  only). No class pairs (the ConvNet's cost; long.toml says why).
- ``remedies`` (``--remedies``): the field's remedies at the ``--long`` protocol (snp, redo,
  cbp at Dohare's replacement rates 1e-4 and 1e-5, beside bp), with the metrics at task end as
  well as task start (the cell key ``end_metrics``). An agent label of a tier may name a
  *variant*: ``per_agent.<label>.agent`` = the agent it runs with that table's options (e.g.
  ``cbp_1e-4`` = cbp at ρ = 1e-4); its cells carry ``agent`` = the label and ``agent_kind`` =
  the agent.
- ``full`` (``--full --data-dir DIR``): the paper's sizes and the authors' hyperparameters.

Streams and models (THEORY.md, "The paper's experiments"): ``permuted_mnist`` with the paper's
MLP shape (3 hidden ReLU layers, standard parameterization with Flax's LeCun-normal init:
W ~ N(0, 1/fan_in), b = 0), plain SGD with minibatch 1 and **no** gradient clipping (the
authors' config names max_grad_norm = 0.5 but their training code never applies it), one epoch
per task; ``class_pairs`` (the Continual-ImageNet protocol: binary tasks on the next two classes
of a random class order, head carried over) with the paper's ConvNet, SGD with momentum 0.9,
minibatch 100. ER is the authors' separate step (``er_mode = "separate"``, every ``er_every``
minibatches with step ``er_lr``).

Measurements per task start (:func:`linrelu.continual.metrics.task_start_metrics`): the census
(dead fraction and effective rank on the task's whole training set, weight and gradient norm,
accuracies) at every task, the exact GGN spectrum on the probe set every ``spectrum_every``
tasks (and at the last task), its eigenvalues kept in the record at the early and late task
(:func:`spectrum_tasks`). Per task: online accuracy (each prediction before its update) and
held-out accuracy after training. bp and l2_er of the first seed also record an SLQ density of
the true Hessian at the early and late task, unless the tier sets ``slq_runs = 0`` (quick mode:
no summary or figure reads the densities; E5 draws the exact spectrum).

Quick mode also holds E7's preview of the ``--long`` verdict, quick.toml's ``[preview]``: one bp
and one l2_er run at ``--long``'s protocol (``protocol = "long"``, :func:`preview_cells`), which
only E7 reads.
"""

from __future__ import annotations

import os
import tomllib
from functools import cache
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from linrelu.continual import make_agent, make_stream, run_continual
from linrelu.experiments.base import to_jsonable

DATA_DIR_ENV = "LINRELU_DATA_DIR"
TIERS = ("quick", "long", "remedies", "full")
TIER_DIR = Path(__file__).resolve().parent / "tiers"
STREAM_NAMES = ("permuted_mnist", "class_pairs")
CELL_AGENTS = ("bp", "l2", "er", "l2_er", "cbp", "reset", "snp", "redo")
SLQ_AGENTS = ("bp", "l2_er")
# ε grid of every recorded normalized GGN ε-rank: 10^(k/4), k = −24..4 (1e-6 .. 10), plus the
# paper's Continual-ImageNet ε = 0.03 (its Permuted-MNIST ε = 0.01 is on the grid).
EPS_GRID = tuple(sorted({float(10.0 ** (k / 4)) for k in range(-24, 5)} | {0.03}))
SLQ_EPS = (1e-3, 1e-2, 3e-2, 1e-1)
# Keys of a tier's stream table that describe the set of runs, not one run (not in a cell).
_RUN_SET_KEYS = ("seeds", "agent_seeds", "agents", "per_agent", "bp_steps", "agent_step",
                 "same_as")
#: Published loss of plasticity needs millions of minibatch-1 steps (THEORY.md): a run of fewer
#: optimizer steps than this is marked too short to expect it.
MIN_STEPS_FOR_LOP = 1_000_000


@cache
def _read_tier(tier: str) -> dict:
    if tier not in TIERS:
        raise ValueError(f"mode: expected one of {TIERS}, received {tier!r}")
    with open(TIER_DIR / f"{tier}.toml", "rb") as fh:
        return tomllib.load(fh)


def tier_config(tier: str) -> dict:
    """{table name: table} of a tier file (one table per stream, plus preview tables), with
    ``same_as = "other tier"`` resolved (that tier's table of the same name) and ``protocol =
    "other tier"`` resolved: that tier's table for the same ``stream``, with this table's own
    keys in place of its keys (a preview run at another tier's protocol; the ``protocol`` key
    stays in the table and in its cells, :func:`preview_cells`)."""
    out = {}
    for name, table in _read_tier(tier).items():
        if "same_as" in table:
            table = _read_tier(table["same_as"])[name]
        elif "protocol" in table:
            table = {**_read_tier(table["protocol"])[table["stream"]], **table}
        out[name] = dict(table)
    return out


def describe_tiers() -> list:
    """One line per (tier, stream): what ``--list`` prints."""
    lines = []
    for tier in TIERS:
        for name in STREAM_NAMES:
            if name not in tier_config(tier):
                lines.append(f"{tier:5} {name}: not run in this tier (see tiers/{tier}.toml)")
        for name, t in tier_config(tier).items():
            steps = t["num_tasks"] * t["epochs"] * _steps_per_epoch(t)
            lr = t["agent_options"].get("lr")
            steps_txt = (f"bp steps {t['bp_steps']}, other agents "
                         f"{t.get('agent_step', 'after the bp pilot')}" if "bp_steps" in t
                         else f"step {lr}")
            seeds = (f"{len(t['seeds'])} seeds" if "agent_seeds" not in t else
                     f"{len(t['seeds'])} seeds for bp, " + ", ".join(
                         f"{len(agent_seeds(t, a))} for {a}" for a in t["agents"] if a != "bp"))
            lines.append(f"{tier:5} {name}: {t['model']}, {t['num_tasks']} tasks, "
                         f"{steps:,} optimizer steps per run, {seeds}, "
                         f"agents {','.join(t['agents'])}; {steps_txt}")
    return lines


def _steps_per_epoch(table: dict) -> int:
    o = table["stream_options"]
    n = o["n_train"] if "n_train" in o else 2 * o["n_train_per_class"]
    return n // table["batch_size"]


def run_steps(cell: dict) -> int:
    """Optimizer steps one run of ``cell`` takes."""
    return cell["num_tasks"] * cell["epochs"] * _steps_per_epoch(cell)


def run_length_note(cell: dict) -> str:
    """'' for a run long enough to expect loss of plasticity, else the reason it is not."""
    steps = run_steps(cell)
    if steps >= MIN_STEPS_FOR_LOP:
        return ""
    return (f"TOO SHORT to expect loss of plasticity: {steps:,} optimizer steps per run (published "
            f"runs: millions of minibatch-1 steps, or hundreds of 20-epoch tasks)")


def choose_agent_step(bp_drop_by_step: dict) -> float:
    """The pilot rule, fixed before the pilot ran: the step (of ``bp_steps``) at which bp loses
    the most plasticity, i.e. the largest seed-mean drop of online accuracy from its best
    window to its last tenth of tasks (ties: the larger step, the authors' 0.01), so that the
    agents are compared where there is a loss to prevent."""
    if not bp_drop_by_step:
        raise ValueError("bp_drop_by_step: expected the bp pilot's drop per step, received none")
    return max(bp_drop_by_step, key=lambda lr: (bp_drop_by_step[lr], lr))


def early_task(num_tasks: int, spectrum_every: int = 1) -> int:
    """The early task start compared with the last one: task ⌊T/6⌋ rounded down to a task with a
    spectrum (≥ 1: task 0 starts from the random init; the paper compares tasks 50 and 300)."""
    t = max(1, num_tasks // 6)
    return max(spectrum_every, t - t % spectrum_every) if spectrum_every > 1 else t


def spectrum_tasks(cell: dict) -> tuple:
    """(early, late) task starts whose GGN eigenvalues are kept in the record."""
    return early_task(cell["num_tasks"], cell["spectrum_every"]), cell["num_tasks"] - 1


def _full_data_dir() -> str:
    data_dir = os.environ.get(DATA_DIR_ENV)
    if not data_dir:
        raise ValueError(f"--data-dir: full mode runs the paper's streams on your MNIST and "
                         f"Continual-ImageNet files; expected a directory in {DATA_DIR_ENV} "
                         f"(set by paper_repro.py --data-dir), received nothing")
    return data_dir


def agent_seeds(table: dict, agent: str) -> list:
    """The seeds ``agent`` runs with in a stream table: ``seeds`` for bp; for the other agents
    ``agent_seeds`` (a list for all of them, or a table {agent: list}), else ``seeds``."""
    if agent == "bp" or "agent_seeds" not in table:
        return list(table["seeds"])
    seeds = table["agent_seeds"]
    if isinstance(seeds, dict):
        if agent not in seeds:
            raise ValueError(f"agent_seeds: expected a list of seeds for {agent!r}, received "
                             f"a table for {sorted(seeds)}")
        seeds = seeds[agent]
    return list(seeds)


def _agent_runs(table: dict) -> list:
    """[(agent, lr)] of a stream table: every agent at its step; with ``bp_steps``, bp at each of
    them and the others at ``agent_step`` (none of them until it is set)."""
    agents = table["agents"]
    if "bp_steps" not in table:
        return [(a, None) for a in agents]
    runs = [("bp", float(lr)) for lr in table["bp_steps"]]
    if "agent_step" in table:
        runs += [(a, float(table["agent_step"])) for a in agents if a != "bp"]
    return runs


def continual_cells(mode: str) -> list:
    """The shared cells of a tier: one per (stream, agent, step, seed). Identical dicts for E5,
    E6, E7 and E10 (and for the same run in two tiers, e.g. long's class pairs = quick's).

    Full mode reads the data directory from ``LINRELU_DATA_DIR`` (ValueError when unset)."""
    if mode not in TIERS:
        raise ValueError(f"mode: expected one of {TIERS}, received {mode!r}")
    data_dir = _full_data_dir() if mode == "full" else None
    cells = []
    for name in STREAM_NAMES:
        if name not in tier_config(mode):  # --long runs no class pairs (long.toml says why)
            continue
        cells += _table_cells(tier_config(mode)[name], data_dir)
    return cells


def preview_cells(mode: str) -> list:
    """The cells of a tier's preview tables (those with ``protocol = "other tier"``: quick.toml's
    ``[preview]``, E7's preview of the ``--long`` verdict); [] for a tier without one. Each cell
    carries ``protocol``, which tells it apart from the tier's own cells of the same stream."""
    return [c for table in tier_config(mode).values() if "protocol" in table
            for c in _table_cells(table, None)]


def _table_cells(table: dict, data_dir) -> list:
    """One cell per (agent, step, seed) of one stream table."""
    base = {k: v for k, v in table.items() if k not in _RUN_SET_KEYS}
    if data_dir is not None:
        base["stream_options"] = {**base["stream_options"], "data_dir": data_dir}
    early, late = early_task(base["num_tasks"], base["spectrum_every"]), base["num_tasks"] - 1
    cells = []
    for agent, lr in _agent_runs(table):
        options = {**base["agent_options"], **table.get("per_agent", {}).get(agent, {})}
        kind = options.pop("agent", None)  # a variant: the label runs agent `kind`
        extra = {} if kind is None else {"agent_kind": kind}
        if lr is not None:
            options["lr"] = lr
        seeds = agent_seeds(table, agent)  # the other agents' seeds: the CPU budget
        for seed in seeds:
            slq = ([early, late] if agent in SLQ_AGENTS and seed == seeds[0]
                   and base["slq_runs"] > 0 else [])
            cells.append({**base, "agent_options": options, "agent": agent, "seed": seed,
                          "slq_tasks": slq, **extra})
    return cells


def build_model(cell: dict, stream):
    """The cell's network: the paper-shaped MLP or the paper's ConvNet."""
    if cell["model"] == "mlp":
        from linrelu.models.mlp import MLP

        sizes = (stream.in_dim, *([cell["width"]] * cell["depth"]), stream.out_dim)
        return MLP(sizes, sigma_w=1.0, sigma_b=0.0, parameterization="standard")
    if cell["model"] == "convnet":
        from linrelu.models.convnet import ConvNet

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
    agent = make_agent(cell.get("agent_kind", cell["agent"]), **cell["agent_options"])
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
            on_record=lambda _record: bar.update(1), end_metrics=cell.get("end_metrics", False),
            spectrum_every=cell["spectrum_every"], census=cell["census"],
            evaluate_train=cell.get("evaluate_train", True))
    keep = spectrum_tasks(cell)
    out = []
    for r in records:
        start = r["start"] if r["task"] in keep else _compact(r["start"])
        rec = {"task": r["task"], "train": r["train"], "start": start}
        if "end" in r:
            rec["end"] = _compact(r["end"])
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
    layers, the mean by default); NaN at tasks whose record lacks the key (spectral keys exist
    only every ``spectrum_every`` tasks: :func:`spectral_tasks`)."""
    vals = []
    for r in result["records"]:
        v = r[phase].get(key)
        if v is None:
            vals.append(float("nan"))
            continue
        if sub is not None:
            v = v[sub]
        vals.append(reduce([as_float(x) for x in v]) if isinstance(v, list) else as_float(v))
    return np.asarray(vals, dtype=np.float64)


def spectral_tasks(result: dict) -> np.ndarray:
    """Indices of the tasks whose start record holds the GGN spectrum summaries."""
    return np.asarray([r["task"] for r in result["records"] if "lambda_max" in r["start"]],
                      dtype=np.int64)


def eps_key(eps: float) -> str:
    """The record key of ε (``repr`` of the float, as the engine writes it)."""
    return repr(float(eps))


def config_label(cell: dict, with_step: bool = True) -> str:
    """One line naming a stream's configuration (benchmark, model, sizes)."""
    if cell["model"] == "mlp":
        model = f"MLP 784-{'-'.join([str(cell['width'])] * cell['depth'])}-10"
    else:
        model = f"ConvNet ({cell['padding']} padding)"
    a = cell["agent_options"]
    return (f"{cell['stream']}, {model}, {cell['num_tasks']} tasks, {cell['epochs']} epoch(s) "
            f"of minibatch {cell['batch_size']}, {a['optimizer']}"
            + (f" step {a['lr']}" if with_step else "") + f" ({run_steps(cell):,} steps/run)")


def by_stream(cells: list, results: list) -> dict:
    """{stream name: [(cell, result), ...]} in first-seen order."""
    out = {}
    for c, r in zip(cells, results, strict=True):
        out.setdefault(c["stream"], []).append((c, r))
    return out


# --- shared analysis of the runs (E5, E6, E7, E10) ----------------------------------------------


def run_label(cell: dict) -> str:
    """'bp @ 0.01' — an agent and its step (streams with several steps per agent need both)."""
    return f"{cell['agent']} @ {cell['agent_options']['lr']:g}"


def by_run(pairs: list) -> dict:
    """{(agent, lr): [(cell, result) of each seed]} in first-seen order."""
    out = {}
    for c, r in pairs:
        out.setdefault((c["agent"], float(c["agent_options"]["lr"])), []).append((c, r))
    return out


def comparison_step(pairs: list) -> float:
    """The step at which the agents are compared: the one step every agent ran (long: the pilot's
    ``agent_step``; quick/full: the tier's step); bp's largest step while only bp has run."""
    runs = by_run(pairs)
    others = {lr for (agent, lr) in runs if agent != "bp"}
    if others:
        return max(others)
    return max(lr for (_, lr) in runs)


def online_accuracy(result: dict) -> np.ndarray:
    """Per-task online accuracy (each prediction made before that example's update)."""
    return series(result, "train", "online_accuracy")


def plasticity_drop(acc, window: int) -> float:
    """max over sliding windows of ``window`` tasks of the mean accuracy, minus the mean over
    the last ``window`` tasks: how far a run has fallen from its best (≥ 0 up to noise)."""
    acc = np.asarray(acc, np.float64)
    w = max(1, min(int(window), acc.size))
    means = np.convolve(acc, np.ones(w) / w, mode="valid")
    return float(means.max() - acc[-w:].mean())


def mean_ci(values, level: float = 0.95) -> tuple[float, float, float]:
    """(mean, lower, upper): Student-t interval over the values (seeds); NaN bounds for one."""
    from scipy import stats

    v = np.asarray(values, np.float64)
    m = float(v.mean())
    if v.size < 2:
        return m, float("nan"), float("nan")
    half = float(stats.t.ppf(0.5 + level / 2, v.size - 1) * v.std(ddof=1) / np.sqrt(v.size))
    return m, m - half, m + half


def r2_score(y, yhat) -> float:
    """1 − Σ(y − ŷ)² / Σ(y − ȳ)² (out of sample it can be negative); NaN for constant y."""
    y, yhat = np.asarray(y, np.float64), np.asarray(yhat, np.float64)
    ss_tot = float(np.sum((y - y.mean()) ** 2))
    return 1.0 - float(np.sum((y - yhat) ** 2)) / ss_tot if ss_tot > 0 else float("nan")


def linear_fit(x, y) -> tuple[float, float]:
    """(intercept, slope) of the least-squares line y ≈ a + b x (NaN when x has no spread)."""
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    if x.size < 2 or np.ptp(x) == 0:
        return float("nan"), float("nan")
    b, a = np.polyfit(x, y, 1)
    return float(a), float(b)


def detrend(values, tasks, degree: int = 2) -> np.ndarray:
    """Residuals of ``values`` after a least-squares polynomial of ``degree`` in the task index
    (the control for time: what drifts with the task index is removed)."""
    t = np.asarray(tasks, np.float64)
    v = np.asarray(values, np.float64)
    scale = max(float(np.ptp(t)), 1.0)
    V = np.vander((t - t.min()) / scale, degree + 1)
    coef, *_ = np.linalg.lstsq(V, v, rcond=None)
    return v - V @ coef


def partial_r2(x, y, tasks, degree: int = 2) -> float:
    """R² of y on x after regressing both on a degree-``degree`` polynomial in the task index
    (the squared partial correlation controlling for time); NaN without spread."""
    rx, ry = detrend(x, tasks, degree), detrend(y, tasks, degree)
    if np.ptp(rx) == 0 or np.ptp(ry) == 0:
        return float("nan")
    return float(np.corrcoef(rx, ry)[0, 1] ** 2)


def held_out_r2(groups: list) -> float:
    """Leave-one-group-out R²: for each group (x, y) of arrays (one seed's points), fit a line
    on the other groups and score :func:`r2_score` on it; the mean over groups (NaN if < 2)."""
    if len(groups) < 2:
        return float("nan")
    scores = []
    for i, (x, y) in enumerate(groups):
        xs = np.concatenate([g[0] for j, g in enumerate(groups) if j != i])
        ys = np.concatenate([g[1] for j, g in enumerate(groups) if j != i])
        a, b = linear_fit(xs, ys)
        if np.isfinite(b):
            scores.append(r2_score(y, a + b * np.asarray(x, np.float64)))
    scores = [s for s in scores if np.isfinite(s)]
    return float(np.mean(scores)) if len(scores) == len(groups) else float("nan")
