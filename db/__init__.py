"""Storage: models, engines and pools, tenant-scoped units of work, maintenance SQL."""
