"""Data access functions. Every function takes the session as first argument."""
