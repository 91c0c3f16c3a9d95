"""oversight models (filled in by the oversight work)."""
