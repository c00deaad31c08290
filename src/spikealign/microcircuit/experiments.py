"""Registration of the microcircuit experiments and figures (none yet)."""
