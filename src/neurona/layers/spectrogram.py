"""Spectrogram and MelSpectrogram: audio preprocessing layers, (batch, samples) -> (batch, frames, bins).

The short-time Fourier transform is written as matmuls with fixed cosine and sine matrices on windowed
frames, so the layers run inside a model (and pass gradients back to their input) like any other layer.
They equal `neurona.audio.spectrogram` / `log_mel_spectrogram`, which use scipy.signal.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import ops
from ..audio.features import frame_count, mel_filterbank, window_values
from .base import InputSpec, Layer


class Spectrogram(Layer):
    """Power (mag_exp=2) or magnitude (1) spectrogram of each frame: output (batch, frames, fft_length//2+1).

    Input (batch, samples) or (batch, samples, 1). Frames of `fft_length` samples every `sequence_stride`,
    no padding, a periodic 'hann' window by default.

    >>> import numpy as np
    >>> Spectrogram(fft_length=64, sequence_stride=32)(np.zeros((2, 256), dtype="float32")).shape
    (2, 7, 33)
    """

    def __init__(self, fft_length: int = 512, sequence_stride: int = 128, window: str | None = "hann",
                 mag_exp: float = 2.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        for what, v in (("fft_length", fft_length), ("sequence_stride", sequence_stride)):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v <= 0:
                raise ValueError(f"{type(self).__name__} '{self.name}': {what} must be a positive integer, got {v!r}")
        if mag_exp not in (1, 1.0, 2, 2.0):
            raise ValueError(f"{type(self).__name__} '{self.name}': mag_exp must be 1 or 2, got {mag_exp!r}")
        self.fft_length, self.sequence_stride = int(fft_length), int(sequence_stride)
        self.window = window
        self.mag_exp = float(mag_exp)
        self._win = window_values(window, self.fft_length)  # raises on an unknown window
        self.input_spec = InputSpec(min_ndim=2, max_ndim=3, hint="(batch, samples)")

    def _samples(self, inputs):
        if inputs.ndim == 3:
            if inputs.shape[2] != 1:
                raise ValueError(f"{type(self).__name__} '{self.name}' takes mono audio (batch, samples) or "
                                 f"(batch, samples, 1), got shape {tuple(inputs.shape)}")
            inputs = ops.reshape(inputs, inputs.shape[:2])
        if inputs.shape[1] < self.fft_length:
            raise ValueError(f"{type(self).__name__} '{self.name}': inputs of shape {tuple(inputs.shape)} are "
                             f"shorter than fft_length={self.fft_length}")
        return inputs

    def _power(self, inputs):
        x = self._samples(inputs)
        n = frame_count(x.shape[1], self.fft_length, self.sequence_stride)
        idx = np.arange(self.fft_length) + self.sequence_stride * np.arange(n)[:, None]
        frames = ops.getitem(x, (slice(None), idx))  # (batch, frames, fft_length)
        k = np.arange(self.fft_length // 2 + 1)
        angle = 2 * np.pi * np.outer(np.arange(self.fft_length), k) / self.fft_length
        dtype = frames.dtype
        cos = (np.cos(angle) * self._win[:, None]).astype(dtype)
        sin = (np.sin(angle) * self._win[:, None]).astype(dtype)
        return ops.square(ops.matmul(frames, cos)) + ops.square(ops.matmul(frames, sin))

    def call(self, inputs, training=False):
        power = self._power(inputs)
        if self.mag_exp == 1.0:
            return ops.sqrt(ops.maximum(power, np.asarray(1e-12, power.dtype)))
        return power

    def compute_output_shape(self, input_shape):
        n = input_shape[1]
        frames = None if n is None else frame_count(n, self.fft_length, self.sequence_stride)
        return (input_shape[0], frames, self.fft_length // 2 + 1)

    def get_config(self):
        return {**super().get_config(), "fft_length": self.fft_length, "sequence_stride": self.sequence_stride,
                "window": self.window, "mag_exp": self.mag_exp}


class MelSpectrogram(Spectrogram):
    """Mel-scale power spectrogram, in decibels with `power_to_db`: output (batch, frames, num_mel_bins).

    >>> import numpy as np
    >>> MelSpectrogram(fft_length=64, sequence_stride=32, num_mel_bins=8, sampling_rate=8000)(
    ...     np.zeros((2, 256), dtype="float32")).shape
    (2, 7, 8)
    """

    def __init__(self, fft_length: int = 2048, sequence_stride: int = 512, window: str | None = "hann",
                 sampling_rate: int = 16000, num_mel_bins: int = 128, min_freq: float = 20.0,
                 max_freq: float | None = None, power_to_db: bool = True, top_db: float | None = 80.0,
                 min_power: float = 1e-10, ref_power: float = 1.0, **kwargs: Any) -> None:
        super().__init__(fft_length, sequence_stride, window, 2.0, **kwargs)
        self.sampling_rate, self.num_mel_bins = int(sampling_rate), int(num_mel_bins)
        self.min_freq, self.max_freq = float(min_freq), None if max_freq is None else float(max_freq)
        self.power_to_db, self.top_db = bool(power_to_db), None if top_db is None else float(top_db)
        self.min_power, self.ref_power = float(min_power), float(ref_power)
        try:
            self._bank = mel_filterbank(self.num_mel_bins, self.fft_length, self.sampling_rate, self.min_freq,
                                        self.max_freq)
        except ValueError as e:
            raise ValueError(f"MelSpectrogram '{self.name}': {e}") from None

    def call(self, inputs, training=False):
        power = self._power(inputs)
        mel = ops.matmul(power, self._bank.astype(power.dtype))
        if not self.power_to_db:
            return mel
        floor = np.asarray(self.min_power, mel.dtype)
        db = ops.log(ops.maximum(mel, floor) / np.asarray(self.ref_power, mel.dtype)) * \
            np.asarray(10 / np.log(10), mel.dtype)
        if self.top_db is None:
            return db
        peak = ops.max(ops.max(db, axis=2, keepdims=True), axis=1, keepdims=True)
        return ops.maximum(db, peak - np.asarray(self.top_db, mel.dtype))

    def compute_output_shape(self, input_shape):
        return super().compute_output_shape(input_shape)[:2] + (self.num_mel_bins,)

    def get_config(self):
        config = super().get_config()
        config.pop("mag_exp")
        return {**config, "sampling_rate": self.sampling_rate, "num_mel_bins": self.num_mel_bins,
                "min_freq": self.min_freq, "max_freq": self.max_freq, "power_to_db": self.power_to_db,
                "top_db": self.top_db, "min_power": self.min_power, "ref_power": self.ref_power}


__all__ = ["MelSpectrogram", "Spectrogram"]
