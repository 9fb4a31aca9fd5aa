"""Inventory and order management service."""
