"""Scoring backends: each tokenizes a context with offsets and scores its tokens against a query."""
