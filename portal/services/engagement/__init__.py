"""Keeping the relationship: surveys, return visits and contact logs, value-added reports."""
