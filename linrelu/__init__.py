"""linrelu: exact Gram / GGN / Hessian spectra of any JAX model (closed forms for MLPs) and the
spectral-collapse theory of loss of plasticity (arXiv:2509.22335). Conventions (layer sizes,
flat parameter order, Gram rows): docs/models.md.

Importing linrelu changes no JAX setting. Every spectral function computes in float64 inside a
scoped ``jax.enable_x64(True)`` (:mod:`linrelu.precision`), whatever the caller's setting; the
caller's own code keeps its dtype.

One return type: every public function returns numpy arrays (floating ones in float64) or Python
numbers, never JAX arrays; only model functions (``MLP.init/apply/trace``, the
``hessian_vector_product`` closure, ``linearize``) return JAX values, for use in JAX code.
"""

from linrelu.analysis.diagnose import DiagnosisReport, diagnose, predict_trainability
from linrelu.analysis.features import (
    dead_unit_fractions,
    dead_units,
    effective_rank,
    hidden_effective_ranks,
    hidden_features,
)
from linrelu.analysis.plasticity import PlasticityRecorder, plasticity_metrics
from linrelu.analysis.trainability import (
    flat_mass,
    mse_loss_bounds,
    mse_loss_curve,
    quadratic_decrease,
    quadratic_decrease_bound,
    quadratic_decrease_curve,
    rank_conditions,
    tau_conditions,
)
from linrelu.models.adapters import mlp_from_dense_layers, mlp_from_flax, source_order
from linrelu.models.convnet import ConvNet
from linrelu.models.mlp import MLP, Trace, ravel_params, unravel_params
from linrelu.models.network import wrap_model
from linrelu.plotting import plot_plasticity
from linrelu.precision import float64
from linrelu.spectral.curvature import (
    ggn_matrix,
    hessian_matrix,
    hessian_vector_product,
    linearize,
    linearized_ggn_matrix,
    linearized_hessian_matrix,
    residual_matrix,
)
from linrelu.spectral.equivalence import (
    centering_projector,
    ggn_eigenvalues,
    softmax_bracket_constants,
    spectral_equivalence_bracket,
)
from linrelu.spectral.gram import (
    jacobian,
    jacobian_gram,
    jacobian_gram_autodiff,
    jacobian_gram_layers,
    loss_weighted_gram,
)
from linrelu.spectral.kernels import nngp_analytic, ntk_analytic
from linrelu.spectral.lanczos import EpsRankEstimate, paper_eps_ranks, slq_eps_ranks
from linrelu.spectral.losses import (
    loss_value,
    output_gradients,
    output_hessian_sqrt,
    output_hessians,
)
from linrelu.spectral.spectra import density_mass_outside, eps_rank, eps_rank_ladder

__version__ = "0.1.0"

__all__ = [
    "MLP", "ConvNet", "Trace", "ravel_params", "unravel_params", "float64",
    "mlp_from_flax", "mlp_from_dense_layers", "source_order", "wrap_model", "hidden_features",
    "loss_value", "output_gradients", "output_hessians", "output_hessian_sqrt",
    "jacobian", "jacobian_gram", "jacobian_gram_layers", "jacobian_gram_autodiff",
    "loss_weighted_gram",
    "ggn_matrix", "hessian_matrix", "residual_matrix", "hessian_vector_product", "linearize",
    "linearized_hessian_matrix", "linearized_ggn_matrix",
    "ggn_eigenvalues", "spectral_equivalence_bracket", "softmax_bracket_constants",
    "centering_projector",
    "eps_rank", "eps_rank_ladder", "density_mass_outside",
    "slq_eps_ranks", "paper_eps_ranks", "EpsRankEstimate",
    "effective_rank", "dead_units", "dead_unit_fractions", "hidden_effective_ranks",
    "diagnose", "DiagnosisReport", "predict_trainability",
    "mse_loss_curve", "mse_loss_bounds", "flat_mass", "tau_conditions", "rank_conditions",
    "quadratic_decrease", "quadratic_decrease_bound", "quadratic_decrease_curve",
    "ntk_analytic", "nngp_analytic",
    "plasticity_metrics", "PlasticityRecorder", "plot_plasticity",
]
