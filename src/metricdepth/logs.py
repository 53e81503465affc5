"""Log lines a step says while it checks its inputs are held back until the checks pass:
a refused run then prints its one error line and nothing else."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator


class _Hold(logging.Filter):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def filter(self, record: logging.LogRecord) -> bool:
        self.records.append(record)
        return False


@contextlib.contextmanager
def held_until_checked() -> Iterator[None]:
    """Hold every record the root logger's handlers would print inside the block; print
    them when the block ends normally, drop them when it raises."""
    handlers = list(logging.getLogger().handlers)
    hold = _Hold()
    for handler in handlers:
        handler.addFilter(hold)
    try:
        yield
    finally:
        for handler in handlers:
            handler.removeFilter(hold)
    seen: set[int] = set()
    for record in hold.records:
        if id(record) not in seen:  # one record reaches every handler: print it once each
            seen.add(id(record))
            for handler in handlers:
                if record.levelno >= handler.level:
                    handler.handle(record)
