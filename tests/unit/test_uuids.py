"""The backend's source of new identifiers: random unless seeded; a seed replays the same sequence."""
from __future__ import annotations

import threading
import uuid

from backends import uuids


def _draw() -> tuple:
    return uuids.new_uuid(), uuids.token_hex(8), uuids.token_bytes(4)


def test_a_seed_replays_the_same_identifiers_and_none_returns_to_random():
    try:
        uuids.seed(42)
        first = [_draw() for _ in range(3)]
        uuids.seed(42)
        assert [_draw() for _ in range(3)] == first
        uuids.seed(43)
        assert [_draw() for _ in range(3)] != first
        uuids.seed(None)
        assert _draw() != _draw()
    finally:
        uuids.seed(None)
    value = uuid.UUID(first[0][0])
    assert value.version == 4 and value.variant == uuid.RFC_4122


def test_threads_drawing_at_once_get_distinct_uuids():
    try:
        uuids.seed(1)
        drawn: list[str] = []

        def draw():
            drawn.extend(uuids.new_uuid() for _ in range(500))

        threads = [threading.Thread(target=draw) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(set(drawn)) == 2000
    finally:
        uuids.seed(None)
