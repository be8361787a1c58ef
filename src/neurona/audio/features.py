"""Spectrograms and log-mel spectrograms of audio, as NumPy arrays (scipy.signal when installed).

A spectrogram cuts the signal into overlapping windowed frames and takes each frame's power spectrum; a
mel spectrogram sums that power with triangular filters spaced evenly on the mel scale (closer to how we
hear pitch), and the log (decibels) compresses its range. Outputs are (frames, bins), time first, which is
what a CNN or an LSTM takes.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def hz_to_mel(f: Any) -> np.ndarray:
    """The HTK mel scale: 2595 log10(1 + f / 700)."""
    return 2595.0 * np.log10(1.0 + np.asarray(f, dtype=np.float64) / 700.0)


def mel_to_hz(m: Any) -> np.ndarray:
    return 700.0 * (10.0 ** (np.asarray(m, dtype=np.float64) / 2595.0) - 1.0)


def mel_filterbank(num_mel_bins: int, fft_length: int, sampling_rate: int, min_freq: float = 20.0,
                   max_freq: float | None = None) -> np.ndarray:
    """(fft_length // 2 + 1, num_mel_bins) triangular filters on the mel scale (peak 1, HTK scale)."""
    max_freq = sampling_rate / 2 if max_freq is None else float(max_freq)
    if not 0 <= min_freq < max_freq <= sampling_rate / 2:
        raise ValueError(f"mel_filterbank: need 0 <= min_freq < max_freq <= sampling_rate / 2, got min_freq="
                         f"{min_freq}, max_freq={max_freq}, sampling_rate={sampling_rate}")
    freqs = np.linspace(0, sampling_rate / 2, fft_length // 2 + 1)
    edges = mel_to_hz(np.linspace(hz_to_mel(min_freq), hz_to_mel(max_freq), num_mel_bins + 2))
    lo, mid, hi = edges[:-2], edges[1:-1], edges[2:]
    up = (freqs[:, None] - lo) / np.maximum(mid - lo, 1e-10)
    down = (hi - freqs[:, None]) / np.maximum(hi - mid, 1e-10)
    return np.maximum(0.0, np.minimum(up, down))


def _check_signal(x: Any, fft_length: int, where: str) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim < 1 or x.shape[-1] < fft_length:
        raise ValueError(f"{where}: the signal needs at least fft_length={fft_length} samples on its last axis, "
                         f"got shape {x.shape}")
    return x


def frame_count(n: int, fft_length: int, stride: int) -> int:
    return 1 + (n - fft_length) // stride


def spectrogram(x: Any, fft_length: int = 512, sequence_stride: int = 128, window: str = "hann",
                mag_exp: float = 2.0) -> np.ndarray:
    """|STFT|^mag_exp of frames without padding: (..., frames, fft_length // 2 + 1)."""
    x = _check_signal(x, fft_length, "spectrogram").astype(np.float64)
    n = frame_count(x.shape[-1], fft_length, sequence_stride)
    try:
        from scipy import signal
    except ImportError:  # NumPy fallback: the same frames and window
        idx = np.arange(fft_length) + sequence_stride * np.arange(n)[:, None]
        spec = np.abs(np.fft.rfft(x[..., idx] * window_values(window, fft_length), axis=-1))
    else:
        _, _, z = signal.stft(x, window=window, nperseg=fft_length, noverlap=fft_length - sequence_stride,
                              boundary=None, padded=False, scaling="spectrum", detrend=False)
        # scaling="spectrum" divides by the window's sum; undo it to get the plain DFT magnitude.
        spec = np.abs(np.moveaxis(z, -1, -2)) * window_values(window, fft_length).sum()
    return (spec ** mag_exp)[..., :n, :].astype(np.float32)


def window_values(window: str | None, n: int) -> np.ndarray:
    """A periodic window of n samples ('hann', 'hamming' or None for rectangular), as scipy.signal makes it."""
    if window is None:
        return np.ones(n)
    k = np.arange(n)
    if window == "hann":
        return 0.5 - 0.5 * np.cos(2 * np.pi * k / n)
    if window == "hamming":
        return 0.54 - 0.46 * np.cos(2 * np.pi * k / n)
    raise ValueError(f"window must be 'hann', 'hamming' or None, got {window!r}")


def power_to_db(power: Any, ref_power: float = 1.0, min_power: float = 1e-10, top_db: float | None = 80.0
                ) -> np.ndarray:
    """10 log10(power / ref_power), floored at min_power and, with top_db, at (max - top_db) per example."""
    db = 10.0 * np.log10(np.maximum(np.asarray(power, dtype=np.float64), min_power) / ref_power)
    if top_db is not None:
        peak = db.max(axis=(-2, -1), keepdims=True)
        db = np.maximum(db, peak - top_db)
    return db.astype(np.float32)


def log_mel_spectrogram(x: Any, sampling_rate: int = 16000, fft_length: int = 512, sequence_stride: int = 128,
                        num_mel_bins: int = 64, min_freq: float = 20.0, max_freq: float | None = None,
                        window: str = "hann", top_db: float | None = 80.0) -> np.ndarray:
    """Log-mel power spectrogram in decibels: (..., frames, num_mel_bins).

    >>> t = np.arange(8000) / 8000
    >>> log_mel_spectrogram(np.sin(2 * np.pi * 440 * t), 8000, num_mel_bins=16).shape
    (59, 16)
    """
    power = spectrogram(x, fft_length, sequence_stride, window)
    mel = power @ mel_filterbank(num_mel_bins, fft_length, sampling_rate, min_freq, max_freq).astype(np.float32)
    return power_to_db(mel, top_db=top_db)
