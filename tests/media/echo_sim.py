"""A simulated 2-wire line for echo canceller tests and the fxo bench: the hybrid's
echo path is a bulk delay, a dispersive decaying response and a loss, plus line noise."""

from __future__ import annotations

import numpy as np

from appliance.media.echo import EchoCanceller

FS = 8000


def echo_path(delay_ms: float, loss_db: float, seed: int = 0, length: int = 80) -> np.ndarray:
    rng = np.random.default_rng(seed)
    h = rng.standard_normal(length) * np.exp(-np.arange(length) / 12.0)
    h *= 10 ** (-loss_db / 20) / np.sqrt(np.sum(h**2))
    return np.concatenate((np.zeros(int(delay_ms * FS / 1000)), h))


def babble(seconds: float, seed: int = 0, dbfs: float = -18.0) -> np.ndarray:
    """Speech-like: low-pass coloured noise in syllable-long bursts with pauses."""
    rng = np.random.default_rng(seed)
    n = int(seconds * FS)
    white = rng.standard_normal(n + 8)
    colour = np.convolve(white, [1.0, 1.6, 1.2, 0.5, 0.1], "valid")[:n]
    envelope = np.zeros(n)
    pos = 0
    while pos < n:
        talk = int(rng.uniform(0.12, 0.35) * FS)
        envelope[pos : pos + talk] = np.hanning(talk)[: max(0, min(talk, n - pos))] ** 0.5
        pos += talk + int(rng.uniform(0.02, 0.15) * FS)
    signal = colour * envelope
    active = signal[envelope > 0.1]
    return signal * (32768 / np.sqrt(2) * 10 ** (dbfs / 20) / np.sqrt(np.mean(active**2)))


def run_line(ec: EchoCanceller, far: np.ndarray, path: np.ndarray,
             near: np.ndarray | None = None, noise_dbfs: float = -70.0, seed: int = 1):
    """Returns (echo, near-end input d, canceller output) as float arrays."""
    n = len(far) - len(far) % 160
    far = np.clip(np.rint(far[:n]), -32768, 32767)
    echo = np.convolve(far, path)[:n]
    rng = np.random.default_rng(seed)
    d = echo + rng.standard_normal(n) * 32768 / np.sqrt(2) * 10 ** (noise_dbfs / 20)
    if near is not None:
        d = d + near[:n]
    d = np.clip(np.rint(d), -32768, 32767)
    far16, d16 = far.astype("<i2"), d.astype("<i2")
    out = np.empty(n)
    for i in range(0, n, 160):
        frame = ec.process(d16[i : i + 160].tobytes(), far16[i : i + 160].tobytes())
        out[i : i + 160] = np.frombuffer(frame, dtype="<i2")
    return echo, d, out


def erle_db(echo_in: np.ndarray, residual: np.ndarray) -> float:
    return float(10 * np.log10(np.sum(echo_in**2) / max(np.sum(residual**2), 1e-9)))


def convergence_seconds(echo: np.ndarray, d: np.ndarray, out: np.ndarray,
                        target_db: float = 20.0, window: float = 0.2) -> float | None:
    """First time after which every active window's ERLE stays >= target."""
    step = int(window * FS)
    good_since = None
    for start in range(0, len(d) - step + 1, step):
        seg = slice(start, start + step)
        if np.sum(echo[seg] ** 2) < 1e-3 * np.mean(echo**2) * step:
            continue  # a pause: nothing to judge
        if erle_db(d[seg], out[seg]) >= target_db:
            good_since = start / FS if good_since is None else good_since
        else:
            good_since = None
    return good_since
