"""theory family."""
