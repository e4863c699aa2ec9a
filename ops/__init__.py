"""How the running system is observed: traces (and, beside them, metrics)."""
