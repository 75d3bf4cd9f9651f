"""Compare screen (placeholder replaced below)."""
