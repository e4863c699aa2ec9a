"""Where the design's monitoring SQL (section 7) runs: the `monitoring` schema first."""

from __future__ import annotations

# `monitoring.pg_stat_user_indexes` adds the design's column names to the catalog view.
MONITORING_SEARCH_PATH = "SET search_path = monitoring, pg_catalog, public"
