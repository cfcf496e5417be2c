"""Byte budgets: bodies held and parsed at once are bounded in bytes, whatever the number of clients."""

from __future__ import annotations

import threading

import pytest

from otelmon.otlp.budget import BudgetExhausted, ByteBudget


def test_a_body_larger_than_the_budget_still_gets_the_whole_budget():
    budget = ByteBudget(100, "bodies being parsed")
    with budget.hold(10_000, timeout=1):
        with pytest.raises(BudgetExhausted) as refused:
            with budget.hold(1, timeout=0.05):
                pass
    assert refused.value.status_code == 503
    with budget.hold(100, timeout=0.05):  # given back
        pass


def test_a_second_large_body_waits_until_the_first_is_parsed_and_small_ones_share():
    budget = ByteBudget(100, "bodies being parsed")
    first_holds, release_first, second_holds = threading.Event(), threading.Event(), threading.Event()

    def first() -> None:
        with budget.hold(70, timeout=5):
            first_holds.set()
            release_first.wait(5)

    def second() -> None:
        with budget.hold(70, timeout=5):
            second_holds.set()

    threads = [threading.Thread(target=first)]
    threads[0].start()
    assert first_holds.wait(5)
    threads.append(threading.Thread(target=second))
    threads[1].start()
    with budget.hold(30, timeout=0.5):  # what is left is shared by a small body meanwhile
        assert not second_holds.is_set()
    assert not second_holds.wait(0.2)  # 70 + 70 > 100: the second waits ...
    release_first.set()
    assert second_holds.wait(5)  # ... until the first gives its share back
    for thread in threads:
        thread.join(5)
