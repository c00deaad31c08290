"""microcircuit family."""
