"""money models (filled in by the money work)."""
