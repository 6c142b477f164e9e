"""Position / wait announcements and the in-queue callback offer, on the virtual clock."""

from __future__ import annotations

from appliance.clock import VirtualClock
from appliance.ivr.announce import (
    Announcement,
    AnnouncePolicy,
    CallbackAccepted,
    CallbackOffer,
    QueueAnnouncer,
    QueueStatus,
    announcement_texts,
    estimate_wait,
)


class Queue:
    """The ACD's view of one caller, changed by the test as time goes by."""

    def __init__(self, position: int, wait: float | None) -> None:
        self.state: QueueStatus | None = QueueStatus(position, wait)

    def __call__(self) -> QueueStatus | None:
        return self.state


def make(clock, queue, language="en", allowed=True, **policy):
    events: list[tuple[float, object]] = []
    announcer = QueueAnnouncer(clock, AnnouncePolicy(**policy), language, queue,
                               lambda e: events.append((clock.monotonic(), e)), allowed)
    announcer.start()
    return announcer, events


def said(events) -> list[tuple[float, list[str]]]:
    return [(t, [p.text for p in e.prompts]) for t, e in events if isinstance(e, Announcement)]


def test_entry_announcement_in_both_languages(clock: VirtualClock) -> None:
    _a, events = make(clock, Queue(3, 150), callback_first_after=0)
    assert said(events) == [(0.0, ["You are third in line.",
                                   "The expected wait is about three minutes."])]
    _a, events = make(clock, Queue(2, 21 * 60 - 5), language="ru", callback_first_after=0)
    assert said(events) == [(0.0, ["Ваш звонок второй в очереди.",
                                   "Ожидание займёт примерно двадцать одну минуту."])]


def test_periodic_only_when_changed(clock: VirtualClock) -> None:
    queue = Queue(3, 150)
    _a, events = make(clock, queue, every_seconds=60, callback_first_after=0)
    clock.advance(30)
    queue.state = QueueStatus(2, 100)
    clock.advance(60)  # t=60: changed -> said
    clock.advance(60)  # t=120: same -> quiet
    queue.state = QueueStatus(1, 40)
    clock.advance(60)  # t=180
    assert [t for t, _ in said(events)] == [0.0, 60.0, 180.0]
    assert said(events)[-1][1] == ["You are first in line.",
                                   "The expected wait is less than a minute."]


def test_minimum_gap_and_always_mode(clock: VirtualClock) -> None:
    queue = Queue(9, None)

    def move() -> None:
        queue.state = QueueStatus(queue.state.position - 1, None)
        clock.call_later(20, move)

    clock.call_later(19, move)
    _a, events = make(clock, queue, every_seconds=20, min_gap_seconds=50, callback_first_after=0)
    clock.advance(130)
    assert [t for t, _ in said(events)] == [0.0, 60.0, 120.0]
    assert said(events)[0][1] == ["You are ninth in line."]  # wait unknown: not promised

    steady = VirtualClock()
    _a, events = make(steady, Queue(4, 200), every_seconds=30, min_gap_seconds=0,
                      only_when_changed=False, callback_first_after=0)
    steady.advance(95)
    assert [t for t, _ in said(events)] == [0.0, 30.0, 60.0, 90.0]


def test_callback_offer_and_acceptance(clock: VirtualClock) -> None:
    queue = Queue(5, 400)
    announcer, events = make(clock, queue, every_seconds=60, callback_first_after=45,
                             callback_every_seconds=120)
    clock.advance(10)
    assert announcer.dtmf("1") is False  # not offered yet: the key is not ours
    clock.advance(40)
    offers = [(t, e) for t, e in events if isinstance(e, CallbackOffer)]
    assert [t for t, _ in offers] == [45.0]
    assert offers[0][1].prompt.text == "To be called back without losing your place, press 1."
    assert announcer.dtmf("2") is False
    queue.state = QueueStatus(4, 300)
    assert announcer.dtmf("1") is True
    assert events[-1][1] == CallbackAccepted(4)
    assert clock.pending() == 0  # nothing more will be said
    assert announcer.dtmf("1") is False


def test_offer_keeps_its_distance_from_an_announcement(clock: VirtualClock) -> None:
    queue = Queue(5, 400)
    clock.call_later(59, lambda: setattr(queue, "state", QueueStatus(4, 300)))
    _a, events = make(clock, queue, every_seconds=60, callback_first_after=62,
                      callback_every_seconds=0)
    clock.advance(300)
    kinds = [(t, type(e).__name__) for t, e in events]
    assert kinds == [(0.0, "Announcement"), (60.0, "Announcement"), (68.0, "CallbackOffer")]


def test_no_offer_when_callbacks_are_off_and_nothing_after_stop(clock: VirtualClock) -> None:
    queue = Queue(2, 100)
    announcer, events = make(clock, queue, allowed=False, every_seconds=60)
    clock.advance(500)
    assert not any(isinstance(e, CallbackOffer) for _, e in events)
    assert announcer.dtmf("1") is False
    announcer.stop()
    count = len(events)
    queue.state = QueueStatus(1, 10)
    clock.advance(500)
    assert len(events) == count


def test_caller_no_longer_in_queue_hears_nothing(clock: VirtualClock) -> None:
    queue = Queue(2, 100)
    queue.state = None
    _a, events = make(clock, queue, callback_first_after=0)
    clock.advance(300)
    assert events == []


def test_estimate_wait() -> None:
    assert estimate_wait(1, 180, 1) == 90
    assert estimate_wait(4, 180, 2) == 315
    assert estimate_wait(3, 120, 0) == 300  # nobody logged in: count one, not infinity


def test_warm_up_list_covers_what_the_announcer_says(clock: VirtualClock) -> None:
    texts = set(announcement_texts("ru", max_position=5, max_minutes=10))
    assert len(texts) == 5 + 1 + 10 + 1
    queue = Queue(5, 9 * 60)
    _a, events = make(clock, queue, language="ru", every_seconds=30, min_gap_seconds=0,
                      callback_first_after=40, callback_every_seconds=0)
    for position in (4, 3, 2, 1):
        clock.advance(30)
        queue.state = QueueStatus(position, position * 60 - 30)
    spoken = [p.text for _, e in events if isinstance(e, Announcement) for p in e.prompts]
    spoken += [e.prompt.text for _, e in events if isinstance(e, CallbackOffer)]
    assert spoken and set(spoken) <= texts
