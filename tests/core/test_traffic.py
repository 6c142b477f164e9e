from appliance.clock import VirtualClock
from appliance.demo.traffic import TrafficGenerator, TrafficProfile


class Handle:
    def __init__(self, number):
        self.number = number
        self.hung_up = False
        self.pressed = []

    def hangup(self):
        self.hung_up = True

    def press(self, digit):
        self.pressed.append(digit)


def test_arrivals_follow_the_rate_and_impatient_callers_leave():
    clock = VirtualClock()
    placed = []

    def place(number):
        placed.append(Handle(number))
        return placed[-1]

    gen = TrafficGenerator(clock, place, lambda h: True,
                           TrafficProfile(calls_per_minute=6, callback_ratio=0.2), seed=3)
    gen.start()
    clock.advance(3600)
    gen.stop()
    assert 300 <= gen.placed <= 430  # 360 expected in an hour at 6 a minute
    assert gen.abandoned + gen.callbacks > 0
    assert all(h.hung_up or h.pressed == ["1"] for h in placed[:-20])
    # a number comes back only after repeat_after seconds, never while still calling
    last_seen = {}
    times = []
    clock2 = VirtualClock()
    gen2 = TrafficGenerator(clock2, lambda n: times.append((clock2.monotonic(), n)) or Handle(n),
                            lambda h: False, TrafficProfile(calls_per_minute=30,
                                                            repeat_ratio=0.5), seed=5)
    gen2.start()
    clock2.advance(1800)
    repeats = 0
    for when, number in times:
        if number in last_seen:
            repeats += 1
            assert when - last_seen[number] >= 300
        last_seen[number] = when
    assert repeats > 10
