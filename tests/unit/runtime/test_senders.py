"""The runner's sender pool: answers, errors, waiting with a timeout, cancelling what no sender took."""

from __future__ import annotations

import threading
from concurrent.futures import CancelledError
from concurrent.futures import TimeoutError as FutureTimeout

import pytest

from legacy_bridge.runtime.senders import Senders, Sending


def test_answers_and_errors_reach_the_caller() -> None:
    pool = Senders(3, "t")
    try:
        calls = [pool.submit(lambda x: x * 2, i) for i in range(50)]
        assert [c.result(timeout=5) for c in calls] == [i * 2 for i in range(50)]

        def boom(_: object) -> None:
            raise ValueError("the API said no")

        failed = pool.submit(boom, None)
        with pytest.raises(ValueError, match="the API said no"):
            failed.result(timeout=5)
        assert failed.done()
        assert isinstance(failed.exception(), ValueError)
        assert calls[0].exception() is None
    finally:
        pool.shutdown()


def test_result_waits_at_most_the_timeout_and_calls_run_concurrently() -> None:
    pool = Senders(2, "t")
    gate = threading.Event()
    started = threading.Barrier(3)  # both senders and this thread: the two calls run at once

    def slow(_: object) -> str:
        started.wait(timeout=5)
        gate.wait(timeout=5)
        return "ok"

    try:
        a, b = pool.submit(slow, None), pool.submit(slow, None)
        started.wait(timeout=5)
        assert not a.done()
        with pytest.raises(FutureTimeout):
            a.result(timeout=0.05)
        gate.set()
        assert (a.result(timeout=5), b.result(timeout=5)) == ("ok", "ok")
    finally:
        pool.shutdown()


def test_shutdown_cancels_calls_no_sender_took_and_finishes_the_running_one() -> None:
    pool = Senders(1, "t")
    gate = threading.Event()
    running = threading.Event()
    ran: list[int] = []

    def send(i: int) -> int:
        running.set()
        gate.wait(timeout=5)
        ran.append(i)
        return i

    first = pool.submit(send, 1)
    assert running.wait(timeout=5)
    queued = [pool.submit(send, i) for i in (2, 3)]
    assert not first.cancel()  # running: it goes on
    threading.Timer(0.05, gate.set).start()
    for call in [first, *queued]:  # as the runner does with what it did not commit
        call.cancel()
    pool.shutdown()
    assert ran == [1]  # the queued calls never reached the API
    assert first.result(timeout=0) == 1
    for call in queued:
        assert call.done()
        with pytest.raises(CancelledError):
            call.result(timeout=0)


def test_an_already_answered_call() -> None:
    s = Sending.answered("nothing to send")
    assert s.done() and s.result(timeout=0) == "nothing to send" and not s.cancel()
