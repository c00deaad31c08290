"""Registration of the sampling experiments and figures (none yet)."""
