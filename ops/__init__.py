"""How the running system is observed: traces (ops/tracing.py) and metrics (ops/metrics.py)."""
