"""boards models (filled in by the boards work)."""
