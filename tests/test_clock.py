from appliance.clock import VirtualClock


def test_timers_fire_in_order_and_only_when_due():
    clock = VirtualClock()
    fired = []
    clock.call_later(5, fired.append, "b")
    clock.call_later(1, fired.append, "a")
    clock.call_later(5, fired.append, "c")  # same instant as "b": scheduled later, runs later
    clock.advance(0.5)
    assert fired == []
    clock.advance(4.5)
    assert fired == ["a", "b", "c"]
    assert clock.monotonic() == 5


def test_cancelled_timer_never_fires_and_timers_can_schedule_timers():
    clock = VirtualClock()
    fired = []
    t = clock.call_later(1, fired.append, "x")
    t.cancel()
    clock.call_later(1, lambda: clock.call_later(1, fired.append, "chained"))
    clock.run_until_idle()
    assert fired == ["chained"]
    assert clock.monotonic() == 2
    assert clock.time() == clock.time() - clock.monotonic() + 2
