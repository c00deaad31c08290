"""deep family."""
