"""The spectral engine: exact Gram, GGN and Hessian spectra in float64.

- :mod:`linrelu.spectral.losses`: output gradients and Hessians of the loss, H^{1/2};
- :mod:`linrelu.spectral.closed_form_gram`, :mod:`linrelu.spectral.blocked_gram`,
  :mod:`linrelu.spectral.gram`: the Jacobian Gram J Jᵀ (MLP closed form, blocked autodiff, the
  public dispatcher) and the loss-weighted Gram H^{1/2} J Jᵀ H^{1/2};
- :mod:`linrelu.spectral.curvature`: p × p GGN, Hessian, residual, linearized model;
- :mod:`linrelu.spectral.equivalence`: GGN eigenvalues from the nk-side Gram (T1/T2);
- :mod:`linrelu.spectral.lanczos`, :mod:`linrelu.spectral.spectra`: stochastic Lanczos
  quadrature and ε-ranks;
- :mod:`linrelu.spectral.kernels`: the infinite-width NTK/NNGP (T7);
- :mod:`linrelu.spectral.linalg`: the dense linear algebra underneath.

Imports flow downward: the spectral engine uses :mod:`linrelu.models` and the foundation modules.
"""
