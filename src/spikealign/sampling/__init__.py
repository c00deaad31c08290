"""sampling family."""
