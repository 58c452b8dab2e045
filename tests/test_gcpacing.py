"""The collector's pace: slower for a run, off for a stage, restored after, even on failure."""

from __future__ import annotations

import gc

import pytest

from techwatch.gcpacing import YOUNG_THRESHOLD, collecting_less, paused


@pytest.fixture
def default_pace():
    before = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    yield
    gc.set_threshold(*before)


def test_slower_inside_and_restored_after(default_pace: None) -> None:
    with collecting_less():
        assert gc.get_threshold() == (YOUNG_THRESHOLD, 10, 10)
        assert gc.isenabled()
    assert gc.get_threshold() == (700, 10, 10)


def test_restored_when_the_run_fails(default_pace: None) -> None:
    with pytest.raises(RuntimeError), collecting_less():
        raise RuntimeError("stage failed")
    assert gc.get_threshold() == (700, 10, 10)


def test_a_slower_pace_set_before_is_kept(default_pace: None) -> None:
    gc.set_threshold(YOUNG_THRESHOLD * 2, 5, 5)
    with collecting_less():
        assert gc.get_threshold() == (YOUNG_THRESHOLD * 2, 5, 5)
    assert gc.get_threshold() == (YOUNG_THRESHOLD * 2, 5, 5)


def test_cycles_are_still_collected_inside(default_pace: None) -> None:
    class Node:
        pass

    collected: list[int] = []

    def on_gc(phase: str, info: dict[str, int]) -> None:
        if phase == "stop":
            collected.append(info["collected"])

    gc.callbacks.append(on_gc)
    try:
        with collecting_less():
            for _ in range(YOUNG_THRESHOLD * 2):
                node = Node()
                node.self = node  # a cycle: only the collector frees it
    finally:
        gc.callbacks.remove(on_gc)
    assert sum(collected) > 0


def test_paused_turns_the_collector_off_inside_and_on_again_after() -> None:
    assert gc.isenabled()
    with paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_paused_turns_it_on_again_after_an_error() -> None:
    with pytest.raises(ValueError), paused():
        raise ValueError
    assert gc.isenabled()


def test_paused_leaves_a_collector_already_off_off() -> None:
    gc.disable()
    try:
        with paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
