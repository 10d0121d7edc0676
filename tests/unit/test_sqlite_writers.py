"""SQLite with writers on several connections: a write never fails with "database is locked" at once."""
from __future__ import annotations

import sqlite3

from backends.db import write_tx
from backends.models import Region


def test_a_loop_writing_as_it_reads_its_query_waits_for_other_writers_instead_of_failing(sqlite_db):
    for number in range(5):
        Region.create(name=f"r{number}", region_number=number)
    other = sqlite3.connect(sqlite_db.database, timeout=30)  # another request's connection
    try:
        # As the heartbeat does: walk a query and write for each row, while others commit in between.
        for region in Region.select().order_by(Region.id):
            other.execute("UPDATE region SET endpoint = 'other' WHERE id = ?", (region.id,))
            other.commit()
            with write_tx():
                Region.update(endpoint="walked").where(Region.id == region.id).execute()
    finally:
        other.close()
    assert [r.endpoint for r in Region.select().order_by(Region.id)] == ["walked"] * 5
