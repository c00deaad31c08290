"""Registration of the estimator experiments and figures (none yet)."""
