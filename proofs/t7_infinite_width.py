r"""T7 — the ReLU Gaussian expectations (arc-cosine kernels) and the infinite-width NTK recursion.

Statement (rendered from ``THEOREM``; see proofs/STATEMENTS.md)
-----------------------------------------------------------------
For s₁ > 0, c² ≤ s₁s₂, let (u, v) = (√s₁ g₁, (c g₁ + √(s₁s₂ − c²) g₂)/√s₁) with g ~ N(0, I₂): a
centred Gaussian pair with covariance [[s₁, c], [c, s₂]] (claim ``pair_covariance``). With
φ = ReLU, φ′(z) = 1[z > 0] (φ′(0) = 0, the finite-width masks' convention), ρ = c/√(s₁s₂),
κ₁(s₁, s₂, c) = E[φ(u)φ(v)] and κ₀(s₁, s₂, c) = E[φ′(u)φ′(v)] (integrals over the plane):

    κ₁ = √(s₁s₂)/(2π) · (√(1 − ρ²) + (π − arccos ρ) ρ),     κ₀ = (π − arccos ρ)/(2π)

whenever s₁, s₂ > 0 and c² ≤ s₁s₂ (ρ = ±1 included). The recursion, for inputs X (n × d, rows
xᵢ): Σ¹(X)ᵢⱼ = σ_w² (XXᵀ)ᵢⱼ/d + σ_b², Θ¹ = Σ¹, Σ^{l+1}ᵢⱼ = σ_w² κ₁(Σ^lᵢᵢ, Σ^lⱼⱼ, Σ^lᵢⱼ) + σ_b²,
Σ̇^{l+1}ᵢⱼ = σ_w² κ₀(…), Θ^{l+1} = Σ^{l+1} + Σ̇^{l+1} Θ^l (entrywise). Claims:
``input_layer``: Σ¹ is the covariance E[y_i y_j] of one first-layer pre-activation
y_i = (σ_w/√d) Σ_a W_a X_ia + σ_b β over W_a, β iid N(0, 1) (exact, any width);
``hidden_layer``: for y_i = (σ_w/√m) Σ_a W_a φ(z_ai) + σ_b β (z the previous layer's
pre-activations, W, β the new layer's parameters), E[y_i y_j] = Σ^{l+1}ᵢⱼ whenever the width
average (1/m) Σ_a φ(z_ai)φ(z_aj) equals κ₁ at Σ^l (the infinite-width idealization, printed as a
hypothesis); ``tangent_layer``: ⟨∇y_i, ∇y_j⟩ = Θ^{l+1}ᵢⱼ whenever ⟨∇z_ai, ∇z_bj⟩ = [a = b] Θ^lᵢⱼ
and the two width averages equal κ₁ and κ₀ (parameters are coordinates: ⟨∇W_a, ∇W_b⟩ = [a = b],
…); ``orthogonal_invariance``: Σ^L(XQ) = Σ^L(X) and Θ^L(XQ) = Θ^L(X) for every depth L ≥ 1 when
QQᵀ = I_d (a pixel permutation is such a Q); and five claims that linrelu.spectral.kernels computes
these
objects: its arc-cosine kernels equal the closed forms where s₁s₂ − c² > 8ε·s₁s₂ (ε = 2⁻⁵²) and
for parallel pairs (c² = s₁s₂), snap to the parallel value inside the rounding strip
0 < s₁s₂ − c² ≤ 8ε·s₁s₂, are 0 at zero variance (the φ′(0) = 0 convention), and its
``nngp_analytic`` / ``ntk_analytic`` entries are Σ^{L+1}, Θ^{L+1}.

Not claimed here: the rate O(m^{-1/2}) at which the empirical Gram at a fresh init approaches
Θ^{L+1} ⊗ I_k is an empirical statement (experiment E2, tests/test_kernels.py), not proved.

Proof
-----
Covariance: E[g_a g_b] = [a = b] and bilinearity give E[u²] = s₁, E[uv] = c, E[v²] = s₂ (the roots
are real because s₁ > 0 and c² ≤ s₁s₂). Expectations: write ρ = cos θ, θ = arccos ρ ∈ [0, π]
(|ρ| ≤ 1 since c² ≤ s₁s₂), so c = √(s₁s₂) cos θ and √(s₁s₂ − c²) = √(s₁s₂) sin θ. In polar
coordinates g = r(cos t, sin t) (density e^{−r²/2}/(2π), area element r dr dt), u = √s₁ r cos t
and v = √s₂ r cos(t − θ). φ and φ′ vanish on (−∞, 0] and are positively homogeneous of degree
1 and 0 (φ(w) = w, φ′(w) = 1 for w > 0), so the integrands are r^k cos^{k}t cos^{k}(t − θ) on the
arc where both cosines are positive and 0 elsewhere. On the period [−π/2, 3π/2) cos t > 0 on
(−π/2, π/2) and cos(t − θ) > 0 on (θ − π/2, θ + π/2) (θ ∈ [0, π] keeps it inside the period),
so both are positive on (max(−π/2, θ − π/2), min(π/2, θ + π/2)) = (θ − π/2, π/2), of length π − θ.
Then κ₁ = (√(s₁s₂)/2π) ∫_0^∞ r³e^{−r²/2}dr ∫_{θ−π/2}^{π/2} cos t cos(t−θ) dt
= (√(s₁s₂)/2π)(sin θ + (π − θ) cos θ) and κ₀ = (2π)^{-1} ∫_0^∞ r e^{−r²/2} dr · (π − θ); with
sin θ = √(1 − ρ²), cos θ = ρ these are the stated forms.
Layer moments: y_i is linear in the new layer's (W, β) with coefficients independent of them, so
E[y_i y_j] = Σ_a Σ_b (σ_w²/m) h_ai h_bj E[W_a W_b] + σ_b² E[β²] = (σ_w²/m) Σ_a h_ai h_aj + σ_b²;
for the first layer (h = X, m = d) this is Σ¹; for a hidden layer the hypothesis replaces the
width average by κ₁ at Σ^l, which is Σ^{l+1}'s definition. Tangent kernel: by the chain rule,
⟨∇y_i, ∇y_j⟩ = Σ_{p,q} ∂y_i/∂p ∂y_j/∂q ⟨∇p, ∇q⟩ over the coordinates W_a, β and the previous
pre-activations z_ai (functions of the earlier parameters only); ∂y_i/∂W_a = σ_w φ(z_ai)/√m,
∂y_i/∂β = σ_b, ∂y_i/∂z_ai = σ_w W_a φ′(z_ai)/√m (φ′ is φ's derivative off 0), which gives
(σ_w²/m)Σ_a φφ + σ_b² + (σ_w²/m)Σ_a W_a² φ′φ′ Θ^l = Σ^{l+1} + Σ̇^{l+1} Θ^l by the hypotheses.
Invariance: (XQ)(XQ)ᵀ = XQQᵀXᵀ = XXᵀ gives the base L = 1; every later layer is a function of the
previous layer's entries, so Σ^l(XQ) = Σ^l(X), Θ^l(XQ) = Θ^l(X) for all i, j carry to l + 1.
At finite width (XQ)W₁ = X(QW₁) and QW₁ has the law of W₁ (rotation invariance of the standard
Gaussian), so the empirical Gram of XQ at init has the law of that of X (prose only). ∎

What ``check()`` proves, and how
--------------------------------
At general size: the pair covariance (bilinear expectation from the stated moments, real roots
decided by z3); both expectations from the definitions of κ₁, κ₀, φ, φ′ and ρ read off the
theorem (z3 decides every sign fact: positive variances, the arc endpoints as max/min of the two
half-periods, the homogeneity of φ and φ′ from their definitions; sympy integrates and compares
with the claimed forms); the layer moments and the tangent kernel by a bilinear engine that reads
the moment / coordinate hypotheses and the width-average hypotheses from the claim (symbolic
width, every Piecewise condition of a Kronecker-delta sum decided by z3); invariance by induction
on the depth with the step at a symbolic layer l (base read from the claim's hypothesis on L,
step definitions applicable only from the first layer on, decided by z3). linrelu.spectral.kernels
is run
on sympy objects: every ``np.where`` / ``arctan2`` it takes becomes a Piecewise whose branch is
chosen only after z3 proves its condition (and refutes the earlier ones) from the claim's
hypotheses, so reversing or moving the library's rounding guard fails; its recursion is run with
the expectations opaque at depths 0–4 (sizes 2 and 3, both the symmetric and the two-argument
path) and compared with the definitions unfolded: sampled instances, not a proof for all depths;
there linrelu's arccos_kernel_1 / _0 stand for κ₁, κ₀ (their own claims relate them), and κ₁, κ₀
are symmetric in the two variances (an identity of the proved closed forms, checked), which the
library's symmetrized matrices need.
Lemmas left to prose: polar coordinates and the standard normal density, the positivity of cosine
on (−π/2, π/2) modulo 2π, arccos ρ ∈ [0, π] with sin(arccos ρ) = √(1 − ρ²), linearity of
expectation over one layer's parameters (independent of the earlier layers), the chain rule for
the gradient pairing, the infinite-width limits that the hidden-layer hypotheses idealize (law of
large numbers, ⟨∇z_a, ∇z_b⟩ → [a = b] Θ^l: Jacot et al. 2018, Lee et al. 2019, Arora et al. 2019),
independent output units (the NTK of k outputs is Θ^{L+1} ⊗ I_k), and
atan2(y, x) = arccos(x/√(x² + y²)) for y ≥ 0, (x, y) ≠ 0, with atan2(0, 0) = 0 (numpy).

The falsifier (independent float64 code, not linrelu for the expectations and the recursion):
κ₁, κ₀ by one-dimensional quadrature of E[φ(u) E[φ(v) | u]] (scipy ``quad``, relative 1e-13),
cross-checked by Monte Carlo (2·10⁵ draws, within 5 standard errors); the recursion in numpy for
random X and exactly orthogonal Q (signed permutations, scaled Hadamard mixes: QQᵀ = I holds
exactly in floating point, as the statement's hypothesis is evaluated without tolerance);
linrelu's functions against them in the regions its claims name.
"""

from __future__ import annotations

from types import SimpleNamespace
from unittest import mock

import numpy as np
import sympy as sp
from sympy.core.function import AppliedUndef
from sympy.matrices.expressions.matexpr import MatrixElement
from sympy.utilities.lambdify import implemented_function

from proofs import _defs, _smt
from proofs._defs import equation
from proofs._statement import Claim, ProofError, Report, Theorem, is_zero
from proofs._sym import matmul_replace_adjacent

# -- the numeric implementations behind the function symbols (the falsifier's independent code) --


def _quad_kappa(order: int):
    """κ_order(s₁, s₂, c) = E[φ_order(u) φ_order(v)] by conditioning on u: v | u is normal with
    mean c·u/s₁ and variance s₂ − c²/s₁; one-dimensional quadrature over u > 0."""

    def value(s1, s2, c):
        from scipy import integrate, special

        s1, s2, c = float(s1), float(s2), float(c)
        sd = np.sqrt(s2 - c * c / s1)

        def integrand(x):  # x = u/√s₁ ~ N(0, 1)
            u = np.sqrt(s1) * x
            mean = c * u / s1
            ratio = mean / sd
            density = np.exp(-x * x / 2) / np.sqrt(2 * np.pi)
            if order == 1:  # u · E[max(v, 0) | u]
                inner = mean * special.ndtr(ratio) + sd * np.exp(-ratio**2 / 2) / np.sqrt(2 * np.pi)
                return u * inner * density
            return special.ndtr(ratio) * density  # P(v > 0 | u)

        return integrate.quad(integrand, 0, np.inf, epsabs=0, epsrel=1e-13, limit=200)[0]

    return value


def _numeric_layers(Z, sw, sb, depth):
    """(Σ, Θ) of layers 1..depth by the recursion in numpy (closed forms through arccos; the
    diagonal at θ = 0 exactly)."""
    Z = np.asarray(Z, dtype=float)
    sigma = sw**2 * (Z @ Z.T) / Z.shape[1] + sb**2
    out = {1: (sigma, sigma)}
    for layer in range(2, int(depth) + 1):
        prev_sigma, prev_theta = out[layer - 1]
        var = np.diag(prev_sigma)
        norm = np.sqrt(np.outer(var, var))
        corr = np.clip(prev_sigma / norm, -1.0, 1.0)
        np.fill_diagonal(corr, 1.0)
        angle = np.arccos(corr)
        k1 = norm * (np.sin(angle) + (np.pi - angle) * corr) / (2 * np.pi)
        k0 = (np.pi - angle) / (2 * np.pi)
        new_sigma = sw**2 * k1 + sb**2
        sigma_dot = sw**2 * k0
        out[layer] = (new_sigma, new_sigma + sigma_dot * prev_theta)
    return out


def _numeric_kernel(position: int):
    def value(layer, Z, sw, sb, i, j):
        return _numeric_layers(Z, float(sw), float(sb), int(layer))[int(layer)][position][
            int(i), int(j)]

    return value


def _linrelu_kernels():
    import linrelu.spectral.kernels as lk  # imported here: the other proofs need no JAX

    return lk


def _library_call(name: str):
    def value(*args):
        return getattr(_linrelu_kernels(), name)(*(float(v) for v in args))

    return value


def _library_entry(output: str):
    def value(Z, depth, sw, sb, i, j):
        fn = getattr(_linrelu_kernels(), output)
        return fn(np.asarray(Z, dtype=float), depth=int(depth), sigma_w=float(sw),
                  sigma_b=float(sb))[int(i), int(j)]

    return value


# -- symbols and function symbols ------------------------------------------------------------------
s1, s2, c, rho, eps_mach, beta, g1, g2, zv, u, v = _defs.real(
    "s_1 s_2 c rho epsilon_mach beta g_1 g_2 z u v")
sigma_w, sigma_b = _defs.sigma_w, _defs.sigma_b
n, d, m, l, L, i, j, a, b, k = _defs.integer("n d m l L i j a b k")
X = sp.MatrixSymbol("X", n, d)
Q = sp.MatrixSymbol("Q", d, d)
Zd = sp.MatrixSymbol("Z", n, d)  # the argument of the layer definitions
W, z, y = sp.IndexedBase("W"), sp.IndexedBase("z"), sp.IndexedBase("y")

phi, phi_prime = sp.Function("phi"), sp.Function("phi_prime")
kappa_1 = implemented_function(sp.Function("kappa_1"), _quad_kappa(1))
kappa_0 = implemented_function(sp.Function("kappa_0"), _quad_kappa(0))
Sigma = implemented_function(sp.Function("Sigma", layer_indexed=True), _numeric_kernel(0))
Sigma_dot = sp.Function("Sigma_dot", layer_indexed=True)  # in no claim the falsifier evaluates
Theta = implemented_function(sp.Function("Theta", layer_indexed=True), _numeric_kernel(1))
expect = sp.Function("E", pairing="product")  # E(p, q) = E[p·q]
tangent = sp.Function("tangent", pairing="gradient")  # ⟨∇p, ∇q⟩ over all parameters
lib_kappa_1 = implemented_function(sp.Function("arccos_kernel_1"), _library_call("arccos_kernel_1"))
lib_kappa_0 = implemented_function(sp.Function("arccos_kernel_0"), _library_call("arccos_kernel_0"))
lib_nngp = implemented_function(sp.Function("nngp_analytic", entry_indexed=True),
                                _library_entry("nngp_analytic"))
lib_ntk = implemented_function(sp.Function("ntk_analytic", entry_indexed=True),
                               _library_entry("ntk_analytic"))
LAYER_HEADS = (Sigma, Sigma_dot, Theta)
LIBRARY_OUTPUT = {"nngp_analytic": 0, "ntk_analytic": 1}  # position in linrelu's _kernels result


def _layer(f, layer, Z=X, p=i, q=j):
    return f(layer, Z, sigma_w, sigma_b, p, q)


def _at_layer(f, layer):
    return f(_layer(Sigma, layer, X, i, i), _layer(Sigma, layer, X, j, j), _layer(Sigma, layer))


# -- the statement ---------------------------------------------------------------------------------
U, V = _defs.gaussian_pair(s1, s2, c, g1, g2)
MOMENTS = (equation(expect(W[a], W[b]), sp.KroneckerDelta(a, b)), equation(expect(W[a], beta), 0),
           equation(expect(beta, beta), 1))
COORDINATES = (equation(tangent(W[a], W[b]), sp.KroneckerDelta(a, b)),
               equation(tangent(W[a], beta), 0), equation(tangent(beta, beta), 1),
               equation(tangent(W[a], z[b, k]), 0), equation(tangent(beta, z[b, k]), 0))
AVERAGE_1 = equation(sp.Sum(phi(z[a, i]) * phi(z[a, j]), (a, 0, m - 1)) / m, _at_layer(kappa_1, l))
AVERAGE_0 = equation(sp.Sum(W[a] ** 2 * phi_prime(z[a, i]) * phi_prime(z[a, j]), (a, 0, m - 1)) / m,
                     _at_layer(kappa_0, l))
PREVIOUS_TANGENT = equation(tangent(z[a, i], z[b, j]), sp.KroneckerDelta(a, b) * _layer(Theta, l))
FIRST_LAYER = equation(y[i], _defs.dense_preactivation(W, X[i, a], a, d, beta, sigma_w, sigma_b))
HIDDEN_LAYER = equation(y[i], _defs.dense_preactivation(W, phi(z[a, i]), a, m, beta, sigma_w,
                                                        sigma_b))
EPS_VALUE = equation(eps_mach, sp.Pow(2, -52, evaluate=False))
SPREAD = s1 * s2 - c**2
KERNEL_CLOSED_FORMS = sp.And(
    equation(lib_kappa_1(s1, s2, c), _defs.arccos_kernel_1_closed_form(s1, s2, rho)),
    equation(lib_kappa_0(s1, s2, c), _defs.arccos_kernel_0_closed_form(rho)))

DEFINITIONS = (
    equation(phi(zv), _defs.relu(zv)),
    equation(phi_prime(zv), _defs.relu_step(zv)),
    equation(rho, _defs.correlation(s1, s2, c)),
    equation(u, U),
    equation(v, V),
    equation(kappa_1(s1, s2, c), _defs.standard_normal_expectation(phi(u) * phi(v), g1, g2)),
    equation(kappa_0(s1, s2, c),
             _defs.standard_normal_expectation(phi_prime(u) * phi_prime(v), g1, g2)),
    equation(_layer(Sigma, 1, Zd), _defs.nngp_first_layer(Zd, i, j, sigma_w, sigma_b)),
    equation(_layer(Sigma, l + 1, Zd),
             _defs.nngp_next_layer(kappa_1, Sigma, l, Zd, i, j, sigma_w, sigma_b)),
    equation(_layer(Sigma_dot, l + 1, Zd),
             _defs.ntk_derivative_layer(kappa_0, Sigma, l, Zd, i, j, sigma_w, sigma_b)),
    equation(_layer(Theta, 1, Zd), _layer(Sigma, 1, Zd)),
    equation(_layer(Theta, l + 1, Zd),
             _defs.ntk_next_layer(Sigma, Sigma_dot, Theta, l, Zd, i, j, sigma_w, sigma_b)),
)

THEOREM = Theorem(
    id="T7",
    variables=(s1, s2, c, sigma_w, sigma_b, eps_mach, beta, g1, g2, n, d, m, l, L, i, j, X, Q,
               W, z),
    hypotheses=(),
    definitions=DEFINITIONS,
    claims=(
        Claim("pair_covariance",
              sp.And(equation(expect(u, u), s1), equation(expect(u, v), c),
                     equation(expect(v, v), s2)),
              hypotheses=(s1 > 0, c**2 <= s1 * s2, equation(expect(g1, g1), 1),
                          equation(expect(g1, g2), 0), equation(expect(g2, g2), 1))),
        Claim("relu_product",
              equation(kappa_1(s1, s2, c), _defs.arccos_kernel_1_closed_form(s1, s2, rho)),
              hypotheses=(s1 > 0, s2 > 0, c**2 <= s1 * s2)),
        Claim("relu_step_product",
              equation(kappa_0(s1, s2, c), _defs.arccos_kernel_0_closed_form(rho)),
              hypotheses=(s1 > 0, s2 > 0, c**2 <= s1 * s2)),
        Claim("input_layer", equation(expect(y[i], y[j]), _layer(Sigma, 1)),
              hypotheses=MOMENTS, variables=(a, b), definitions=(FIRST_LAYER,)),
        Claim("hidden_layer", equation(expect(y[i], y[j]), _layer(Sigma, l + 1)),
              hypotheses=(l >= 1, *MOMENTS, AVERAGE_1), variables=(a, b),
              definitions=(HIDDEN_LAYER,)),
        Claim("tangent_layer", equation(tangent(y[i], y[j]), _layer(Theta, l + 1)),
              hypotheses=(l >= 1, *COORDINATES, PREVIOUS_TANGENT, AVERAGE_1, AVERAGE_0),
              variables=(a, b, k), definitions=(HIDDEN_LAYER,)),
        Claim("orthogonal_invariance",
              sp.And(equation(_layer(Sigma, L, X * Q), _layer(Sigma, L)),
                     equation(_layer(Theta, L, X * Q), _layer(Theta, L))),
              hypotheses=(L >= 1, equation(Q * Q.T, sp.Identity(d)))),
        Claim("library_interior", KERNEL_CLOSED_FORMS,
              hypotheses=(s1 > 0, s2 > 0, EPS_VALUE, SPREAD > 8 * eps_mach * s1 * s2)),
        Claim("library_parallel", KERNEL_CLOSED_FORMS,
              hypotheses=(s1 > 0, s2 > 0, EPS_VALUE, equation(c**2, s1 * s2))),
        Claim("library_rounding_strip",
              sp.And(equation(lib_kappa_1(s1, s2, c), _defs.arccos_kernel_1_snapped(c)),
                     equation(lib_kappa_0(s1, s2, c), _defs.arccos_kernel_0_snapped(c))),
              hypotheses=(s1 > 0, s2 > 0, EPS_VALUE, SPREAD > 0,
                          SPREAD <= 8 * eps_mach * s1 * s2)),
        Claim("library_zero_variance",
              sp.And(equation(lib_kappa_1(s1, s2, c), 0), equation(lib_kappa_0(s1, s2, c), 0)),
              hypotheses=(s1 >= 0, s2 >= 0, equation(s1 * s2, 0), equation(c, 0))),
        Claim("library_recursion",
              sp.And(equation(lib_nngp(X, L, sigma_w, sigma_b, i, j), _layer(Sigma, L + 1)),
                     equation(lib_ntk(X, L, sigma_w, sigma_b, i, j), _layer(Theta, L + 1))),
              hypotheses=(L >= 0,)),
    ),
    lemmas=("polar coordinates and the standard normal density",
            "cosine is positive exactly on the open half period around zero",
            "the arccosine maps the closed unit interval onto the closed half turn",
            "linearity of expectation over one layer's parameters",
            "chain rule for the gradient pairing",
            "infinite width limits of the width averages and of the previous tangent kernel",
            "independent output units give the Kronecker product with the identity",
            "two argument arctangent as an arccosine on the closed upper half plane",
            "rotation invariance of the standard Gaussian, so at finite width the Gram of the "
            "rotated inputs has the law of the Gram of the inputs"),
)


# -- the solver, with square roots and pi --------------------------------------------------------
def _is_root(e) -> bool:
    return isinstance(e, sp.Pow) and e.exp in (sp.S.Half, -sp.S.Half)


def _decide(hypotheses, conclusion) -> bool:
    """z3 decides hypotheses ⇒ conclusion after π becomes a positive real and every square root
    √e a fresh real r with r ≥ 0 and r² = e, where e ≥ 0 is itself first decided from the
    hypotheses (innermost roots first), so no real case is lost."""
    pi = sp.Dummy("pi", real=True)
    scalar = [h for h in hypotheses if not sp.sympify(h).has(
        AppliedUndef, sp.Sum, sp.Indexed, sp.MatrixExpr)]  # the others say nothing to the solver
    exprs = [sp.sympify(e).xreplace({sp.pi: pi}) for e in (*scalar, conclusion)]
    facts = [pi > 0]
    while roots := [e.base for expr in exprs for e in sp.preorder_traversal(expr) if _is_root(e)
                    and not any(_is_root(f) for f in sp.preorder_traversal(e.base))]:
        base, root = roots[0], sp.Dummy("root", real=True)
        if _smt.decide((*exprs[:-1], *facts), base >= 0).verdict != "proved":
            return False
        exprs = [e.xreplace({sp.sqrt(base): root, 1 / sp.sqrt(base): 1 / root}) for e in exprs]
        facts += [root >= 0, sp.Eq(root**2, base)]
    return _smt.decide((*exprs[:-1], *facts), exprs[-1]).verdict == "proved"


def _proved(report: Report, name: str, hypotheses, conclusion) -> bool:
    """``_decide``, recorded in the report's solver steps when proved."""
    if _decide(hypotheses, conclusion):
        report.solver.append(name)
        return True
    return False


def _prove(report: Report, name: str, hypotheses, conclusion) -> None:
    if not _proved(report, name, hypotheses, conclusion):
        raise ProofError(f"{report.theorem.id} {name}: the solver does not prove "
                         f"{_render(conclusion)} from the hypotheses")


def _render(obj) -> str:
    from proofs._render import render

    return render(obj)


def _resolve(report: Report, expr, hypotheses, name: str):
    """Every Piecewise of ``expr``, outermost first, replaced by the branch the hypotheses select:
    its condition proved and every earlier condition refuted by the solver (never the first
    branch on trust); an undecided condition fails."""
    expr = sp.sympify(expr)
    if not expr.has(sp.Piecewise, sp.ITE):
        return expr
    if isinstance(expr, sp.ITE):  # sympy folds a Piecewise inside a condition into an ITE
        expr = sp.Piecewise((expr.args[1], expr.args[0]), (expr.args[2], True))
    if isinstance(expr, sp.Piecewise):
        for value, cond in expr.args:
            cond = _resolve(report, cond, hypotheses, name)
            if _proved(report, name, hypotheses, cond):
                return _resolve(report, value, hypotheses, name)
            if not _proved(report, name, hypotheses, sp.Not(cond)):
                raise ProofError(f"{report.theorem.id} {name}: the hypotheses do not decide the "
                                 f"branch condition {_render(cond)}")
        raise ProofError(f"{report.theorem.id} {name}: no branch of {_render(expr)} applies")
    return expr.func(*[_resolve(report, arg, hypotheses, name) for arg in expr.args])


# -- definitions, read from the theorem ----------------------------------------------------------
def _conjuncts(relation) -> list:
    return list(relation.args) if isinstance(relation, sp.And) else [relation]


def _lower_bound(hypotheses, var):
    """b of the hypothesis var ≥ b."""
    for h in hypotheses:
        if isinstance(h, sp.GreaterThan) and h.lhs == var:
            return h.rhs
    raise ProofError(f"no lower bound for {_render(var)} among the hypotheses")


def _first_layer(definitions) -> int:
    """The layer of the recursion's base definitions (the smallest numeric layer defined)."""
    return min(defn.lhs.args[0] for defn in definitions
               if getattr(defn.lhs.func, "layer_indexed", False) and defn.lhs.args[0].is_Integer)


def _bind(report, params, args, definitions, hypotheses, name):
    """The substitution that turns a definition's left side ``params`` into ``args`` (None if
    it does not apply): symbols bind (a matrix binds its shape too), numbers must agree, and a
    layer l + 1 binds l = arg − 1 only where l is at least the first layer (decided)."""
    binding = {}
    for param, arg in zip(params, args):
        if isinstance(param, sp.MatrixSymbol):
            binding[param] = arg
            binding.update({ps: s for ps, s in zip(param.shape, arg.shape) if ps.is_Symbol})
        elif param.is_Symbol:
            binding[param] = arg
        elif param.is_Integer:
            if param != arg:
                return None
        else:
            (var,) = param.free_symbols
            value = sp.expand(arg - (param - var))  # the layer l of l + offset = arg
            first = _first_layer(definitions)
            if not (value >= first if value.is_Integer else _proved(
                    report, f"{name}: the layer is past the first", hypotheses, value >= first)):
                return None
            binding[var] = value
    return binding


def _expand(report, expr, definitions, hypotheses, name, heads, layer=None):
    """Replace every application of ``heads`` (at ``layer`` when given) by its definition,
    until none is left."""
    while targets := [e for e in sp.sympify(expr).atoms(AppliedUndef)
                      if e.func in heads and (layer is None or e.args[0] == layer)]:
        replaced = {}
        for e in targets:
            for defn in definitions:
                binding = (_bind(report, defn.lhs.args, e.args, definitions, hypotheses, name)
                           if defn.lhs.func == e.func else None)
                if binding is not None:
                    replaced[e] = _expand_symbols(defn.rhs, definitions).xreplace(binding)
                    break
            else:
                raise ProofError(f"{report.theorem.id} {name}: no definition applies to "
                                 f"{_render(e)}")
        expr = expr.xreplace(replaced)
    return expr


def _expand_symbols(expr, definitions):
    """Defined symbols (ρ) and indexed names (y_i) replaced by their definitions."""
    for defn in definitions:
        if isinstance(defn.lhs, sp.Symbol):
            expr = expr.xreplace({defn.lhs: defn.rhs})
        elif isinstance(defn.lhs, sp.Indexed):
            (index,) = defn.lhs.indices
            expr = expr.replace(lambda e, base=defn.lhs.base: isinstance(e, sp.Indexed)
                                and e.base == base,
                                lambda e, defn=defn, index=index: defn.rhs.xreplace(
                                    {index: e.indices[0]}))
    return expr


# -- normal forms ----------------------------------------------------------------------------------
SUMMATION_INDEX = sp.Symbol("summation_index", integer=True)


def _pull_sums(expr):
    """Sums split over their terms, constants pulled out, the index renamed canonically."""
    def pull(s):
        (index, lo, hi), = s.limits
        total = 0
        for term in sp.Add.make_args(sp.expand(s.function.xreplace({index: SUMMATION_INDEX}))):
            const, dep = term.as_independent(SUMMATION_INDEX, as_Add=False)
            total += const * sp.Sum(dep, (SUMMATION_INDEX, lo, hi))
        return total

    return sp.expand(expr.replace(lambda e: isinstance(e, sp.Sum), pull))


def _roots_factored(expr):
    return expr.replace(lambda e: isinstance(e, sp.Pow) and e.exp == sp.S.Half,
                        lambda e: sp.sqrt(sp.factor(e.base)))


def _bottom_up(expr, rule, memo: dict):
    """``rule`` applied to every node, leaves first, each distinct subexpression once (the
    library's expressions share their subtrees)."""
    if expr not in memo:
        args = [_bottom_up(arg, rule, memo) for arg in expr.args]
        memo[expr] = rule(expr.func(*args) if args and args != list(expr.args) else expr)
    return memo[expr]


def _symmetric_arguments(expr, heads):
    """The first two arguments of each application of ``heads`` in a canonical order."""
    return _bottom_up(sp.sympify(expr), lambda e: e.func(
        *sorted(e.args[:2], key=sp.default_sort_key), *e.args[2:])
        if isinstance(e, AppliedUndef) and e.func in heads else e, {})


# -- expectations and gradient pairings of layer maps ----------------------------------------------
def _families(head, hypotheses) -> list:
    """The atoms the pairing hypotheses head(p, q) = value speak of (symbols, indexed names)."""
    out = []
    for h in hypotheses:
        if isinstance(h, sp.Equality) and getattr(h.lhs, "func", None) == head:
            for arg in h.lhs.args:
                key = arg.base if isinstance(arg, sp.Indexed) else arg
                out += [] if key in out else [key]
    return out


def _partials(report, form, families, hypotheses, name) -> list:
    """(atom, ∂form/∂atom, index, lo, hi) for every atom of ``families`` in ``form``; an indexed
    family must occur inside sums only, its member taken at a fresh index over the sum's range."""
    terms = []
    for family in families:
        if isinstance(family, sp.IndexedBase):
            sums = [s for s in form.atoms(sp.Sum) if s.function.has(family)]
            if form.xreplace({s: 0 for s in sums}).has(family):
                raise ProofError(f"{report.theorem.id} {name}: {_render(family)} occurs outside "
                                 "a sum")
            for s in sums:
                (index, lo, hi), = s.limits
                member = next(e for e in s.function.atoms(sp.Indexed) if e.base == family)
                fresh = sp.Dummy("k", integer=True)
                atom = member.xreplace({index: fresh})
                coef = _resolve(report, sp.diff(form, atom).doit(),
                                (*hypotheses, lo <= fresh, fresh <= hi), name)
                terms.append((atom, coef, fresh, lo, hi))
        elif form.has(family):
            terms.append((family, sp.diff(form, family), None, None, None))
    return terms


def _match(template, atoms, patterns):
    """The binding of the pattern indices that turns ``template`` into ``atoms`` (or None)."""
    binding = {}
    for t, v in zip(template, atoms):
        if not isinstance(t, sp.Indexed):
            if t != v:
                return None
            continue
        if not (isinstance(v, sp.Indexed) and v.base == t.base):
            return None
        for ti, vi in zip(t.indices, v.indices):
            if ti in patterns:
                if binding.setdefault(ti, vi) != vi:
                    return None
            elif ti != vi:
                return None
    return binding


def _lookup(report, head, p, q, hypotheses, patterns, name):
    """head(p, q) from the hypotheses (head is symmetric: either order)."""
    for h in hypotheses:
        if isinstance(h, sp.Equality) and getattr(h.lhs, "func", None) == head:
            for pair in ((p, q), (q, p)):
                binding = _match(h.lhs.args, pair, patterns)
                if binding is not None:
                    return h.rhs.xreplace(binding)
    raise ProofError(f"{report.theorem.id} {name}: no hypothesis gives {_render(head(p, q))}")


def _pairing(report, pairing, hypotheses, patterns, name):
    """head(f, g) for the layer maps f, g: Σ_p Σ_q ∂f/∂p ∂g/∂q head(p, q) over the atoms the
    hypotheses name (bilinearity of the expectation for forms linear in the atoms, checked; the
    chain rule for the gradient pairing); sums over a Kronecker delta collapse, their range
    conditions decided."""
    head = pairing.func
    families = _families(head, hypotheses)
    sides = [_partials(report, form, families, hypotheses, name) for form in pairing.args]
    if head.pairing == "product":  # E[f g] = Σ ∂f ∂g E[p q] needs f, g linear in the atoms
        for form, terms in zip(pairing.args, sides):
            rebuilt = sum((sp.Sum(coef * atom, (index, lo, hi)) if index is not None
                           else coef * atom) for atom, coef, index, lo, hi in terms)
            free = all(not coef.has(*families) for _, coef, *_ in terms)
            report.holds(f"{name}: linear in the random atoms",
                         free and is_zero(_pull_sums(form) - _pull_sums(rebuilt)))
    total = 0
    for p, cp, kp, lop, hip in sides[0]:
        for q, cq, kq, loq, hiq in sides[1]:
            term = cp * cq * _lookup(report, head, p, q, hypotheses, patterns, name)
            if kq is not None:
                term = sp.Sum(term, (kq, loq, hiq)).doit()
            if kp is not None:
                term = sp.Sum(_resolve(report, term, (*hypotheses, lop <= kp, kp <= hip), name),
                              (kp, lop, hip))
            total += term
    return total


def _derivative_heads(report, expr, definitions, name):
    """Each derivative of a defined activation replaced by the defined function that is its
    derivative off 0 (decided by the solver from both definitions)."""
    w = sp.Dummy("w", real=True)
    for der in expr.atoms(sp.Derivative):
        inner = der.expr
        report.holds(f"{name}: a first derivative of an activation",
                     der.variables == inner.args and len(inner.args) == 1)
        body = _expand(report, inner.func(w), definitions, (), name, {inner.func})
        slope = sp.diff(body, w).rewrite(sp.Piecewise)
        for defn in definitions:
            candidate = defn.lhs.func
            if (isinstance(defn.lhs, AppliedUndef) and len(defn.lhs.args) == 1
                    and candidate != inner.func and _proved(
                        report, f"{name}: derivative of the activation off zero", (),
                        sp.Implies(sp.Ne(w, 0), sp.Eq(slope, defn.rhs.xreplace(
                            {defn.lhs.args[0]: w}))))):
                expr = expr.xreplace({der: candidate(inner.args[0])})
                break
        else:
            raise ProofError(f"{report.theorem.id} {name}: no defined derivative of "
                             f"{_render(inner.func(w))}")
    return expr


def _use_averages(report, value, hypotheses, name):
    """Each hypothesis (a multiple of one sum) = value, solved for the sum, substituted."""
    for h in hypotheses:
        if isinstance(h, sp.Equality) and h.lhs.has(sp.Sum):
            scale, total = _pull_sums(h.lhs).as_independent(sp.Sum, as_Add=False)
            report.holds(f"{name}: a width average is a multiple of one sum",
                         isinstance(total, sp.Sum))
            value = value.xreplace({total: h.rhs / scale})
    return value


def _prove_layer_pairing(report: Report, theorem: Theorem, name: str) -> None:
    claim = theorem.claim(name)
    hyps = theorem.hypotheses_of(name)
    pairing, target = claim.conclusion.lhs, claim.conclusion.rhs
    pairing = _expand_symbols(pairing, claim.definitions)
    value = _pairing(report, pairing, hyps, set(claim.variables), name)
    value = _use_averages(report, _pull_sums(_derivative_heads(report, value, theorem.definitions,
                                                               name)), hyps, name)
    expected = _expand(report, target, theorem.definitions, hyps, name, LAYER_HEADS,
                       layer=target.args[0])
    report.identity(f"{name}: the pairing is the kernel", value, _pull_sums(expected.doit()))


# -- the pair's covariance and the two expectations ------------------------------------------------
def _prove_pair_covariance(report: Report, theorem: Theorem, name: str) -> None:
    claim = theorem.claim(name)
    hyps = theorem.hypotheses_of(name)
    for eq in _conjuncts(claim.conclusion):
        pairing = _expand_symbols(eq.lhs, theorem.definitions)
        for root in (e for e in sp.preorder_traversal(pairing) if _is_root(e)):
            _prove(report, f"{name}: the pair is real", hyps,
                   root.base > 0 if root.exp < 0 else root.base >= 0)
        value = _pairing(report, pairing, hyps, set(claim.variables), name)
        report.identity(f"{name}: second moment", value, eq.rhs)


def _activation(report, head, definitions, name):
    """(γ, k) with head(w) = γ wᵏ for w > 0 and head(w) = 0 for w ≤ 0, decided by the solver from
    the head's definition (γ, k read off its value at a positive point)."""
    w, positive = sp.Dummy("w", real=True), sp.Dummy("w", positive=True)
    body = _expand(report, head(w), definitions, (), name, {head})
    value = body.xreplace({w: positive})
    report.holds(f"{name}: activation is a monomial on the positive axis",
                 value.is_polynomial(positive) and len(sp.Add.make_args(sp.expand(value))) == 1)
    power = sp.degree(value, positive)
    gain = value / positive**power
    _prove(report, f"{name}: activation vanishes off the positive axis", (),
           sp.Implies(w <= 0, sp.Eq(body, 0)))
    _prove(report, f"{name}: activation is homogeneous on the positive axis", (),
           sp.Implies(w > 0, sp.Eq(body, gain * w**power)))
    return gain, power


def _endpoint(report, bound, hypotheses, name):
    """The argument of a max / min that the solver proves equal to it."""
    for cand in bound.args:
        if _proved(report, f"{name}: an endpoint of the arc", hypotheses, sp.Eq(bound, cand)):
            return cand
    raise ProofError(f"{report.theorem.id} {name}: the hypotheses do not order {_render(bound)}")


def _prove_expectation(report: Report, theorem: Theorem, name: str) -> None:
    """The claimed closed form of E[f(u) g(v)] from the definitions: polar coordinates, the arc
    where both arguments are positive (endpoints decided by the solver), sympy's integrals."""
    claim, defs = theorem.claim(name), theorem.definitions
    hyps = theorem.hypotheses_of(name)
    lhs, rhs = claim.conclusion.lhs, claim.conclusion.rhs
    v1, v2, cov = lhs.args
    _prove(report, f"{name}: positive variances and correlation at most one", hyps,
           sp.And(v1 > 0, v2 > 0, cov**2 <= v1 * v2))
    integral = _expand(report, lhs, defs, hyps, name, {lhs.func})
    report.holds(f"{name}: an integral over the plane",
                 isinstance(integral, sp.Integral) and len(integral.limits) == 2
                 and all((lo, hi) == (-sp.oo, sp.oo) for _, lo, hi in integral.limits))
    (ga, _, _), (gb, _, _) = integral.limits
    acts = sorted((f for f in sp.Mul.make_args(integral.function) if isinstance(f, AppliedUndef)),
                  key=lambda f: f.args[0].has(gb))  # the argument free of the second variable first
    report.holds(f"{name}: one activation of each variable", len(acts) == 2)
    r, t = sp.Dummy("r", positive=True), sp.Dummy("t", real=True)
    theta, S1, S2 = sp.Dummy("theta", real=True), sp.Dummy(positive=True), sp.Dummy(positive=True)
    polar = {ga: r * sp.cos(t), gb: r * sp.sin(t)}
    radial = sp.trigsimp((integral.function / sp.Mul(*acts)).xreplace(polar))
    report.holds(f"{name}: the density is rotation invariant", not radial.has(t))
    # c = √(s₁s₂) cos θ with θ = arccos ρ ∈ [0, π]: sin θ ≥ 0
    angle = {v1: S1, v2: S2, cov: sp.sqrt(S1 * S2) * sp.cos(theta)}
    arc_hyps = (theta >= 0, theta <= sp.pi)

    def in_angle(e):
        e = e.xreplace(polar).xreplace(angle).replace(
            lambda x: isinstance(x, sp.Pow) and x.exp == sp.S.Half,
            lambda x: sp.sqrt(sp.factor(x.base.subs(sp.cos(theta)**2, 1 - sp.sin(theta)**2))))
        return sp.expand(e.xreplace({sp.Abs(sp.sin(theta)): sp.sin(theta)}))

    # the amplitude-phase forms r·√s·cos(t − ψ) of the two arguments (ψ = 0 and θ)
    phases = ((sp.sqrt(S1), sp.S.Zero), (sp.sqrt(S2), theta))
    factor, integrand, lows, highs = sp.S.One, sp.S.One, [], []
    for act, (amp, psi) in zip(acts, phases):
        report.identity(f"{name}: the argument in polar form", in_angle(act.args[0]),
                        sp.expand(sp.expand_trig(r * amp * sp.cos(t - psi))))
        gain, power = _activation(report, act.func, defs, name)
        factor *= gain * (r * amp) ** power
        integrand *= sp.cos(t - psi) ** power
        # cos(t − ψ) > 0 on (ψ − π/2, ψ + π/2), inside the period [−π/2, 3π/2) for ψ ∈ [0, π]
        _prove(report, f"{name}: the positive half period lies in the period", arc_hyps,
               sp.And(psi - sp.pi / 2 >= -sp.pi / 2, psi + sp.pi / 2 <= 3 * sp.pi / 2))
        lows.append(psi - sp.pi / 2)
        highs.append(psi + sp.pi / 2)
    ends = [_endpoint(report, bound, arc_hyps, name) for bound in (sp.Max(*lows), sp.Min(*highs))]
    _prove(report, f"{name}: the arc is not reversed", arc_hyps, ends[0] <= ends[1])
    const, radial_part = (factor * radial * r).as_independent(r, as_Add=False)
    value = (const * sp.integrate(radial_part, (r, 0, sp.oo))
             * sp.integrate(sp.expand(integrand, trig=True), (t, ends[0], ends[1])))
    at = {theta: sp.acos(cov / sp.sqrt(S1 * S2))}
    target = _expand_symbols(rhs, defs).xreplace({v1: S1, v2: S2})
    report.identity(f"{name}: the integral is the closed form",
                    _roots_factored(value.xreplace(at)), _roots_factored(target))


# -- invariance under X ↦ XQ ---------------------------------------------------------------------
def _orthogonality_used(expr, hypotheses):
    """Every matrix product inside an entry (M)_ij rewritten by the hypotheses' A·B = I."""
    for h in hypotheses:
        if isinstance(h, sp.Equality) and isinstance(h.lhs, sp.MatMul) \
                and isinstance(h.rhs, sp.Identity):
            expr = expr.replace(lambda e: isinstance(e, MatrixElement),
                                lambda e, h=h: MatrixElement(
                                    matmul_replace_adjacent(e.parent, h.lhs.args, h.rhs),
                                    e.i, e.j))
    return expr


def _prove_invariance(report: Report, theorem: Theorem, name: str) -> None:
    """Induction on the depth: base at the claim's lower bound (definitions expanded, the
    orthogonality hypothesis used), step at a symbolic layer (one layer of definitions expanded,
    the induction hypothesis for every entry rewriting the moved kernels)."""
    claim, defs = theorem.claim(name), theorem.definitions
    hyps = theorem.hypotheses_of(name)
    eqs = _conjuncts(claim.conclusion)
    depth = eqs[0].lhs.args[0]
    base = _lower_bound(hyps, depth)
    for eq in eqs:
        sides = [_orthogonality_used(_expand(report, side.xreplace({depth: base}), defs, hyps,
                                             name, LAYER_HEADS), hyps)
                 for side in (eq.lhs, eq.rhs)]
        report.identity(f"{name}: base layer", *sides)
    layer = sp.Dummy("l", integer=True)
    step_hyps = (*hyps, layer >= base)
    rules = [eq.xreplace({depth: layer}) for eq in eqs]
    for eq in eqs:
        nxt = eq.xreplace({depth: layer + 1})
        moved, fixed = (_expand(report, side, defs, step_hyps, name, LAYER_HEADS, layer=layer + 1)
                        for side in (nxt.lhs, nxt.rhs))
        for rule in rules:
            moved = moved.replace(
                lambda e, rule=rule: isinstance(e, AppliedUndef) and e.func == rule.lhs.func
                and e.args[:-2] == rule.lhs.args[:-2],
                lambda e, rule=rule: rule.rhs.func(*rule.rhs.args[:-2], *e.args[-2:]))
        report.identity(f"{name}: induction step", moved, fixed)
    report.inductions.append(f"{name} (on the depth, from {_render(base)})")


# -- linrelu.spectral.kernels run on sympy objects -------------------------------------------------
def _where(cond, value, other):
    return sp.Piecewise((value, cond), (other, True))


def _arctan2(y_, x_):
    """numpy's arctan2 on the closed upper half-plane (y ≥ 0): arccos(x/√(x² + y²)), and 0 at
    the origin; anywhere else no branch applies (the check fails)."""
    return sp.Piecewise((sp.acos(x_ / sp.sqrt(x_**2 + y_**2)), (y_ >= 0) & (x_**2 + y_**2 > 0)),
                        (0, sp.Eq(y_, 0) & sp.Eq(x_, 0)))


# only float64 is offered: any other dtype in the library fails the proof
SYMBOLIC_NUMPY = SimpleNamespace(sqrt=sp.sqrt, pi=sp.pi, float64=np.float64, where=_where,
                                 arctan2=_arctan2, asarray=lambda value, dtype=None: value,
                                 finfo=lambda dtype: SimpleNamespace(eps=eps_mach))


class _ObjectNumpy:
    """numpy, with float64 conversions kept as object arrays (entries are sympy expressions)."""

    def __getattr__(self, attr):
        return getattr(np, attr)

    @staticmethod
    def asarray(value, dtype=None):
        return np.asarray(value, dtype=object)


def _prove_library_kernels(report: Report, theorem: Theorem, name: str) -> None:
    """linrelu's arccos_kernel_1 / _0 on the claim's region: the equalities among the
    hypotheses split it into solved cases (their union decided to cover it), the library runs on
    each case's sympy values, and every branch it takes is decided by the solver."""
    claim, defs = theorem.claim(name), theorem.definitions
    hyps = theorem.hypotheses_of(name)
    eqs = _conjuncts(claim.conclusion)
    params = eqs[0].lhs.args
    equalities = [h for h in claim.hypotheses
                  if isinstance(h, sp.Equality) and h.free_symbols <= set(params)]
    cases = sp.solve(equalities, list(reversed(params)), dict=True) if equalities else [{}]
    _prove(report, f"{name}: the cases cover the hypotheses", hyps,
           sp.Or(*[sp.And(*[sp.Eq(key, val) for key, val in case.items()]) for case in cases]))
    lk = _linrelu_kernels()
    for case in cases:
        case_hyps = (*hyps, *[sp.Eq(key, val) for key, val in case.items()])
        args = [param.xreplace(case) for param in params]
        positive = {p: sp.Dummy(positive=True) for p in params if p not in case
                    and _proved(report, f"{name}: a positive variance", case_hyps, p > 0)}
        for eq in eqs:
            with mock.patch.object(lk, "np", SYMBOLIC_NUMPY):
                value = getattr(lk, eq.lhs.func.__name__)(*args)
            value = _resolve(report, _rational(value), case_hyps,
                             f"{name}: library branch")
            target = _expand_symbols(eq.rhs, defs).xreplace(case)
            report.identity(f"{name}: library value", _roots_factored(value.xreplace(positive)),
                            _roots_factored(target.xreplace(positive)))


def _rational(expr):
    """The library's float constants (2.0, 8.0, 0.5) as the exact rationals they are."""
    return _bottom_up(sp.sympify(expr), lambda e: sp.Rational(float(e))
                      if isinstance(e, sp.Float) else e, {})


def _opaque(head):
    return np.vectorize(lambda s, t, u: head(s, t, u), otypes=[object])


def _symmetric_heads(report: Report, theorem: Theorem) -> set:
    """The expectation symbols whose proved closed form is symmetric in the two variances."""
    out = set()
    for claim in theorem.claims:
        lhs = claim.conclusion.lhs if isinstance(claim.conclusion, sp.Equality) else None
        if lhs is not None and lhs.func in (kappa_1, kappa_0):
            v1, v2, _ = lhs.args
            form = _expand_symbols(claim.conclusion.rhs, theorem.definitions)
            report.identity(f"{claim.name}: symmetric in the two variances", form,
                            form.xreplace({v1: v2, v2: v1}))
            out.add(lhs.func)
    return out


def _prove_library_recursion(report: Report, theorem: Theorem, name: str) -> None:
    """linrelu.spectral.kernels._kernels (both paths) with its expectations opaque, against the
    definitions unfolded: depths from the claim's lower bound on, sizes 2 and 3 (sampled)."""
    claim, defs = theorem.claim(name), theorem.definitions
    hyps = theorem.hypotheses_of(name)
    eqs = _conjuncts(claim.conclusion)
    matrix, depth, sw, sb, row, col = eqs[0].lhs.args
    base = _lower_bound(hyps, depth)
    symmetric = _symmetric_heads(report, theorem)
    lk, products = _linrelu_kernels(), {}
    for size, depths in ((2, range(base, base + 5)), (3, (base + 2,))):
        shaped = matrix.subs({matrix.shape[0]: size, matrix.shape[1]: 2})
        entries = np.array([[shaped[p, q] for q in range(2)] for p in range(size)], dtype=object)
        for depth_value in depths:
            with mock.patch.object(lk, "np", _ObjectNumpy()), \
                    mock.patch.object(lk, "arccos_kernel_1", _opaque(kappa_1)), \
                    mock.patch.object(lk, "arccos_kernel_0", _opaque(kappa_0)):
                runs = (lk._kernels(entries, None, depth_value, sw, sb),
                        lk._kernels(entries, entries.copy(), depth_value, sw, sb))
            for eq in eqs:
                position = LIBRARY_OUTPUT[eq.lhs.func.__name__]
                for p in range(size):
                    for q in range(size):
                        expected = _expand(report, eq.rhs.xreplace(
                            {depth: depth_value, row: p, col: q, matrix: shaped}), defs, hyps,
                            name, LAYER_HEADS)
                        expected = _bottom_up(expected, lambda e: e.doit()
                                              if isinstance(e, MatrixElement) else e, products)
                        for run in runs:
                            got = _rational(run[position][p, q])
                            report.identity(f"{name}: library entry",
                                            _symmetric_arguments(got, symmetric),
                                            _symmetric_arguments(expected, symmetric))
            report.instance(f"{name} at depth {depth_value} with {size} inputs")


# -- the proof -------------------------------------------------------------------------------------
PROOFS = {
    "pair_covariance": _prove_pair_covariance,
    "relu_product": _prove_expectation,
    "relu_step_product": _prove_expectation,
    "input_layer": _prove_layer_pairing,
    "hidden_layer": _prove_layer_pairing,
    "tangent_layer": _prove_layer_pairing,
    "orthogonal_invariance": _prove_invariance,
    "library_interior": _prove_library_kernels,
    "library_parallel": _prove_library_kernels,
    "library_rounding_strip": _prove_library_kernels,
    "library_zero_variance": _prove_library_kernels,
    "library_recursion": _prove_library_recursion,
}


def check(theorem: Theorem = THEOREM) -> Report:
    """Prove every claim of ``theorem`` (see the module docstring); raise on a failed step."""
    report = Report(theorem)
    for claim in theorem.claims:
        PROOFS[claim.name](report, theorem, claim.name)
    return report


# -- the numeric falsifier -------------------------------------------------------------------------
FALSIFIER_TRIALS = 8
MONTE_CARLO_DRAWS = 200_000
MONTE_CARLO_SIGMAS = 5.0  # tolerance: 5 standard errors of the Monte Carlo mean


def _monte_carlo_agrees(rng, s1_, s2_, c_) -> None:
    """Both expectations by Monte Carlo over the pair itself (numpy normals, Cholesky), each
    within 5 standard errors of the quadrature behind κ₁, κ₀ (else the falsifier's own numerics
    disagree, and it stops)."""
    g = rng.standard_normal((2, MONTE_CARLO_DRAWS))
    first = np.sqrt(s1_) * g[0]
    second = (c_ * g[0] + np.sqrt(s1_ * s2_ - c_ * c_) * g[1]) / np.sqrt(s1_)
    samples = (np.maximum(first, 0) * np.maximum(second, 0), (first > 0) & (second > 0))
    for order, sample in zip((1, 0), samples):
        mean, se = sample.mean(), sample.std(ddof=1) / np.sqrt(sample.size)
        quad = _quad_kappa(order)(s1_, s2_, c_)
        if abs(mean - quad) > MONTE_CARLO_SIGMAS * se:
            raise AssertionError(f"T7 falsifier: Monte Carlo {mean} and quadrature {quad} of "
                                 f"order {order} differ by more than {MONTE_CARLO_SIGMAS} SE")


def _orthogonal(rng, size):
    """An orthogonal matrix whose entries are dyadic, so QQᵀ = I holds exactly in floating
    point: a signed permutation, times (for size 4) the scaled Hadamard matrix, times another."""
    def signed_permutation():
        return np.eye(size)[rng.permutation(size)] * rng.choice([-1.0, 1.0], size)

    mix = np.eye(size)
    if size == 4:
        h2 = np.array([[1.0, 1.0], [1.0, -1.0]])
        mix = np.kron(h2, h2) / 2
    return signed_permutation() @ mix @ signed_permutation()


def draw(rng, trial: int) -> dict:
    """One instance per claim that numbers can evaluate (the pairings E and ⟨∇, ∇⟩ are symbolic
    only): sizes n ∈ {2, 3, 4}, d ∈ {2, 4}, depths 1–4, parameters drawn at random."""
    var1, var2 = rng.uniform(0.2, 3.0, 2)
    corr = rng.uniform(-0.95, 0.95)
    cov = corr * np.sqrt(var1 * var2)
    _monte_carlo_agrees(rng, var1, var2, cov)
    pair = {s1: var1, s2: var2, c: cov, rho: cov / np.sqrt(var1 * var2)}
    size, dim = 2 + trial % 3, (2, 4)[trial % 2]
    weights = {sigma_w: rng.uniform(0.5, 2.0), sigma_b: rng.uniform(0.0, 1.0)}
    inputs = rng.standard_normal((size, dim))
    entry = {i: int(rng.integers(size)), j: int(rng.integers(size))}
    root1, root2 = rng.integers(1, 16, 2) / 8  # dyadic: c² = s₁s₂ exactly in floating point
    sign = rng.choice([-1.0, 1.0])
    machine = {eps_mach: np.finfo(np.float64).eps}
    strip = 1.0 - int(rng.integers(1, 5)) * 2.0**-53  # 0 < 1 − c² ≤ 8ε
    zero = rng.permutation([0.0, rng.uniform(0.0, 2.0)])
    return {
        "relu_product": pair,
        "relu_step_product": pair,
        "orthogonal_invariance": {X: inputs, Q: _orthogonal(rng, dim), L: 1 + trial % 4, d: dim,
                                  **weights, **entry},
        "library_interior": {**pair, **machine},
        "library_parallel": {s1: root1**2, s2: root2**2, c: sign * root1 * root2, rho: sign,
                             **machine},
        "library_rounding_strip": {s1: 1.0, s2: 1.0, c: sign * strip, **machine},
        "library_zero_variance": {s1: zero[0], s2: zero[1], c: 0.0},
        "library_recursion": {X: inputs, L: trial % 5, **weights, **entry},
    }


# -- false statements the proof must reject --------------------------------------------------------
def _with_definition(theorem: Theorem, head, layer, body) -> Theorem:
    """``theorem`` with the definition of head at ``layer`` replaced by ``body``."""
    definitions = tuple(equation(defn.lhs, body)
                        if isinstance(defn.lhs, AppliedUndef) and defn.lhs.func == head
                        and defn.lhs.args[0] == layer else defn
                        for defn in theorem.definitions)
    return theorem.replace(definitions=definitions)


def false_variants() -> dict[str, Theorem]:
    """Each a false statement (one field of ``THEOREM`` changed) that ``check`` must reject."""
    t = THEOREM
    closed_1 = t.claim("relu_product").conclusion
    closed_0 = t.claim("relu_step_product").conclusion
    angle = sp.pi - sp.acos(rho)
    sw2, sb2 = sigma_w**2, sigma_b**2
    moved = sp.MatrixSymbol("P", n, n)
    hidden = t.claim("hidden_layer")
    tangent_claim = t.claim("tangent_layer")
    return {
        # the old MUTANTS, as statements
        "arccos_without_pi": t.with_claim("relu_product", conclusion=equation(
            closed_1.lhs, sp.sqrt(s1 * s2) / (2 * sp.pi) * (sp.sqrt(1 - rho**2)
                                                            + sp.acos(rho) * rho))),
        "drop_sqrt_term": t.with_claim("relu_product", conclusion=equation(
            closed_1.lhs, sp.sqrt(s1 * s2) / (2 * sp.pi) * angle * rho)),
        "derivative_kernel_over_pi": t.with_claim("relu_step_product", conclusion=equation(
            closed_0.lhs, angle / sp.pi)),
        "arc_starts_at_theta_minus_pi": t.with_claim("relu_step_product", conclusion=equation(
            closed_0.lhs, (angle + sp.pi / 2) / (2 * sp.pi))),
        "permute_samples": t.with_claim("orthogonal_invariance", conclusion=sp.And(
            equation(_layer(Sigma, L, moved * X), _layer(Sigma, L)),
            equation(_layer(Theta, L, moved * X), _layer(Theta, L))),
            hypotheses=(L >= 1, equation(moved * moved.T, sp.Identity(n)))),
        "sigma1_drops_bias": _with_definition(
            t, Sigma, 1, sw2 * MatrixElement(Zd * Zd.T, i, j) / d),
        "sigma1_drops_1_over_d": _with_definition(
            t, Sigma, 1, sw2 * MatrixElement(Zd * Zd.T, i, j) + sb2),
        "sigma_next_drops_bias": _with_definition(
            t, Sigma, l + 1, sw2 * kappa_1(_layer(Sigma, l, Zd, i, i), _layer(Sigma, l, Zd, j, j),
                                           _layer(Sigma, l, Zd))),
        "first_layer_with_an_extra_weight": t.with_claim("input_layer", definitions=(equation(
            y[i], FIRST_LAYER.rhs + W[0]),)),
        "first_layer_quadratic_in_the_weights": t.with_claim("input_layer", definitions=(
            equation(y[i], _defs.dense_preactivation(W, W[a] * X[i, a], a, d, beta, sigma_w,
                                                     sigma_b)),)),
        "tangent_without_bias_coordinate": t.with_claim("tangent_layer", hypotheses=tuple(
            h for h in tangent_claim.hypotheses if h != COORDINATES[2])),
        "pair_covariance_without_positive_variance": t.with_claim(
            "pair_covariance", hypotheses=t.claim("pair_covariance").hypotheses[1:]),
        "relu_product_over_half_the_plane": t.replace(definitions=tuple(
            equation(defn.lhs, sp.Integral(defn.rhs.function, (g1, 0, sp.oo), (g2, -sp.oo, sp.oo)))
            if defn.lhs == kappa_1(s1, s2, c) else defn for defn in t.definitions)),
        # class A: the orthogonality hypothesis dropped, the input scaled
        "invariance_without_orthogonality": t.with_claim(
            "orthogonal_invariance", hypotheses=(L >= 1,)),
        "invariance_of_scaled_inputs": t.with_claim("orthogonal_invariance", conclusion=sp.And(
            equation(_layer(Sigma, L, 2 * X * Q), _layer(Sigma, L)),
            equation(_layer(Theta, L, 2 * X * Q), _layer(Theta, L)))),
        # class B: a definition changed, the claims that use it must fail
        "theta_drops_sigma": _with_definition(
            t, Theta, l + 1, _layer(Sigma_dot, l + 1, Zd) * _layer(Theta, l, Zd)),
        "sigma_dot_with_relu_product": _with_definition(
            t, Sigma_dot, l + 1, sw2 * kappa_1(_layer(Sigma, l, Zd, i, i),
                                               _layer(Sigma, l, Zd, j, j), _layer(Sigma, l, Zd))),
        "correlation_sign_flipped": t.replace(definitions=tuple(
            equation(rho, -c / sp.sqrt(s1 * s2)) if defn.lhs == rho else defn
            for defn in t.definitions)),
        "step_activation_at_zero_is_one_everywhere": t.replace(definitions=tuple(
            equation(phi_prime(zv), 1) if defn.lhs == phi_prime(zv) else defn
            for defn in t.definitions)),
        # class C: a claim at a depth the definitions do not reach
        "invariance_from_depth_zero": t.with_claim(
            "orthogonal_invariance", hypotheses=(L >= 0, equation(Q * Q.T, sp.Identity(d)))),
        "hidden_layer_from_depth_zero": t.with_claim(
            "hidden_layer", hypotheses=(l >= 0, *hidden.hypotheses[1:])),
        "library_recursion_from_depth_minus_one": t.with_claim(
            "library_recursion", hypotheses=(L >= -1,)),
        # weakened hypotheses, wrong constants and moments
        "relu_product_without_positive_variance": t.with_claim(
            "relu_product", hypotheses=(s2 > 0, c**2 <= s1 * s2)),
        "pair_covariance_without_real_root": t.with_claim(
            "pair_covariance", hypotheses=(s1 > 0, *t.claim("pair_covariance").hypotheses[2:])),
        "bias_moment_two": t.with_claim("input_layer", hypotheses=(
            *MOMENTS[:2], equation(expect(beta, beta), 2))),
        "tangent_with_previous_covariance": t.with_claim("tangent_layer", hypotheses=tuple(
            equation(h.lhs, sp.KroneckerDelta(a, b) * _layer(Sigma, l)) if h == PREVIOUS_TANGENT
            else h for h in tangent_claim.hypotheses)),
        "tangent_without_derivative_average": t.with_claim(
            "tangent_layer", hypotheses=tuple(h for h in tangent_claim.hypotheses
                                              if h != AVERAGE_0)),
        # class G: the library's conditions
        "library_guard_without_margin": t.with_claim("library_interior", hypotheses=(
            s1 > 0, s2 > 0, EPS_VALUE, SPREAD > 0)),
        "library_strip_with_exact_values": t.with_claim(
            "library_rounding_strip", conclusion=KERNEL_CLOSED_FORMS),
        "library_zero_variance_half": t.with_claim("library_zero_variance", conclusion=sp.And(
            equation(lib_kappa_1(s1, s2, c), 0),
            equation(lib_kappa_0(s1, s2, c), sp.Rational(1, 2)))),
        "library_ntk_is_nngp": t.with_claim("library_recursion", conclusion=sp.And(
            equation(lib_nngp(X, L, sigma_w, sigma_b, i, j), _layer(Sigma, L + 1)),
            equation(lib_ntk(X, L, sigma_w, sigma_b, i, j), _layer(Sigma, L + 1)))),
    }
