"""The one renderer of proofs/: sympy objects → the printed text of statements and steps.

Every mathematical token that ``python -m proofs`` prints comes from this module, rendered from
the very sympy objects the checks use (``tests/test_proofs_design.py`` scans every other module of
proofs/ and fails on a mathematical token in a string literal outside a docstring). Connecting
words ("for all", "whenever", "where") are the only fixed text elsewhere.

Conventions: Greek symbol names print as Greek letters (``lambda_max`` → ``λ_max``), ``**`` as
``^``, products as ``·``, ``−`` for minus, ``≤ ≥ ≠`` for relations, ``Xᵀ`` for a transpose,
``det(…)``, ``Σ_{j=a}^{b}`` for sums, ``I_N`` for an identity of size N, ``0`` for a zero matrix,
and sympy's integer / real / matrix types as ``∈ ℤ``, ``∈ ℝ``, ``∈ ℝ^{r×c}``.
"""

from __future__ import annotations

import re

import sympy as sp
from sympy.printing.precedence import precedence
from sympy.printing.str import StrPrinter

GREEK = {
    "alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "Delta": "Δ", "epsilon": "ε",
    "eps": "ε", "eta": "η", "theta": "θ", "Theta": "Θ", "kappa": "κ", "lambda": "λ", "mu": "μ",
    "nu": "ν", "pi": "π", "rho": "ρ", "sigma": "σ", "Sigma": "Σ", "tau": "τ", "phi": "φ",
    "chi": "χ", "psi": "ψ", "omega": "ω", "xi": "ξ", "zeta": "ζ", "Phi": "Φ",
}
# name suffixes that print as decorations of the stem
DECORATIONS = {"hat": "\u0302", "dot": "\u0307", "bar": "\u0304", "prime": "\u2032"}
# name suffixes that print as a power of the stem (``H_half`` → ``H^(1/2)``)
POWER_SUFFIXES = {"half": "^(1/2)"}
# names that print as a letterlike symbol (``ell`` → ``ℓ``)
LETTERS = {"ell": "ℓ"}
# IndexedBases that name the layer blocks of a matrix over θ = (θ_1, …, θ_(L+1)), θ_l = (W_l, b_l):
# label → (the matrix, how many leading indices belong to it); the last two indices are the
# layers, so ``hessian_f[c, l, l_prime]`` prints as ``[∇²f_c]_(θ_l,θ_l′)``
LAYER_BLOCKS = {"hessian_f": ("∇²f", 1), "hessian_L": ("∇²L", 0), "G_hat_blocks": ("Ĝ", 0)}
SUPERSCRIPT_T = "ᵀ"
RELATION_GLYPHS = {"<=": "≤", ">=": "≥", "!=": "≠", "==": "=", "<": "<", ">": ">"}
NUMBER_SETS = {"integer": "ℤ", "real": "ℝ"}


def _name(text: str) -> str:
    """A symbol name in print: Greek parts, decorations (``G_hat`` → ``Ĝ``), underscores kept as
    subscripts (``lambda_max`` → ``λ_max``)."""
    parts = text.split("_")
    out: list[str] = []
    for part in parts:
        if part in DECORATIONS and out:
            out[-1] = out[-1] + DECORATIONS[part]
        elif part in POWER_SUFFIXES and out:
            out[-1] = out[-1] + POWER_SUFFIXES[part]
        else:
            out.append(GREEK.get(part, LETTERS.get(part, part)))
    return "_".join(out)


class _Printer(StrPrinter):
    """sympy's string printer with the project's glyphs."""

    printmethod = "_proofs_render"  # no object defines it: our methods win over _sympystr

    def _print_Symbol(self, expr):
        return _name(expr.name)

    _print_Dummy = _print_Symbol

    def _print_MatrixSymbol(self, expr):
        return _name(expr.name)

    def _print_IndexedBase(self, expr):
        return _name(str(expr.label))

    def _print_Indexed(self, expr):
        if str(expr.base.label) in LAYER_BLOCKS:
            matrix, lead = LAYER_BLOCKS[str(expr.base.label)]
            head = ",".join(self._print(i) for i in expr.indices[:lead])
            layers = ",".join("θ_" + (t if re.fullmatch(r"[\w\u2032]+", t) else f"({t})")
                              for t in map(self._print, expr.indices[lead:]))
            matrix += (f"_{head}" if re.fullmatch(r"\w+", head) else f"_({head})") if head else ""
            return f"[{matrix}]_({layers})"
        idx = ",".join(self._print(i) for i in expr.indices)
        return f"{self._print(expr.base)}_{idx}" if re.fullmatch(r"\w+", idx) \
            else f"{self._print(expr.base)}_({idx})"

    def _print_Function(self, expr):
        """``f(a, b)``; function symbols may carry a layout (T7): ``pairing="product"`` prints
        E(p, q) as ``E(p·q)``, ``pairing="gradient"`` prints ``⟨∇p, ∇q⟩``, ``layer_indexed``
        prints Σ(l, Z, …, i, j) as ``Σ^(l)(Z, …)_(i,j)``, ``entry_indexed`` f(…, i, j) as
        ``f(…)_(i,j)``."""
        name = _name(expr.func.__name__)
        args = [self._print(a) for a in expr.args]
        pairing = getattr(expr.func, "pairing", None)
        if pairing == "product":
            factors = [self.parenthesize(a, precedence(sp.Mul(2, 3, evaluate=False)),
                                         strict=True) for a in expr.args]
            return f"{name}({'·'.join(factors)})"
        if pairing == "gradient":
            grads = [f"∇({text})" if isinstance(a, (sp.Add, sp.Mul, sp.Pow)) else f"∇{text}"
                     for a, text in zip(expr.args, args)]
            return f"⟨{', '.join(grads)}⟩"
        if getattr(expr.func, "layer_indexed", False):
            return f"{name}^({args[0]})({', '.join(args[1:-2])})_({args[-2]},{args[-1]})"
        if getattr(expr.func, "entry_indexed", False):
            return f"{name}({', '.join(args[:-2])})_({args[-2]},{args[-1]})"
        return f"{name}({', '.join(args)})"

    def _print_MatrixElement(self, expr):
        """``M_(i,j)``; the entry of a 1 × 1 product prints as the product (``xᵀ·H·x``), entry
        ``j`` of a column vector ``p`` as ``p_j``."""
        parent = self._print(expr.parent)
        if expr.parent.shape == (1, 1):
            return parent
        if expr.parent.shape[1] == 1 and expr.j == 0 and re.fullmatch(r"\w+", parent):
            index = self._print(expr.i)
            return f"{parent}_{index}" if re.fullmatch(r"\w+", index) else f"{parent}_({index})"
        if not re.fullmatch(r"\w+", parent):
            parent = f"({parent})"
        return f"{parent}_({self._print(expr.i)},{self._print(expr.j)})"

    def _print_Integral(self, expr):
        """``∫_(a)^(b) ∫_(c)^(d) f dx dy`` (outermost integral first, as written by hand)."""
        signs = " ".join(f"∫_({self._print(lo)})^({self._print(hi)})"
                         for _, lo, hi in reversed(expr.limits))
        measure = " ".join(f"d{self._print(v)}" for v, _, _ in expr.limits)
        return f"{signs} {self._print(expr.function)} {measure}"

    def _print_Transpose(self, expr):
        arg = self._print(expr.arg)
        if not re.fullmatch(r"\w+", arg):
            arg = f"({arg})"
        return arg + SUPERSCRIPT_T

    def _print_Identity(self, expr):
        size = self._print(expr.rows)
        return f"I_{size}" if re.fullmatch(r"\w+", size) else f"I_({size})"

    def _print_ZeroMatrix(self, expr):
        return "0"

    def _print_OneMatrix(self, expr):
        rows, cols = expr.shape
        if cols == 1:
            return f"𝟙_{self._print(rows)}"
        if rows == 1:
            return f"𝟙_{self._print(cols)}{SUPERSCRIPT_T}"
        if rows == cols:
            return f"𝟙_{self._print(rows)}𝟙_{self._print(rows)}{SUPERSCRIPT_T}"
        return f"𝟙_({self._print(rows)}×{self._print(cols)})"

    def _print_DiagMatrix(self, expr):
        return f"diag({self._print(expr.args[0])})"

    def _print_eigenvalue(self, expr):
        """``_defs.eigenvalue(M, i)``: λ_i(M)."""
        matrix, index = (self._print(a) for a in expr.args)
        index = index if re.fullmatch(r"\w+", index) else f"({index})"
        return f"λ_{index}({matrix})"

    def _print_KroneckerDelta(self, expr):
        return f"[{self._print(expr.args[0])} = {self._print(expr.args[1])}]"

    def _print_Determinant(self, expr):
        return f"det({self._print(expr.arg)})"

    def _print_MatMul(self, expr):
        """``c·A·B`` with the scalar's denominator last (``𝟙𝟙ᵀ/k``, ``P·K·P/(k·n)``)."""
        coeff, matrices = expr.as_coeff_matrices()
        num, den = sp.fraction(coeff)
        sign = ""
        if not isinstance(num, sp.Add) and num.could_extract_minus_sign():
            sign, num = "-", -num
        parts = [] if num == 1 else [f"({self._print(num)})" if isinstance(num, sp.Add)
                                     else self._print(num)]
        for arg in matrices:
            text = self._print(arg)
            if isinstance(arg, (sp.MatAdd, sp.Add, sp.KroneckerProduct)):
                text = f"({text})"
            parts.append(text)
        text = sign + "·".join(parts)
        if den != 1:
            below = self._print(den)
            text += f"/{below}" if re.fullmatch(r"\w+|√\(\w+\)", below) else f"/({below})"
        return text

    def _print_MatPow(self, expr):
        base = self._print(expr.base)
        if not re.fullmatch(r"\w+", base):
            base = f"({base})"
        return f"{base}^{self._exponent(expr.exp)}"

    def _exponent(self, exp):
        text = self._print(exp)
        return text if re.fullmatch(r"[\w.]+", text) else f"({text})"

    def _print_Add(self, expr, order=None):
        """Terms with a positive sign first (``1 − η·ε/n``, ``2·n − η·λ``), then the others."""
        terms = self._as_ordered_terms(expr, order=None)
        terms = ([t for t in terms if not t.could_extract_minus_sign()]
                 + [t for t in terms if t.could_extract_minus_sign()])
        prec = precedence(expr)
        out = ""
        for i, term in enumerate(terms):
            negative = term.could_extract_minus_sign()
            body = self.parenthesize(-term if negative else term, prec)
            if i == 0:
                out = f"-{body}" if negative else body
            else:
                out += f" - {body}" if negative else f" + {body}"
        return out

    def _print_MatAdd(self, expr):
        """Matrix sums like scalar ones: positive terms first (``I_N − η·K/n``)."""
        def negative_sign(term):
            if isinstance(term, sp.MatMul) and not isinstance(term.args[0], sp.MatrixExpr):
                # a sum as coefficient prints whole, positive terms first: (λ − κ)·I_p
                return not isinstance(term.args[0], sp.Add) \
                    and term.args[0].could_extract_minus_sign()
            return term.could_extract_minus_sign()

        terms = list(expr.args)
        terms = ([t for t in terms if not negative_sign(t)]
                 + [t for t in terms if negative_sign(t)])
        out = ""
        for i, term in enumerate(terms):
            negative = negative_sign(term)
            shown = -term if negative else term
            body = self._print(shown)
            if isinstance(shown, sp.MatAdd):  # λ·I_p − (κ·I_p + M)
                body = f"({body})"
            out = (f"-{body}" if negative else body) if i == 0 else \
                out + (f" - {body}" if negative else f" + {body}")
        return out

    def _print_Pow(self, expr):
        if expr.exp == sp.Rational(1, 2):
            return f"√({self._print(expr.base)})"
        if expr.exp == -1:
            return f"1/{self.parenthesize(expr.base, precedence(expr), strict=True)}"
        base = self.parenthesize(expr.base, precedence(expr), strict=False)
        if isinstance(expr.base, sp.Derivative):
            base = f"({base})"
        return f"{base}^{self._exponent(expr.exp)}"

    def _print_Sum(self, expr):
        body = self._print(expr.function)
        if isinstance(expr.function, sp.Add):
            body = f"({body})"
        lims = "".join(
            f"Σ_{{{self._print(v)}={self._print(lo)}}}^{{{self._print(hi)}}} "
            for v, lo, hi in expr.limits
        )
        return lims + body

    def _print_Product(self, expr):
        body = self._print(expr.function)
        if isinstance(expr.function, sp.Add):
            body = f"({body})"
        lims = "".join(
            f"Π_{{{self._print(v)}={self._print(lo)}}}^{{{self._print(hi)}}} "
            for v, lo, hi in expr.limits
        )
        return lims + body

    def _print_Derivative(self, expr):
        body = self._print(expr.expr)
        if len(expr.variable_count) > 1:  # mixed: ∂^2(L)/∂θ_a∂θ_b
            total = sum(count for _, count in expr.variable_count)
            below = "".join(f"∂{self._print(var)}" + ("" if count == 1 else f"^{count}")
                            for var, count in expr.variable_count)
            return f"∂^{total}({body})/{below}"
        (var, count), = expr.variable_count
        if isinstance(var, sp.MatrixSymbol) and count in (1, 2):
            return f"∇{'²' if count == 2 else ''}_{self._print(var)}({body})"
        order = "" if count == 1 else f"^{count}"
        return f"∂{order}({body})/∂{self._print(var)}{order}"

    def _print_loss_gradient(self, expr):
        """``_defs.loss_gradient(i, c, u)``: ∂ℓ/∂u_c of sample i's loss at the outputs u."""
        sample, c, outputs = (self._print(a) for a in expr.args)
        return f"∂ℓ/∂u_{c}({sample}, {outputs})"

    def _print_loss_hessian(self, expr):
        """``_defs.loss_hessian(i, c, d, u)``: ∂²ℓ/∂u_c∂u_d of sample i's loss at u."""
        sample, c, d, outputs = (self._print(a) for a in expr.args)
        return f"∂^2ℓ/∂u_{c}∂u_{d}({sample}, {outputs})"

    def _print_Abs(self, expr):
        return f"|{self._print(expr.args[0])}|"

    def _print_Max(self, expr):
        return f"max({', '.join(self._print(a) for a in expr.args)})"

    def _print_Min(self, expr):
        return f"min({', '.join(self._print(a) for a in expr.args)})"

    def _print_Relational(self, expr):
        op = RELATION_GLYPHS.get(expr.rel_op, expr.rel_op)
        return f"{self._print(expr.lhs)} {op} {self._print(expr.rhs)}"

    def _print_Equality(self, expr):
        return f"{self._print(expr.lhs)} = {self._print(expr.rhs)}"

    def _print_Unequality(self, expr):
        return f"{self._print(expr.lhs)} ≠ {self._print(expr.rhs)}"

    def _print_And(self, expr):
        return " and ".join(self._print(a) for a in expr.args)

    def _print_Or(self, expr):
        return " or ".join(self._print(a) for a in expr.args)

    def _print_Not(self, expr):
        return f"not ({self._print(expr.args[0])})"

    def _print_Implies(self, expr):
        return f"({self._print(expr.args[0])}) ⇒ ({self._print(expr.args[1])})"

    def _print_Piecewise(self, expr):
        pieces = [f"{self._print(e)} if {self._print(c)}" if c is not sp.true
                  else f"{self._print(e)} otherwise" for e, c in expr.args]
        return "{" + "; ".join(pieces) + "}"

    def _print_KroneckerProduct(self, expr):
        return " ⊗ ".join(f"({self._print(a)})" if isinstance(
            a, (sp.MatAdd, sp.MatMul, sp.KroneckerProduct)) else self._print(a) for a in expr.args)

    def _print_HadamardProduct(self, expr):
        return " ∘ ".join(self.parenthesize(a, 1000) for a in expr.args)

    def _print_exp(self, expr):
        return f"e^{self._exponent(expr.args[0])}"

    def _print_acos(self, expr):
        return f"arccos({self._print(expr.args[0])})"

    def _print_ImmutableDenseMatrix(self, expr):
        rows = ["[" + ", ".join(self._print(x) for x in expr.row(i)) + "]"
                for i in range(expr.rows)]
        return "[" + ", ".join(rows) + "]"

    _print_MutableDenseMatrix = _print_ImmutableDenseMatrix
    _print_Matrix = _print_ImmutableDenseMatrix

    def _print_Infinity(self, expr):
        return "∞"

    def _print_NegativeInfinity(self, expr):
        return "−∞"

    def _print_Pi(self, expr):
        return "π"


_PRINTER = _Printer()


def render(obj) -> str:
    """The printed form of a sympy expression, relation, matrix expression or boolean."""
    text = _PRINTER.doprint(sp.sympify(obj) if not isinstance(obj, sp.Basic) else obj)
    text = text.replace("**", "^").replace("*", "·")
    text = re.sub(r"(?<=\S) - (?=\S)", " − ", text)
    text = re.sub(r"(?<![\w)\]}])( ?)-(?=[\w(√|])", r"\1−", text)
    return text


def render_variable(var) -> str:
    """``x ∈ ℝ``, ``T ∈ ℤ``, ``A ∈ ℝ^{N×p}``, ``f`` (a function): the type of a quantified
    symbol, read off the sympy object (sign conditions are hypotheses, rendered apart)."""
    if isinstance(var, sp.MatrixSymbol):
        rows, cols = var.shape
        return f"{render(var)} ∈ ℝ^{{{render(rows)}×{render(cols)}}}"
    if isinstance(var, sp.IndexedBase):
        return f"{render(var)}_j ∈ {NUMBER_SETS['integer' if var.is_integer else 'real']}"
    if isinstance(var, sp.FunctionClass):  # an undefined function, or one of _defs' classes
        return f"{_name(var.__name__)} smooth"
    if isinstance(var, sp.Symbol):
        kind = "integer" if var.is_integer else "real"
        return f"{render(var)} ∈ {NUMBER_SETS[kind]}"
    return render(var)


def render_variables(variables) -> str:
    """Symbols of one type grouped: ``η, n ∈ ℝ; T ∈ ℤ``."""
    groups: dict[str, list[str]] = {}
    for var in variables:
        text = render_variable(var)
        name, _, kind = text.partition(" ∈ ")
        if kind:
            groups.setdefault(" ∈ " + kind, []).append(name)
        else:
            groups.setdefault(text, [])
    return "; ".join(", ".join(names) + kind if names else kind for kind, names in groups.items())


def render_definition(definition) -> str:
    """``name := expression`` for a definition ``sp.Eq(name, expression)``."""
    return f"{render(definition.lhs)} := {render(definition.rhs)}"


def render_claim(claim) -> str:
    """``conclusion whenever h₁, h₂ (for all extra variables)`` of one claim."""
    text = render(claim.conclusion)
    if claim.hypotheses:
        text += " whenever " + ", ".join(render(h) for h in claim.hypotheses)
    if claim.variables:
        text += " (for all " + render_variables(claim.variables) + ")"
    if claim.definitions:
        text += "; where " + "; ".join(render_definition(d) for d in claim.definitions)
    return text


def render_theorem(theorem) -> str:
    """The full printed statement: quantifiers, hypotheses, definitions, then each claim."""
    lines = [f"{theorem.id}. For all {render_variables(theorem.variables)}"]
    if theorem.hypotheses:
        lines[0] += " with " + ", ".join(render(h) for h in theorem.hypotheses)
    if theorem.definitions:
        lines.append("  where " + "; ".join(render_definition(d) for d in theorem.definitions))
    for claim in theorem.claims:
        lines.append(f"  [{claim.name}] {render_claim(claim)}")
    return "\n".join(lines)


def render_counterexample(model: dict) -> str:
    """A solver's counterexample as ``x = 1/2, y = −3``."""
    return ", ".join(f"{render(k)} = {render(v)}" for k, v in model.items())


__all__ = [
    "render",
    "render_claim",
    "render_counterexample",
    "render_definition",
    "render_theorem",
    "render_variable",
    "render_variables",
]
