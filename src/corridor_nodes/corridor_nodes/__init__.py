"""Corridor package."""
