"""Ranking: the search service (query algebra, hybrid fusion, cutoff), calibration and quality metrics."""
