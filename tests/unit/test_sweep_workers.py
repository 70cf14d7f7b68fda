"""The sweep's thread count is the caller's own: one session setting it never changes
another's, and the shared pool is never shut down under a running sweep."""

import threading

import numpy as np

from models.score import sweep


def _rows(seed: int) -> list[np.ndarray]:
    weights = np.random.default_rng(seed).random((2, 12, 300, 300), dtype=np.float32) + 0.01  # > PARALLEL_VALUES
    return list(weights / weights.sum(axis=-1, keepdims=True))


def test_one_caller_setting_workers_leaves_the_others_alone():
    seen = {}

    def one_thread():
        sweep.set_workers(1)
        seen["inside"] = sweep._WORKERS.get()

    worker = threading.Thread(target=one_thread)
    worker.start()
    worker.join()
    assert seen["inside"] == 1
    assert sweep._WORKERS.get() == sweep.WORKERS  # this thread's count did not change


def test_sweeps_keep_running_while_another_caller_changes_its_count():
    layers = _rows(0)
    norms = np.ones((2, 12, 300), dtype=np.float32)
    assert sweep.PARALLEL_VALUES < 12 * 300 * 300  # the pool is used
    alone = sweep.sweep(layers, norms)
    errors, results = [], []

    def changer():
        for count in (1, 3, 2, 4) * 10:
            sweep.set_workers(count)

    def runner():
        try:
            for _ in range(4):
                results.append(sweep.sweep(layers, norms))
        except Exception as error:
            errors.append(error)

    threads = [threading.Thread(target=changer), threading.Thread(target=runner), threading.Thread(target=runner)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors and len(results) == 8
    for result in results:
        np.testing.assert_allclose(result.entropy, alone.entropy, rtol=1e-6)
