"""Continual learning: task streams, agents (bp, l2, er, l2_er, reset, cbp), per-task training and
the spectra recorded at every task start (THEORY.md, "Task streams"; experiments E5–E7).

The user's entry points: :func:`make_stream` (a task stream), :func:`make_agent` (an agent),
:func:`run_continual` (every task of a stream; returns the records and the trained params) and,
for a task loop written by hand, :func:`start_task` and :func:`train_task_with_state`. Any model
of the one protocol trains (:mod:`linrelu.continual.model`). Guide: docs/continual.md."""

from linrelu.continual.agents import (
    AGENTS,
    ER_MODES,
    OPTIMIZERS,
    AgentConfig,
    eigvalsh_spectral,
    er_penalty,
    l2_penalty,
    make_agent,
    make_optimizer,
    mean_erank,
    regularized_objective,
    smooth_effective_rank,
)
from linrelu.continual.cbp import CBPState, cbp_update
from linrelu.continual.engine import ContinualRun, hessian_density, run_continual
from linrelu.continual.metrics import (
    DEFAULT_EPS_LADDER,
    task_end_metrics,
    task_start_metrics,
    weight_norm,
)
from linrelu.continual.model import as_model
from linrelu.continual.streams import STREAMS, Stream, Task, make_stream
from linrelu.continual.train import (
    AgentState,
    evaluate,
    init_agent_state,
    population_pays,
    start_task,
    train_population,
    train_task,
    train_task_with_state,
)

__all__ = [
    "STREAMS", "AGENTS", "Task", "Stream", "make_stream", "AgentConfig", "make_agent",
    "train_task", "start_task", "evaluate", "task_start_metrics", "task_end_metrics",
    "weight_norm", "DEFAULT_EPS_LADDER", "run_continual", "ContinualRun",
    "smooth_effective_rank", "eigvalsh_spectral", "l2_penalty", "er_penalty",
    "regularized_objective", "mean_erank", "OPTIMIZERS", "ER_MODES", "make_optimizer",
    "CBPState", "cbp_update", "hessian_density", "as_model", "AgentState",
    "init_agent_state", "train_task_with_state", "train_population", "population_pays",
]
