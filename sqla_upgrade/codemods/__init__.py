"""Passes, the ordered pipeline, the project index and the runner."""
