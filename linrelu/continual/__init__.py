"""Continual learning: task streams, agents (bp, l2, er, l2_er, reset), per-task training and
the spectra recorded at every task start (THEORY.md, "Task streams"; experiments E5–E7)."""

from linrelu.continual.agents import (
    AGENTS,
    AgentConfig,
    eigvalsh_spectral,
    er_penalty,
    l2_penalty,
    make_agent,
    regularized_objective,
    smooth_effective_rank,
)
from linrelu.continual.engine import run_continual
from linrelu.continual.metrics import (
    DEFAULT_EPS_LADDER,
    task_end_metrics,
    task_start_metrics,
    weight_norm,
)
from linrelu.continual.streams import STREAMS, Stream, Task, make_stream
from linrelu.continual.train import evaluate, start_task, train_task

__all__ = [
    "STREAMS", "AGENTS", "Task", "Stream", "make_stream", "AgentConfig", "make_agent",
    "train_task", "start_task", "evaluate", "task_start_metrics", "task_end_metrics",
    "weight_norm", "DEFAULT_EPS_LADDER", "run_continual",
    "smooth_effective_rank", "eigvalsh_spectral", "l2_penalty", "er_penalty",
    "regularized_objective",
]
