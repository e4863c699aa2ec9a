"""The seed-SQL tests read the design document itself; make sure they read all of it."""

from __future__ import annotations

from tests.seed_sql import sql_blocks, statements, table_queries


def test_every_section_with_sql_is_found() -> None:
    counts = {
        section: len(sql_blocks(section))
        for section in ("4.2", "4.4", "5.2", "5.3", "5.4", "5.5", "7.2")
    }
    assert counts == {"4.2": 1, "4.4": 2, "5.2": 1, "5.3": 1, "5.4": 1, "5.5": 1, "7.2": 1}
    assert len(table_queries("7.1")) == 4


def test_statements_split_and_drop_comment_only_fragments() -> None:
    [block] = sql_blocks("5.2")
    assert statements(block) == [
        "-- TTL Cleanup Job (run every hour)\n"
        "DELETE FROM flight_search_cache WHERE expires_at < NOW()",
        "DELETE FROM hotel_search_cache WHERE expires_at < NOW()",
        "-- Vacuum after bulk deletes\nVACUUM ANALYZE flight_search_cache",
    ]
