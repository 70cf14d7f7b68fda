"""Run callables at the same moment in threads, as two visitors of one server do."""

from __future__ import annotations

import threading
from collections.abc import Callable


def side_by_side(*calls: Callable[[], object], timeout_s: float = 600) -> list[object]:
    """Start every call together (a barrier) and return their results in order; re-raise
    the first error any of them raised."""
    results: list[object] = [None] * len(calls)
    errors: list[BaseException] = []
    start = threading.Barrier(len(calls))

    def run(index: int, call: Callable[[], object]) -> None:
        try:
            start.wait()
            results[index] = call()
        except BaseException as error:  # re-raised in the caller's thread
            errors.append(error)

    threads = [threading.Thread(target=run, args=(index, call)) for index, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout_s)
    if any(thread.is_alive() for thread in threads):
        raise TimeoutError(f"a call was still running after {timeout_s} s")
    if errors:
        raise errors[0]
    return results
