"""A tiny fully symbolic ReLU MLP (NTK parameterization) inside one activation region.

Inside an open region of (parameters, inputs) where no pre-activation is 0, every ReLU acts as
the identity (active unit) or as 0 (inactive unit) on each input, so ``φ(z_l) = D_l z_l`` with a
fixed 0/1 diagonal ``D_l(x_i)`` given by ``masks``. The network is then a polynomial in the
symbolic weights, biases, inputs and σ_w, σ_b, and sympy can differentiate it exactly.

``realizing_witness`` searches (seeded, numerically) for one concrete point of the region, so the
symbolic identities are not about an empty set of networks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import sympy as sp


@dataclass(frozen=True)
class SymbolicNet:
    """Symbols and expressions of a masked MLP with sizes ``widths = (d, m_1, …, m_L, k)``."""

    widths: tuple[int, ...]
    masks: tuple[tuple[tuple[int, ...], ...], ...]  # masks[l-1][i] = D_l(x_i) diagonal
    X: sp.Matrix  # n × d input symbols
    sigma_w: sp.Symbol
    sigma_b: sp.Symbol
    weights: tuple[sp.Matrix, ...]  # W_l (m_{l-1} × m_l)
    biases: tuple[sp.Matrix, ...]  # b_l (m_l × 1)
    quadratic_bend: bool = False  # mutation hook: φ(z) = D(z + z²/2), not piecewise linear

    @property
    def n(self) -> int:
        return self.X.rows

    @property
    def k(self) -> int:
        return self.widths[-1]

    @property
    def depth(self) -> int:
        return len(self.widths) - 2

    def params(self) -> list[sp.Symbol]:
        """Flat parameter list in ravel_pytree order: W_1 (row-major), b_1, W_2, b_2, …"""
        flat: list[sp.Symbol] = []
        for W, b in zip(self.weights, self.biases, strict=True):
            flat.extend(list(W))  # sympy iterates row-major
            flat.extend(list(b))
        return flat

    def layer_slices(self) -> list[slice]:
        """Slices of ``params()`` holding (W_l, b_l) for l = 1..L+1."""
        out, start = [], 0
        for W, b in zip(self.weights, self.biases, strict=True):
            size = W.rows * W.cols + b.rows
            out.append(slice(start, start + size))
            start += size
        return out

    def forward(self, i: int):
        """(preacts z_1..z_{L+1}, acts h_0..h_L) for input i, with φ(z_l) = D_l(x_i) z_l."""
        h = self.X[i, :].T
        acts, preacts = [h], []
        for l, (W, b) in enumerate(zip(self.weights, self.biases, strict=True), start=1):
            z = self.sigma_w / sp.sqrt(self.widths[l - 1]) * W.T * h + self.sigma_b * b
            preacts.append(z)
            if l <= self.depth:
                if self.quadratic_bend:
                    z = z + z.applyfunc(lambda t: t**2 / 2)
                h = sp.diag(*self.masks[l - 1][i]) * z
                acts.append(h)
        return preacts, acts

    def outputs(self) -> sp.Matrix:
        """f(X) as an n × k matrix of polynomials."""
        return sp.Matrix.vstack(*[self.forward(i)[0][-1].T for i in range(self.n)])

    def jacobian(self) -> sp.Matrix:
        """J (nk × p), row index i·k + c, by direct symbolic differentiation."""
        f = self.outputs().reshape(self.n * self.k, 1)
        return f.jacobian(self.params())


def make_net(widths: tuple[int, ...], masks, prefix: str = "",
             quadratic_bend: bool = False) -> SymbolicNet:
    """Symbolic masked MLP with the given sizes and activation masks (one per hidden layer)."""
    n = len(masks[0])
    X = sp.Matrix(n, widths[0], lambda i, j: sp.Symbol(f"{prefix}x{i}{j}", real=True))
    weights, biases = [], []
    for l in range(1, len(widths)):
        weights.append(sp.Matrix(widths[l - 1], widths[l],
                                 lambda a, b, l=l: sp.Symbol(f"{prefix}W{l}_{a}{b}", real=True)))
        biases.append(sp.Matrix(widths[l], 1,
                                lambda a, _, l=l: sp.Symbol(f"{prefix}b{l}_{a}", real=True)))
    masks = tuple(tuple(tuple(int(v) for v in row) for row in layer) for layer in masks)
    return SymbolicNet(tuple(widths), masks, X, sp.Symbol("sigma_w", positive=True),
                       sp.Symbol("sigma_b", positive=True), tuple(weights), tuple(biases),
                       quadratic_bend)


def realizing_witness(net: SymbolicNet, seed: int = 0, tries: int = 20000):
    """A numeric point (X, params, σ_w, σ_b) whose ReLU pattern is exactly ``net.masks``.

    Returns the list of pre-activation sign patterns found, or None. Pure numpy (fast); it shows
    the activation region the symbolic checks live in is a nonempty open set.
    """
    rng = np.random.default_rng(seed)
    d, n = net.widths[0], net.n
    target = [np.array(layer, dtype=bool) for layer in net.masks]
    for _ in range(tries):
        X = rng.normal(size=(n, d))
        layers = range(1, len(net.widths))
        Ws = [rng.normal(size=(net.widths[l - 1], net.widths[l])) for l in layers]
        bs = [rng.normal(size=net.widths[l]) for l in range(1, len(net.widths))]
        h, ok = X, True
        for l in range(1, net.depth + 1):
            z = h @ Ws[l - 1] / np.sqrt(net.widths[l - 1]) + bs[l - 1]
            if not np.array_equal(z > 0, target[l - 1]) or np.any(z == 0):
                ok = False
                break
            h = np.maximum(z, 0.0)
        if ok:
            return X, Ws, bs
    return None
