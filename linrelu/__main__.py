"""Command line: ``python -m linrelu diagnose (--params P.npz | --model FILE.py:FACTORY |
--model MODULE:ATTR) --data D.npz [--loss ce] [--json] [--plot OUT.png] …``.

Prints the :func:`linrelu.diagnose` table (or, with ``--json``, its report as JSON on
stdout) for
a saved MLP (``--params``, layout: ``linrelu.models.checkpoint``) or for any JAX model from the
user's
own code (``--model``: a factory in a Python file, ``FILE.py:FACTORY``, or in an importable
module, ``MODULE:ATTR`` with ``ATTR`` possibly dotted, ``pkg.models:Zoo.make``, found on
``sys.path``, which starts with the current directory): ``FACTORY()`` returns ``(f, params)`` or
``(f, params, features)`` with ``f(params, X) -> (n, k)`` logits and ``features(params, X)`` the
hidden activations. ``--plot OUT.png`` also draws the report
(:func:`linrelu.plotting.plot_diagnosis`: the CDF of the Gram's eigenvalues with the ε marks, and
the feature metrics per hidden layer).
Bad input (missing or malformed file, wrong shapes, bad numbers) exits with status 2 and one line
``linrelu diagnose: error: <argument>: <what was expected, what was received>`` on stderr.
"""

from __future__ import annotations

import argparse
import math
import sys


class _UsageError(Exception):
    """A user error to be reported on one line with exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse's own errors (unknown flag, missing option): one line
        raise _UsageError(message)


def _number(kind, *, lo_open=None, hi_open=None):
    """argparse type: a finite int/float, optionally in an open interval (argparse prefixes the
    error with the option name)."""

    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected {'an integer' if kind is int else 'a number'}, "
                f"received {text!r}") from None
        if kind is float and not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"expected a finite number, received {text!r}")
        if (lo_open is not None and not value > lo_open) or (
                hi_open is not None and not value < hi_open):
            lo = "-inf" if lo_open is None else lo_open
            hi = "inf" if hi_open is None else hi_open
            raise argparse.ArgumentTypeError(
                f"expected a value in ({lo}, {hi}), received {text!r}")
        return value

    return parse


def build_parser() -> argparse.ArgumentParser:
    from linrelu.analysis.diagnose import DEFAULT_STEPS, DEFAULT_TAU

    parser = _Parser(prog="python -m linrelu", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    d = sub.add_parser("diagnose", help="spectral trainability diagnosis of a saved network",
                       description="Spectral diagnosis (ε-ranks of the loss-weighted Gram, "
                                   "λ_max, effective rank and dead units per layer) and the "
                                   "predicted τ-trainability of the task (T8 for mse, T9 for ce).")
    which = d.add_mutually_exclusive_group(required=True)
    which.add_argument("--params", help="MLP .npz (linrelu.models.checkpoint layout)")
    which.add_argument("--model", metavar="FILE.py:FACTORY|MODULE:ATTR",
                       help="any JAX model: FACTORY() in FILE.py (or ATTR() in the importable "
                            "MODULE) returns (f, params) or (f, params, features)")
    d.add_argument("--data", required=True, help="data .npz with X (n, ...) and y")
    d.add_argument("--json", action="store_true", help="print the report as JSON")
    d.add_argument("--loss", choices=("mse", "ce"), default=None,
                   help="default: ce if y is 1-D integer labels, mse if y is 2-D")
    d.add_argument("--lr", type=_number(float, lo_open=0.0), default=None,
                   help="GD step size (default 1/λ_max(G))")
    d.add_argument("--steps", type=_number(int, lo_open=0), default=DEFAULT_STEPS,
                   help=f"number of full-batch GD steps T (default {DEFAULT_STEPS})")
    d.add_argument("--tau", type=_number(float, lo_open=0.0, hi_open=1.0),
                   default=DEFAULT_TAU, help=f"target ratio L_T/L_0 ≤ τ (default {DEFAULT_TAU})")
    d.add_argument("--plot", metavar="OUT.png",
                   help="also draw the GGN spectrum (CDF of λ with the ε marks) and the feature "
                        "metrics per layer into OUT (.png, .pdf or .svg; linrelu.plotting."
                        "plot_diagnosis)")
    return parser


def _infer_loss(y) -> str:
    from linrelu.validation import infer_loss

    try:
        return infer_loss(y, "y")  # the same rule as diagnose(loss=None) in Python
    except ValueError:
        raise _UsageError(f"--data: cannot infer the loss from y of shape {y.shape} and dtype "
                          f"{y.dtype}; expected integer labels (n,) or targets (n, k), or pass "
                          f"--loss") from None


# Which command-line argument a library ValueError ("<name>: expected …") is about.
_FLAG_OF = {"X": "--data", "targets": "--data", "y": "--data", "params": "--params",
            "net": "--model", "features": "--model", "lr": "--lr", "steps": "--steps",
            "tau": "--tau", "loss": "--loss"}


def _flag_for(message: str) -> str:
    name = message.split(":", 1)[0].split("[", 1)[0].strip()
    return _FLAG_OF.get(name, "--params/--data")


_EXPECTED = "FILE.py:FACTORY or MODULE:ATTR"


def _import_file(path: str):
    import importlib.util
    import os

    if not os.path.isfile(path):
        raise _UsageError(f"--model: expected an existing Python file, received {path!r}")
    try:
        module_spec = importlib.util.spec_from_file_location("_linrelu_user_model", path)
        module = importlib.util.module_from_spec(module_spec)
        module_spec.loader.exec_module(module)
    except Exception as err:  # the user's file: report it in one line
        raise _UsageError(f"--model: importing {path!r} raised {type(err).__name__}: "
                          f"{err}") from None
    return module


def _import_module(name: str):
    import importlib

    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as err:
        if err.name is not None and (name == err.name or name.startswith(err.name + ".")):
            raise _UsageError(f"--model: expected {_EXPECTED} with an importable MODULE, "
                              f"received {name!r}, which is neither a .py file nor a module "
                              f"on sys.path") from None
        raise _UsageError(f"--model: importing {name!r} raised ModuleNotFoundError: "
                          f"{err}") from None
    except Exception as err:  # the user's module: report it in one line
        raise _UsageError(f"--model: importing {name!r} raised {type(err).__name__}: "
                          f"{err}") from None


def load_model(spec: str):
    """(f, params, features) from ``FILE.py:FACTORY`` or ``MODULE:ATTR`` (module docstring;
    features None when not returned). A spec whose left part ends in ``.py`` or names an existing
    file is a file; otherwise it is a module imported from ``sys.path``."""
    import os
    import re

    where, sep, name = spec.rpartition(":")
    parts = name.split(".")
    if not sep or not where or not all(p.isidentifier() for p in parts):
        raise _UsageError(f"--model: expected {_EXPECTED}, received {spec!r}")
    is_file = where.endswith(".py") or os.path.isfile(where)
    if not is_file and not re.fullmatch(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*", where):
        raise _UsageError(f"--model: expected {_EXPECTED} (MODULE a dotted Python name), "
                          f"received {spec!r}")
    module = _import_file(where) if is_file else _import_module(where)
    factory = module
    for part in parts:
        factory = getattr(factory, part, None)
    if not callable(factory):
        got = "nothing by that name" if factory is None else type(factory).__name__
        raise _UsageError(f"--model: expected a callable {name!r} in {where!r}, received {got}")
    try:
        made = factory()
    except Exception as err:  # the user's factory: report it in one line
        raise _UsageError(f"--model: {name}() raised {type(err).__name__}: {err}") from None
    if not isinstance(made, tuple) or len(made) not in (2, 3) or not callable(made[0]):
        raise _UsageError(f"--model: expected {name}() to return (f, params) or "
                          f"(f, params, features) with f callable, received "
                          f"{type(made).__name__}")
    return made[0], made[1], made[2] if len(made) == 3 else None


def _run_diagnose(args) -> int:
    import json
    import os

    from linrelu.analysis.diagnose import diagnose
    from linrelu.analysis.plasticity import plasticity_metrics
    from linrelu.models.checkpoint import load_data, load_params
    from linrelu.models.network import model_features

    for flag, path in (("--params", args.params), ("--data", args.data)):
        if path is not None and not os.path.isfile(path):
            raise _UsageError(f"{flag}: expected an existing .npz file, received {path!r}")
    if args.plot is not None:  # before any work: a bad path costs no diagnosis
        from linrelu.plotting import check_plot_path

        try:
            check_plot_path(args.plot)
        except ValueError as err:
            raise _UsageError(f"--plot: {str(err).removeprefix('out: ')}") from None
    features = None
    if args.model is not None:
        net, params, features = load_model(args.model)
    else:
        try:
            net, params = load_params(args.params)
        except ValueError as err:
            raise _UsageError(f"--params: {err}") from None
    try:
        X, y = load_data(args.data)
    except ValueError as err:
        raise _UsageError(f"--data: {err}") from None
    loss = args.loss or _infer_loss(y)
    try:
        report = diagnose(net, params, X, y, loss, lr=args.lr, steps=args.steps, tau=args.tau,
                          features=features)
        plastic = None
        if features is not None or model_features(net) is not None:
            plastic = plasticity_metrics(net, params, X, targets=y, loss=loss, features=features)
    except ValueError as err:
        flag = _flag_for(str(err))
        if flag == "--params" and args.model is not None:
            flag = "--model"
        raise _UsageError(f"{flag}: {err}") from None
    if args.json:
        print(json.dumps({**report.to_dict(), "plasticity": plastic}, indent=1))
    else:
        print(report)
        print(_plasticity_text(plastic))
    if args.plot is not None:
        from linrelu.plotting import plot_diagnosis

        try:
            plot_diagnosis(report, args.plot, plasticity=plastic)
        except OSError as err:  # e.g. the disk filled or the folder vanished meanwhile
            raise _UsageError(f"--plot: writing {args.plot!r} failed: {err}") from None
        print(f"linrelu diagnose: figure written to {args.plot}", file=sys.stderr)
    return 0


def _plasticity_text(m) -> str:
    """The :func:`linrelu.plasticity_metrics` block of the text report."""
    if m is None:
        return "plasticity metrics: none (the model does not say what its hidden units are)"
    per = m["per_layer"]
    lines = [f"plasticity metrics on the {m['inputs']} --data inputs (linrelu.plasticity_metrics;"
             f" all layers, then per layer):"]
    for key in [k for k in per if k != "units"]:
        vals = "  ".join(f"{v:.4g}" for v in per[key])
        lines.append(f"  {key:<22} {m[key]:<10.4g} [{vals}]")
    for key in ("weight_mean_abs", "grad_norm"):
        if key in m:
            lines.append(f"  {key:<22} {m[key]:.4g}")
    return "\n".join(lines)


def main(argv=None) -> int:
    try:
        args = build_parser().parse_args(argv)
        if args.command == "diagnose":
            return _run_diagnose(args)
    except _UsageError as err:
        message = " ".join(str(err).split())  # one line, whatever the message contained
        argv = sys.argv[1:] if argv is None else argv
        prog = "linrelu diagnose" if "diagnose" in argv else "linrelu"
        print(f"{prog}: error: {message}", file=sys.stderr)
        return 2
    return 2  # pragma: no cover  (argparse enforces a known command)


if __name__ == "__main__":
    sys.exit(main())
