"""Bundled experiments that belong to no model family (the diagnostic ``toy`` experiment)."""
