"""Is the baby crying? (deck 001's audio example): sounds generated as audio, saved as WAV files, turned
into log-mel spectrograms and classified by a small CNN.

Three kinds of half-second clips at 8 kHz: cries (pitched harmonic bursts, 350-600 Hz with vibrato), noise
(white or rumbling, with a random loudness curve) and speech-like sounds (a low voice, 90-220 Hz, shaped by
vowel formants that change every syllable). The clips go through real WAV files (`neurona.audio.write_wav`
/ `read_wav`), as a recording would.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from ..i18n import N_, _
from . import _common as c

RATE, SECONDS = 8000, 0.5
CLASSES = (N_("cry"), N_("noise"), N_("speech"))
_VOWELS = ((700, 1200), (400, 2000), (300, 900), (500, 1700), (350, 2300))  # (F1, F2) in Hz


def _envelope(n: int, rng: np.random.Generator, bursts: int) -> np.ndarray:
    env = np.zeros(n)
    for _k in range(bursts):
        start, length = rng.integers(0, n // 2), rng.integers(n // 4, n // 2)
        t = np.arange(length) / length
        env[start:start + length] += np.sin(np.pi * t)[: n - start]
    return np.minimum(env, 1.0)


def cry(rng: np.random.Generator) -> np.ndarray:
    t = np.arange(int(RATE * SECONDS)) / RATE
    f0 = rng.uniform(350, 600) * (1 + 0.1 * t + 0.03 * np.sin(2 * np.pi * rng.uniform(4, 7) * t))
    phase = 2 * np.pi * np.cumsum(f0) / RATE
    tone = sum(np.sin(k * phase) / k for k in range(1, 7))
    return tone * _envelope(len(t), rng, rng.integers(1, 3)) + rng.normal(0, 0.02, len(t))


def noise(rng: np.random.Generator) -> np.ndarray:
    n = int(RATE * SECONDS)
    x = rng.normal(0, 1, n)
    if rng.random() < 0.5:  # rumbling: low-passed by a moving average
        width = int(rng.integers(4, 30))
        x = np.convolve(x, np.ones(width) / np.sqrt(width), mode="same")
    return x * (0.3 + 0.7 * _envelope(n, rng, 2))


def speech(rng: np.random.Generator) -> np.ndarray:
    n = int(RATE * SECONDS)
    t = np.arange(n) / RATE
    f0 = rng.uniform(90, 220) * (1 + 0.05 * np.sin(2 * np.pi * rng.uniform(1, 3) * t))
    phase = 2 * np.pi * np.cumsum(f0) / RATE
    syllables = int(rng.integers(2, 5))
    which = np.minimum((t / SECONDS * syllables).astype(int), syllables - 1)
    vowels = [_VOWELS[i] for i in rng.integers(0, len(_VOWELS), syllables)]
    out = np.zeros(n)
    for k in range(1, int(3500 / 90)):
        freq = k * f0
        gain = sum(1 / (1 + ((freq - np.array([v[j] for v in vowels])[which]) / 80) ** 2) for j in (0, 1))
        out += np.where(freq < 3500, gain * np.sin(k * phase), 0.0)
    gaps = np.sin(np.pi * (t / SECONDS * syllables % 1)) ** 0.5
    return out * gaps / 4 + rng.normal(0, 0.01, n)


def make_clips(per_class: int, seed: int = 0) -> tuple[list[np.ndarray], np.ndarray]:
    """`per_class` clips of each class (peak-normalised to a random loudness), and their labels."""
    rng = np.random.default_rng(seed)
    clips, labels = [], []
    for label, make in enumerate((cry, noise, speech)):
        for _k in range(per_class):
            x = make(rng)
            clips.append(x / np.abs(x).max() * rng.uniform(0.2, 0.9))
            labels.append(label)
    return clips, np.array(labels)


def features(clips: list[np.ndarray]) -> np.ndarray:
    """Log-mel spectrograms (frames, 32 mel bins, 1) of every clip, for a CNN."""
    from ..audio import log_mel_spectrogram

    return np.stack([log_mel_spectrogram(x, RATE, fft_length=256, sequence_stride=128, num_mel_bins=32)
                     for x in clips])[..., None]


def build_model(input_shape: tuple[int, int, int]) -> Any:
    from .. import layers, models

    return models.Sequential([
        layers.Input(input_shape),
        layers.Conv2D(8, 3, activation="relu"), layers.MaxPooling2D(2),
        layers.Conv2D(16, 3, activation="relu"), layers.GlobalAveragePooling2D(),
        layers.Dense(len(CLASSES), activation="softmax")])


def run(quick: bool = False, *, report: Any = None, verbose: int = 1) -> dict[str, float]:
    from ..audio import read_wav, write_wav
    from ..optimizers import Adam

    c.start(0)
    per_class, epochs = (40, 15) if quick else (250, 25)
    clips, labels = make_clips(per_class)
    with tempfile.TemporaryDirectory() as tmp:  # the clips as WAV files, read back as a recording would be
        paths = [Path(tmp) / f"clip_{i:04d}.wav" for i in range(len(clips))]
        for p, x in zip(paths, clips):
            write_wav(p, RATE, x)
        clips = [read_wav(p)[1] for p in paths]
    x = features(clips)
    x = (x - x.mean()) / x.std()
    order = np.random.default_rng(1).permutation(len(x))
    x, labels = x[order], labels[order]
    split = int(len(x) * 0.75)
    c.say(verbose, _("{n} clips of {s} s ({k} per class), log-mel spectrograms of shape {shape}").format(
        n=len(x), s=SECONDS, k=per_class, shape=x.shape[1:]))

    model = build_model(x.shape[1:])
    model.compile(optimizer=Adam(0.01), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x[:split], labels[:split], batch_size=32, epochs=epochs, **c.fit_options(epochs, verbose))
    predicted = model.predict(x[split:], verbose=0).argmax(axis=1)
    acc = float(np.mean(predicted == labels[split:]))
    c.say(verbose, _("Held-out accuracy: {acc:.3f}").format(acc=acc))
    metrics = {"test_accuracy": acc}

    sec = c.section(report, "baby-cry")
    if sec is not None:
        names = [_(n) for n in CLASSES]
        c.metrics_table(sec, metrics)
        c.add_history(sec, history)
        c.add_confusion(sec, labels[split:], predicted, names)
        examples = [x[np.flatnonzero(labels == k)[0], :, :, 0] for k in range(len(CLASSES))]
        sec.plot(_spectrograms, examples, names, caption=_("One log-mel spectrogram of each kind of sound"))
    return metrics


def _spectrograms(images: list[np.ndarray], names: list[str]) -> Any:
    from ..plot._base import figure

    fig = figure((8, 2.8))
    for i, (img, name) in enumerate(zip(images, names)):
        ax = fig.add_subplot(1, len(images), i + 1)
        ax.imshow(img.T, origin="lower", aspect="auto", cmap="magma")
        ax.set_title(name)
        ax.set_xlabel(_("frame"))
    return fig
