"""Operating the product: what it tells its operators (metrics)."""
