"""The owner thread the simulation server's state belongs to."""

import threading

import pytest

from kernel_ext.owner import Owner
from tests.waiting import eventually

pytestmark = pytest.mark.timeout(10)


@pytest.fixture
def owner():
    ticks = []
    made = Owner("test-owner", tick=lambda: ticks.append(threading.current_thread().name))
    made.ticks = ticks
    made.start()
    yield made
    made.post(made.end)
    eventually(lambda: not made.alive, 5, "the owner ends")


def test_handlers_run_on_the_owner_in_the_order_posted(owner):
    ran = []
    for index in range(20):
        owner.post(lambda index=index: ran.append((index, threading.current_thread().name)))
    assert owner.ask(lambda: len(ran), if_ended=lambda: -1) == 20
    assert ran == [(index, "test-owner") for index in range(20)]


def test_an_answer_or_its_exception_reaches_the_asking_thread(owner):
    assert owner.ask(lambda: 42, if_ended=lambda: None) == 42
    with pytest.raises(KeyError, match="refused"):
        owner.ask(lambda: {}["refused"], if_ended=lambda: None)
    assert owner.alive  # a failing handler does not end the owner


def test_blocking_work_hands_what_comes_next_back_to_the_owner(owner):
    release = threading.Event()
    followed = []
    worker = owner.spawn("test-worker", release.wait, then=lambda: followed.append(threading.current_thread().name))
    assert owner.ask(lambda: "answered while the work blocks", if_ended=lambda: None)
    assert followed == []
    release.set()
    worker.join(5)
    eventually(lambda: followed == ["test-owner"], 5, "the owner runs what follows the work")


def test_ticks_come_from_the_owner_until_stopped(owner):
    owner.post(lambda: owner.start_ticks(0.01))
    eventually(lambda: len(owner.ticks) >= 3, 5, "ticks")
    assert set(owner.ticks) == {"test-owner"}
    counted = owner.ask(lambda: (owner.stop_ticks(), len(owner.ticks))[1], if_ended=lambda: None)
    # Once stopped in a handler, the owner waits for handlers only: a handler posted afterwards
    # runs, and no tick came before it.
    assert owner.ask(lambda: len(owner.ticks), if_ended=lambda: None) == counted


def test_after_the_last_handler_questions_are_answered_by_the_fallback(owner):
    owner.post(owner.end)
    eventually(lambda: not owner.alive, 5, "the owner ends")
    assert owner.ask(lambda: "owner", if_ended=lambda: "fallback") == "fallback"
