"""Dale's-law E/I system (not yet implemented)."""
