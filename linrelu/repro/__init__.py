"""The reproduction tool behind ``python paper_repro.py`` (see runner.py)."""

from linrelu.repro.runner import main

__all__ = ["main"]
