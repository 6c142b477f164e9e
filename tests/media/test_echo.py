"""Echo canceller on a simulated hybrid: ERLE after convergence, double talk, tails."""

from __future__ import annotations

import numpy as np  # a dependency in pyproject, for the echo canceller
import pytest

from appliance.media.echo import EchoCanceller

from .echo_sim import (
    FS,
    babble,
    convergence_seconds,
    echo_path,
    erle_db,
    run_line,
)


def active(signal: np.ndarray, start: float, end: float) -> slice:
    return slice(int(start * FS), int(end * FS))


@pytest.mark.parametrize(("tail_ms", "delay_ms", "loss_db"),
                         [(32, 5, 6), (64, 20, 12), (128, 100, 18)])
def test_erle_after_convergence(tail_ms, delay_ms, loss_db):
    far = babble(8, seed=tail_ms)
    ec = EchoCanceller(tail_ms=tail_ms)
    echo, d, out = run_line(ec, far, echo_path(delay_ms, loss_db, seed=tail_ms))
    seg = active(far, 4, 8)
    assert erle_db(d[seg], out[seg]) >= 20
    converged = convergence_seconds(echo, d, out)
    assert converged is not None and converged <= 4.0


def test_learns_the_echo_path():
    path = echo_path(10, 10, seed=5)
    ec = EchoCanceller(tail_ms=64)
    run_line(ec, babble(6, seed=5), path)
    learnt = ec.impulse_response[: len(path)]
    misalignment = np.sum((learnt - path) ** 2) / np.sum(path**2)
    assert 10 * np.log10(misalignment) < -20


def test_no_divergence_in_double_talk():
    far = babble(14, seed=7)
    near = np.zeros_like(far)
    near[int(7 * FS) : int(10 * FS)] = babble(3, seed=99, dbfs=-18)  # as loud as far
    ec = EchoCanceller(tail_ms=64)
    path = echo_path(15, 12, seed=7)
    echo, d, out = run_line(ec, far, path, near=near)
    before = active(far, 5, 7)
    during = active(far, 7, 10)
    after = active(far, 10, 11)
    assert erle_db(d[before], out[before]) >= 20
    # While both talk the near speech passes and the echo stays cancelled.
    assert erle_db(echo[during], out[during] - near[during]) >= 20
    # And it is still cancelled right after (the filter did not wander off).
    assert erle_db(d[after], out[after]) >= 20
    assert ec.stats.doubletalk_frames > 0


def test_near_speech_alone_passes_untouched():
    near = babble(3, seed=11)
    ec = EchoCanceller()
    _, d, out = run_line(ec, np.zeros_like(near), echo_path(5, 10), near=near)
    assert np.max(np.abs(out - d)) <= 1


def test_nlp_takes_the_residual_further_down():
    far = babble(8, seed=3)
    path = echo_path(10, 12, seed=3)
    plain = run_line(EchoCanceller(), far, path, noise_dbfs=-70)
    nlp = EchoCanceller(nlp=True)
    with_nlp = run_line(nlp, far, path, noise_dbfs=-70)
    seg = active(far, 5, 8)
    assert erle_db(with_nlp[1][seg], with_nlp[2][seg]) > erle_db(plain[1][seg], plain[2][seg]) + 6
    assert nlp.stats.nlp_frames > 0


def test_bad_arguments():
    with pytest.raises(ValueError):
        EchoCanceller(tail_ms=16)
    with pytest.raises(ValueError):
        EchoCanceller(tail_ms=256)
    with pytest.raises(ValueError):
        EchoCanceller().process(b"\x00" * 320, b"\x00" * 100)


def test_real_speech_both_ways(speech_corpus):
    """espeak-ng voices as far end and, from 8 s to 10 s, as near end too."""
    speech = np.frombuffer(speech_corpus, dtype="<i2").astype(np.float64)
    far = speech[20 * FS : 32 * FS]
    near = np.zeros_like(far)
    near[8 * FS : 10 * FS] = speech[300 * FS : 302 * FS]
    ec = EchoCanceller(tail_ms=64)
    echo, d, out = run_line(ec, far, echo_path(12, 10, seed=2), near=near)
    settled = active(far, 5, 8)
    during = active(far, 8, 10)
    after = active(far, 10, 12)
    assert erle_db(d[settled], out[settled]) >= 20
    assert erle_db(echo[during], out[during] - near[during]) >= 20
    assert erle_db(d[after], out[after]) >= 20


def test_bulk_delay_extends_reach_beyond_the_tail():
    # A modem that buffers 200 ms before the line: the echo arrives 210 ms late.
    far = babble(8, seed=21)
    ec = EchoCanceller(tail_ms=64, bulk_delay_ms=200)
    echo, d, out = run_line(ec, far, echo_path(210, 10, seed=21))
    seg = active(far, 5, 8)
    assert erle_db(d[seg], out[seg]) >= 20
    plain = run_line(EchoCanceller(tail_ms=64), far, echo_path(210, 10, seed=21))
    assert erle_db(plain[1][seg], plain[2][seg]) < 3  # out of reach without it
    with pytest.raises(ValueError):
        EchoCanceller(bulk_delay_ms=30)
