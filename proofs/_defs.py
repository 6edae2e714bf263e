"""The one definitions module of proofs/: every object a statement names, defined once.

Statements (``THEOREM`` of each module) and their checks build A, H^{1/2}, Ĝ, G, K, L, the L2
penalty, ρ_ε, m_ε, the GD factor and the quadratic model from these functions, so the object that
is printed is the object that is checked (a definition typed twice, once in the statement and once
in the check, is what this module exists to prevent).

Symbols carry no sign assumptions (``real=True`` or ``integer=True`` only): every sign fact is a
hypothesis of the statement, printed with it and handed to the solver. Matrix equations are built
with ``equation`` (sympy would otherwise evaluate ``Eq`` of two different matrix expressions to
``False``).
"""

from __future__ import annotations

import sympy as sp
from sympy.matrices.expressions import DiagMatrix
from sympy.matrices.expressions.matexpr import MatrixElement
from sympy.utilities.lambdify import implemented_function


def real(names: str):
    """Real symbols (no sign assumption: signs are hypotheses)."""
    return sp.symbols(names, real=True)


def integer(names: str):
    """Integer symbols (no sign assumption: bounds are hypotheses)."""
    return sp.symbols(names, integer=True)


def equation(lhs, rhs) -> sp.Equality:
    """``lhs = rhs`` kept unevaluated (matrix expressions included)."""
    return sp.Eq(lhs, rhs, evaluate=False)


# -- shared scalar symbols ----------------------------------------------------------------------
n, eta, eps, tau, kappa, lam, lam_max = real("n eta epsilon tau kappa lambda lambda_max")
sigma_w, sigma_b = real("sigma_w sigma_b")
T, t, j = integer("T t j")
N, p, k = integer("N p k")  # N = nk rows of the Jacobian, p parameters, k outputs


# -- the GGN / Gram family (T1, T2, T3) ---------------------------------------------------------
def half_hessian_factor(Hh, J, n):
    """A = n^(-1/2) H^(1/2) J (N × p), with ``Hh`` = H^(1/2)."""
    return Hh * J / sp.sqrt(n)


def ggn(J, H, n):
    """Ĝ = (1/n) Jᵀ H J (p × p)."""
    return J.T * H * J / n


def ntk_gram(J):
    """K = J Jᵀ (N × N)."""
    return J * J.T


def loss_weighted_gram(Hh, K, n):
    """G = (1/n) H^(1/2) K H^(1/2) (N × N)."""
    return Hh * K * Hh / n


def mse_loss(r, n):
    """L = (1/2n) ‖r‖² for a residual column ``r`` (a 1 × 1 matrix expression)."""
    return r.T * r / (2 * n)


def l2_penalty(kappa, theta):
    """(κ/2) ‖θ‖² for a parameter column ``θ`` (a 1 × 1 matrix expression)."""
    return kappa * theta.T * theta / 2


def l2_hessian_shift(kappa, size):
    """∇²((κ/2)‖θ‖²) = κ I: the Hessian of ``l2_penalty``."""
    return kappa * sp.Identity(size)


# -- gradient descent on the linearized model, mse (T8) -----------------------------------------
def gd_factor(eta, lam, n):
    """y(λ) = 1 − ηλ/n: the factor of one eigendirection of r_{t+1} = (I − (η/n)K) r_t."""
    return 1 - eta * lam / n


def rho_eps(eta, eps, n, T):
    """ρ_ε(T) = (1 − ηε/n)^{2T}."""
    return gd_factor(eta, eps, n) ** (2 * T)


def loss_ratio(weights, lams, eta, n, T, j, N):
    """L_T / L_0 = Σ_j (1 − ηλ_j/n)^{2T} c_j² / Σ_j c_j² (``weights`` = c, IndexedBase)."""
    return (sp.Sum(gd_factor(eta, lams[j], n) ** (2 * T) * weights[j] ** 2, (j, 1, N))
            / sp.Sum(weights[j] ** 2, (j, 1, N)))


def flat_mass(weights, lams, eps, j, N):
    """m_ε = Σ_{λ_j ≤ ε} c_j² / ‖r_0‖² (``weights`` = c = Uᵀ r_0, IndexedBase)."""
    return (sp.Sum(sp.Piecewise((weights[j] ** 2, lams[j] <= eps), (0, True)), (j, 1, N))
            / sp.Sum(weights[j] ** 2, (j, 1, N)))


# -- the local quadratic model (T9) ---------------------------------------------------------------
def quadratic_model(L0, g, G, Delta):
    """q(Δ) = L_0 + gᵀΔ + ½ ΔᵀĜΔ (1 × 1 matrix expression)."""
    return L0 + g.T * Delta + Delta.T * G * Delta / 2


# -- spectra and ε-ranks (T6) ---------------------------------------------------------------------
def char_poly(M, lam):
    """det(λI − M): the characteristic polynomial of the square matrix (expression) ``M`` at λ
    (kept unevaluated, so that ``M`` prints as given, e.g. ∇²L + κI)."""
    return sp.Determinant(sp.MatAdd(lam * sp.Identity(M.rows), sp.MatMul(-1, M, evaluate=False),
                                    evaluate=False))


def eps_rank(eigenvalue, limits, eps):
    """rank_ε = #{μ : |μ| > ε} for the spectrum listed (with multiplicity) as the family
    ``eigenvalue`` over the index ``limits`` (e.g. ``((i, 1, a), (j, 1, b))``); the rank of a
    symmetric matrix is its ε-rank at ε = 0 (the number of nonzero eigenvalues)."""
    return sp.Sum(sp.Piecewise((1, sp.Abs(eigenvalue) > eps), (0, True)), *limits)


# -- matrix rank; the ReLU network's masks, backward vectors and derivatives (T5a, T5b) ----------
def _numeric_rank(matrix) -> int:
    """The rank of a float matrix as the falsifier counts it: singular values above 1e-9 times
    the largest (float64 round-off of O(1) entries is about 1e-15 of the largest)."""
    import numpy as np

    values = np.linalg.svd(np.atleast_2d(np.asarray(matrix, dtype=float)), compute_uv=False)
    return int(np.sum(values > 1e-9 * values.max())) if values.size else 0


# rank(M) of a matrix (expression): an integer-valued function symbol, numeric when lambdified
rank = implemented_function(sp.Function("rank", integer=True), _numeric_rank)


def layer_weight_gram(H, Delta, sigma_w, fan_in, k):
    """T5's layer-l weight term (σ_w²/m_{l−1}) (H Hᵀ ⊗ 𝟙_k𝟙_kᵀ) ∘ Δ Δᵀ, with H = H_{l−1}
    (n × m_{l−1}, row i = h_{l−1}(x_i)) and Δ = Δ_l (nk × m_l, row i·k + c = δ_{l,c}(x_i))."""
    features = sp.KroneckerProduct(H * H.T, sp.OneMatrix(k, k))
    return sigma_w**2 / fan_in * sp.HadamardProduct(features, Delta * Delta.T)


def relu_mask(z, j, v):
    """D_(j,v) = 1[z_(j,v) > 0]: the ReLU's derivative, 0 at z = 0 (THEORY.md's convention)."""
    return sp.Piecewise((1, z[j, v] > 0), (0, True))


def relu_activation(x, mask, z, j, v):
    """h_(j,v) = φ(z_(j,v)) = D_(j,v) z_(j,v) for a hidden layer j ≥ 1; h_0 = x, the input."""
    return sp.Piecewise((x[v], sp.Eq(j, 0)), (mask[j, v] * z[j, v], True))


def backward_vector(mask, W, delta, m, sigma_w, depth, j, v, c, e):
    """δ_(j,v) for output c: D_(j,v) Σ_e (σ_w/√m_j) W_(j+1,v,e) δ_(j+1,e) in a hidden layer
    j ≤ L, and [v = c] in the output layer L + 1 (T5's backward recursion)."""
    step = sp.Sum(sigma_w / sp.sqrt(m[j]) * W[j + 1, v, e] * delta[j + 1, e], (e, 1, m[j + 1]))
    return sp.Piecewise((mask[j, v] * step, j <= depth), (sp.KroneckerDelta(v, c), True))


def weight_derivative(sigma_w, m, h, delta, j, a, v):
    """∂f_c/∂W_j[a, v] = (σ_w/√m_{j−1}) h_(j−1,a) δ_(j,v) (NTK parameterization, W_j is
    m_{j−1} × m_j)."""
    return sigma_w / sp.sqrt(m[j - 1]) * h[j - 1, a] * delta[j, v]


def bias_derivative(sigma_b, delta, j, v):
    """∂f_c/∂b_j[v] = σ_b δ_(j,v)."""
    return sigma_b * delta[j, v]


def dense_weight_shape(m, j):
    """W_j ∈ ℝ^{m_{j−1} × m_j} (THEORY.md's convention W_l ∈ R^{in×out}); indices from 1."""
    return (m[j - 1], m[j])


def dense_bias_shape(m, j):
    """b_j ∈ ℝ^{m_j}; indices from 1."""
    return (m[j],)


def preactivation(W, b, h, m, sigma_w, sigma_b, j, v, a):
    """z_(j,v) = (σ_w/√m_{j−1}) Σ_{a=1}^{m_{j−1}} W_(j,a,v) h_(j−1,a) + σ_b b_(j,v): unit v of
    layer j, i.e. ``dense_preactivation`` (one dense NTK unit) on the column W_(j,·,v) and the
    features h_(j−1,·), its sum re-indexed from 1 (W_j ∈ ℝ^{m_{j−1} × m_j}, indices from 1)."""

    class _Column:  # the (0-based) a-th incoming weight of unit v: W_(j,a+1,v)
        def __getitem__(self, index):
            return W[j, index + 1, v]

    unit = dense_preactivation(_Column(), h[j - 1, a + 1], a, m[j - 1], b[j, v], sigma_w,
                               sigma_b)
    return unit.replace(lambda e: isinstance(e, sp.Sum), lambda e: e.change_index(a, a + 1))


def layer_inner_product(u, w, m, j, a):
    """⟨u_j, w_j⟩ = Σ_{a=1}^{m_j} u_(j,a) w_(j,a): two vectors of layer j (e.g. h_j at x and
    at x′)."""
    return sp.Sum(u[j, a] * w[j, a], (a, 1, m[j]))


def jacobian_gram_entry(f, f2, W, b, m, depth, layer, a, v):
    """The entry K[(x, c), (x′, c′)] of K = ``ntk_gram``(J) = J Jᵀ written over the parameter
    list θ = (W_l, b_l), l = 1, …, L + 1 (``dense_weight_shape``, ``dense_bias_shape``):
    Σ_l (Σ_{a,v} ∂f/∂W_(l,a,v) ∂f′/∂W_(l,a,v) + Σ_v ∂f/∂b_(l,v) ∂f′/∂b_(l,v)), for the outputs
    f = f_c(x) and f2 = f_c′(x′)."""
    rows, cols = dense_weight_shape(m, layer)
    (units,) = dense_bias_shape(m, layer)
    weights = sp.Sum(sp.Derivative(f, W[layer, a, v]) * sp.Derivative(f2, W[layer, a, v]),
                     (a, 1, rows), (v, 1, cols))
    biases = sp.Sum(sp.Derivative(f, b[layer, v]) * sp.Derivative(f2, b[layer, v]), (v, 1, units))
    return sp.Sum(weights + biases, (layer, 1, depth + 1))


# -- a smooth model and per-sample loss, entrywise (T3) -------------------------------------------
def output_component(outputs, c):
    """Output c of the output vector ``outputs`` = F(i, θ_a, θ_b) of sample i: F(i, c, θ_a, θ_b)."""
    return outputs.func(outputs.args[0], c, *outputs.args[1:])


class ell(sp.Function):
    """ℓ(i, u): the loss of sample i at its output vector u = F(i, θ_a, θ_b) (``k`` outputs).
    Its derivative is the multivariate chain rule Σ_{c=0}^{k−1} ∂ℓ/∂u_c(i, u) ∂u_c/∂s."""

    nargs = 2

    def _eval_derivative(self, s):
        sample, outputs = self.args
        c = sp.Dummy("c", integer=True)
        return sp.Sum(loss_gradient(sample, c, outputs) * sp.diff(output_component(outputs, c), s),
                      (c, 0, k - 1))


class loss_gradient(sp.Function):
    """∂ℓ/∂u_c(i, u); its derivative is the chain rule Σ_d ∂²ℓ/∂u_c∂u_d(i, u) ∂u_d/∂s."""

    nargs = 3

    def _eval_derivative(self, s):
        sample, c, outputs = self.args
        d = sp.Dummy("d", integer=True)
        return sp.Sum(loss_hessian(sample, c, d, outputs)
                      * sp.diff(output_component(outputs, d), s), (d, 0, k - 1))


class loss_hessian(sp.Function):
    """∂²ℓ/∂u_c∂u_d(i, u), symmetric in (c, d) (second derivatives of a smooth ℓ commute): the
    two output indices are kept in sympy's canonical order."""

    nargs = 4

    @classmethod
    def eval(cls, sample, c, d, outputs):
        if sp.default_sort_key(d) < sp.default_sort_key(c):
            return cls(sample, d, c, outputs)


def empirical_loss(per_sample, i, n):
    """L = (1/n) Σ_{i=0}^{n−1} ℓ_i: the mean of the per-sample losses over the n samples."""
    return sp.Sum(per_sample, (i, 0, n - 1)) / n


def ggn_entry(jac_a, jac_b, hess, i, n, k, c, d):
    """Entry (a, b) of Ĝ = ``ggn``(J, H, n) for J stacked from the samples' k × p Jacobians and
    H = blockdiag(H_i): Σ_{i=0}^{n−1} [``ggn``(J_i, H_i, n)]_ab, the entry sympy expands from
    ``ggn`` on one sample's Jacobian columns (a, b) and k × k output Hessian, with the entries
    ``jac_a(c)``, ``jac_b(d)``, ``hess(c, d)`` (functions of the output indices)."""
    from sympy.matrices.expressions.matexpr import MatrixElement

    Ji, Hi = sp.MatrixSymbol("J_i", k, 2), sp.MatrixSymbol("H_i", k, k)
    entry = ggn(Ji, Hi, n)[0, 1]
    (total,) = entry.atoms(sp.Sum)
    (x, _, _), (y, _, _) = total.limits

    def value(element):
        if element.parent == Hi:
            return hess(element.i, element.j)
        return (jac_a, jac_b)[element.j](element.i)

    entry = entry.replace(lambda e: isinstance(e, MatrixElement), value)
    return sp.Sum(entry.xreplace({x: c, y: d}), (i, 0, n - 1))


def residual_entry(grad, second, i, n, k, c):
    """Entry (a, b) of R = (1/n) Σ_i Σ_c ∂ℓ_i/∂u_c ∇²_θ f_c(x_i): Σ_{i=0}^{n−1} Σ_{c=0}^{k−1}
    ``grad(c)`` ``second(c)`` / n."""
    return sp.Sum(sp.Sum(grad(c) * second(c), (c, 0, k - 1)) / n, (i, 0, n - 1))


# -- cross-entropy output Hessian (T2, T2a) ------------------------------------------------------
def softmax_hessian(probs):
    """H(p) = diag(p) − p pᵀ for a probability column ``probs``: a k × 1 matrix symbol or
    expression (symbolic k), or an explicit column (then an explicit matrix)."""
    if not isinstance(probs, sp.MatrixExpr):
        probs = sp.ImmutableMatrix(probs)
    return DiagMatrix(probs) - probs * probs.T


def ones(k):
    """𝟙 ∈ ℝ^k, the all-ones column."""
    return sp.OneMatrix(k, 1)


def centering_projector(k):
    """P_k = I_k − 𝟙𝟙ᵀ/k: the orthogonal projector onto 𝟙^⊥ (one sample's block of T2's P)."""
    return sp.Identity(k) - sp.OneMatrix(k, k) / k


def scalar(expr):
    """The only entry of a 1 × 1 matrix expression (e.g. xᵀHx) as a scalar; it prints as the
    expression."""
    return MatrixElement(expr, 0, 0)


def _numeric_eigenvalue(matrix, index):
    """λ_i of a symmetric float matrix, in decreasing order, i = 0, 1, … (numpy ``eigvalsh``;
    ``index`` may be an array of indices)."""
    import numpy as np

    values = np.linalg.eigvalsh(np.asarray(matrix, dtype=float))[::-1]
    return values[np.asarray(index, dtype=int)]


class eigenvalue(sp.Function):  # noqa: N801 - printed by _render._print_eigenvalue
    """eigenvalue(M, i) = λ_i(M): the i-th largest eigenvalue (i = 0, 1, …) of a symmetric
    matrix M, a real number; numeric (numpy) when lambdified."""

    nargs = 2
    _imp_ = staticmethod(_numeric_eigenvalue)

    def _eval_is_real(self):
        return True

    def _eval_is_commutative(self):
        return True


# -- infinite width: ReLU Gaussian expectations and the NTK recursion (T7) ---------------------
def relu(z):
    """φ(z) = max(z, 0)."""
    return sp.Max(z, 0)


def relu_step(z):
    """φ′(z) = 1[z > 0], with φ′(0) = 0 (the convention of the finite-width masks 1[z > 0])."""
    return sp.Piecewise((1, z > 0), (0, True))


def gaussian_pair(s1, s2, c, g1, g2):
    """(u, v) = (√s₁ g₁, (c g₁ + √(s₁s₂ − c²) g₂)/√s₁): for g ~ N(0, I₂) the centred Gaussian pair
    with covariance [[s₁, c], [c, s₂]] (s₁ > 0, c² ≤ s₁s₂), through the Cholesky factor."""
    return sp.sqrt(s1) * g1, (c * g1 + sp.sqrt(s1 * s2 - c**2) * g2) / sp.sqrt(s1)


def standard_normal_expectation(integrand, g1, g2):
    """E over g ~ N(0, I₂): ∫∫ integrand · e^(−(g₁² + g₂²)/2)/(2π) dg₁ dg₂ over the plane."""
    density = sp.exp(-(g1**2 + g2**2) / 2) / (2 * sp.pi)
    return sp.Integral(integrand * density, (g1, -sp.oo, sp.oo), (g2, -sp.oo, sp.oo))


def correlation(s1, s2, c):
    """ρ = c/√(s₁s₂)."""
    return c / sp.sqrt(s1 * s2)


def arccos_kernel_1_closed_form(s1, s2, rho):
    """E[φ(u)φ(v)] = √(s₁s₂)/(2π) · (√(1 − ρ²) + (π − arccos ρ) ρ) (Cho and Saul, order 1)."""
    return sp.sqrt(s1 * s2) / (2 * sp.pi) * (sp.sqrt(1 - rho**2) + (sp.pi - sp.acos(rho)) * rho)


def arccos_kernel_0_closed_form(rho):
    """E[φ′(u)φ′(v)] = (π − arccos ρ)/(2π) (Cho and Saul, order 0; Sheppard)."""
    return (sp.pi - sp.acos(rho)) / (2 * sp.pi)


def arccos_kernel_1_snapped(c):
    """The order-1 form with the pair taken exactly parallel, sin θ = 0 and cos θ = sign c:
    (π − arccos(c/|c|)) c/(2π)."""
    return (sp.pi - sp.acos(c / sp.Abs(c))) * c / (2 * sp.pi)


def arccos_kernel_0_snapped(c):
    """(π − arccos(c/|c|))/(2π)."""
    return (sp.pi - sp.acos(c / sp.Abs(c))) / (2 * sp.pi)


def nngp_first_layer(Z, i, j, sw, sb):
    """Σ¹(Z)_ij = σ_w² (ZZᵀ)_ij/d + σ_b² (d = the number of columns of Z)."""
    from sympy.matrices.expressions.matexpr import MatrixElement

    return sw**2 * MatrixElement(Z * Z.T, i, j) / Z.shape[1] + sb**2


def nngp_next_layer(expectation, sigma, l, Z, i, j, sw, sb):
    """Σ^{l+1}_ij = σ_w² E(Σ^l_ii, Σ^l_jj, Σ^l_ij) + σ_b², E = κ₁ (``expectation``)."""
    args = (sigma(l, Z, sw, sb, i, i), sigma(l, Z, sw, sb, j, j), sigma(l, Z, sw, sb, i, j))
    return sw**2 * expectation(*args) + sb**2


def ntk_derivative_layer(expectation, sigma, l, Z, i, j, sw, sb):
    """Σ̇^{l+1}_ij = σ_w² κ₀(Σ^l_ii, Σ^l_jj, Σ^l_ij) (``expectation`` = κ₀)."""
    args = (sigma(l, Z, sw, sb, i, i), sigma(l, Z, sw, sb, j, j), sigma(l, Z, sw, sb, i, j))
    return sw**2 * expectation(*args)


def ntk_next_layer(sigma, sigma_dot, theta, l, Z, i, j, sw, sb):
    """Θ^{l+1}_ij = Σ^{l+1}_ij + Σ̇^{l+1}_ij Θ^l_ij."""
    return (sigma(l + 1, Z, sw, sb, i, j)
            + sigma_dot(l + 1, Z, sw, sb, i, j) * theta(l, Z, sw, sb, i, j))


def dense_preactivation(W, features, a, width, beta, sw, sb):
    """One unit of a dense NTK layer: (σ_w/√width) Σ_{a<width} W_a h_a + σ_b β, with
    ``features`` = h_a (an expression in the summation index a)."""
    return sw / sp.sqrt(width) * sp.Sum(W[a] * features, (a, 0, width - 1)) + sb * beta

__all__ = [
    "N", "T", "char_poly", "ell", "empirical_loss", "ggn_entry", "loss_gradient", "loss_hessian",
    "output_component", "residual_entry",
    "eps", "eps_rank", "equation", "eta", "flat_mass", "gd_factor", "ggn", "half_hessian_factor",
    "integer", "j", "k", "kappa", "l2_hessian_shift", "l2_penalty", "lam", "lam_max",
    "loss_ratio", "loss_weighted_gram", "mse_loss", "n", "ntk_gram", "p", "quadratic_model",
    "real", "rho_eps", "sigma_b", "sigma_w", "softmax_hessian", "t", "tau",
    # T7
    "arccos_kernel_0_closed_form", "arccos_kernel_0_snapped", "arccos_kernel_1_closed_form",
    "arccos_kernel_1_snapped", "correlation", "dense_preactivation", "gaussian_pair",
    "nngp_first_layer", "nngp_next_layer", "ntk_derivative_layer", "ntk_next_layer", "relu",
    "relu_step", "standard_normal_expectation",
]
