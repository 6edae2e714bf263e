"""Performance benchmarks of issue 8 (``python -m benchmarks`` writes benchmarks/RESULTS.md).

Measures, in one run: the same-run dgemm rate (jax/XLA and numpy/OpenBLAS), the closed-form
Gram at the flop floor, the speed-up over the autodiff Jacobian Gram, the GGN spectrum of a net
far beyond autodiff (subprocess, peak RSS), eigensolvers for the n·k-square eigenproblem, and the
cost of a Lanczos iteration relative to one Hessian-vector product. ``--tiny`` runs every section
on toy sizes (used by tests/test_benchmarks.py; timings there are meaningless and never asserted).
"""
