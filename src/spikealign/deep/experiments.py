"""Registration of the deep experiments and figures (none yet)."""
