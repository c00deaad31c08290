"""Registration of the theory experiments and figures (none yet)."""
