"""Trend detection: engagement velocity against the creator's own baseline, and the trending pool."""
