"""Replay screen (placeholder replaced below)."""
