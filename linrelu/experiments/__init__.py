"""The experiments E1–E10 (THEORY.md, "Experiments and figures"), one module each.

Each module defines ``EXPERIMENT`` (a :class:`linrelu.experiments.base.Experiment`); the registry
below lists them in the order ``paper_repro.py`` runs them. A module that does not exist yet is
simply absent from the registry.
"""

from __future__ import annotations

import importlib

from linrelu.experiments.base import Claim, Experiment, save_figure, to_jsonable

# (experiment id, module name): the order paper_repro.py runs them in.
_MODULES = (
    ("E1", "e1_gram_ggn_equivalence"),
    ("E2", "e2_ntk_convergence"),
    ("E3", "e3_trainability_bounds"),
    ("E4", "e4_trainability_grid"),
    ("E5", "e5_spectra_collapse"),
    ("E6", "e6_eps_rank_vs_accuracy"),
    ("E7", "e7_plasticity_metrics"),
    ("E8", "e8_permutation_invariance"),
    ("E9", "e9_eps_rank_estimators"),
    ("E10", "e10_plasticity_predictors"),
)


def registry() -> dict:
    """{id: Experiment} for every experiment module that exists, in run order."""
    out = {}
    for eid, mod in _MODULES:
        try:
            m = importlib.import_module(f"linrelu.experiments.{mod}")
        except ModuleNotFoundError as err:
            if err.name == f"linrelu.experiments.{mod}":
                continue
            raise
        out[eid] = m.EXPERIMENT
    return out


__all__ = ["Claim", "Experiment", "registry", "save_figure", "to_jsonable"]
