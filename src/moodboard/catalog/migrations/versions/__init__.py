"""Ordered schema revisions."""
