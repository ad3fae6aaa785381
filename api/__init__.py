"""Operator HTTP API (Litestar)."""
