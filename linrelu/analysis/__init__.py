"""Analysis of a trained network, built on the spectral engine and the models.

- :mod:`linrelu.analysis.features`: hidden features, dead units, effective rank;
- :mod:`linrelu.analysis.plasticity`: the field's unit-level plasticity metrics and the recorder;
- :mod:`linrelu.analysis.trainability`: the T8/T9 bounds and the ε-rank conditions;
- :mod:`linrelu.analysis.diagnose`: the diagnosis of a checkpoint and the trainability verdict.
"""
