"""Vectorised scoring: complementarity, distance, kind, region and continuity components."""
