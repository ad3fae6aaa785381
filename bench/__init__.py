"""Benchmarks: godo-streams side by side with a hand-written redis-py loop on the same server.

Run ``python -m bench`` (``python -m bench --help`` for smaller, quicker runs).
"""
