"""WAV files: read and write PCM audio with the standard library's `wave` (no extra dependency).

Samples come back as float32 in [-1, 1), shape (frames,) for mono or (frames, channels). Files that are
not PCM (float or compressed WAV) or that end before the frames their header announces get a clear error
naming the file.
"""

from __future__ import annotations

import os
import wave
from typing import Any

import numpy as np

_DTYPES = {1: np.uint8, 2: np.int16, 4: np.int32}


def _fail(path: Any, why: str) -> ValueError:
    return ValueError(f"WAV file {os.fspath(path)!r}: {why}")


def read_wav(path: str | os.PathLike[str]) -> tuple[int, np.ndarray]:
    """(sampling rate, samples) of a PCM WAV file; samples float32 in [-1, 1).

    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "a.wav")
    >>> write_wav(p, 8000, np.zeros(10))
    >>> rate, x = read_wav(p)
    >>> rate, x.shape
    (8000, (10,))
    """
    try:
        with wave.open(os.fspath(path), "rb") as f:
            rate, channels, width, n = f.getframerate(), f.getnchannels(), f.getsampwidth(), f.getnframes()
            raw = f.readframes(n)
    except wave.Error as e:
        if "unknown format" in str(e):
            raise _fail(path, f"not PCM ({e}); only integer PCM WAV is supported — convert float or "
                              f"compressed audio first") from None
        raise _fail(path, f"not a readable WAV file ({e})") from None
    except EOFError:
        raise _fail(path, "truncated: it ends inside its header") from None
    expected = n * channels * width
    if len(raw) < expected:
        raise _fail(path, f"truncated: the header announces {n} frames ({expected} bytes) but only "
                          f"{len(raw)} bytes of samples follow")
    if width == 3:  # 24-bit: widen each sample to 4 bytes
        b = np.frombuffer(raw, np.uint8).reshape(-1, 3)
        data = (b[:, 0].astype(np.int32) | (b[:, 1].astype(np.int32) << 8) | (b[:, 2].astype(np.int32) << 16))
        data = np.where(data >= 1 << 23, data - (1 << 24), data).astype(np.float32) / (1 << 23)
    elif width in _DTYPES:
        data = np.frombuffer(raw, _DTYPES[width]).astype(np.float32)
        data = (data - 128) / 128 if width == 1 else data / float(1 << (8 * width - 1))
    else:
        raise _fail(path, f"unsupported sample width of {width} bytes")
    data = data.reshape(-1, channels)
    return rate, (data[:, 0] if channels == 1 else data).astype(np.float32)


def write_wav(path: str | os.PathLike[str], rate: int, samples: Any) -> None:
    """Write samples in [-1, 1] ((frames,) or (frames, channels)) as a 16-bit PCM WAV file."""
    x = np.asarray(samples, dtype=np.float64)
    if x.ndim not in (1, 2):
        raise ValueError(f"write_wav: samples must have shape (frames,) or (frames, channels), got {x.shape}")
    if int(rate) <= 0:
        raise ValueError(f"write_wav: the sampling rate must be positive, got {rate}")
    pcm = np.clip(np.round(x * 32767), -32768, 32767).astype("<i2")
    with wave.open(os.fspath(path), "wb") as f:
        f.setnchannels(1 if x.ndim == 1 else x.shape[1])
        f.setsampwidth(2)
        f.setframerate(int(rate))
        f.writeframes(pcm.tobytes())
