"""Audio: WAV files (standard-library `wave`), spectrograms and log-mel spectrograms (scipy.signal when
installed, NumPy otherwise). The `Spectrogram`/`MelSpectrogram` layers live in `neurona.layers`."""

from .features import (
    hz_to_mel,
    log_mel_spectrogram,
    mel_filterbank,
    mel_to_hz,
    power_to_db,
    spectrogram,
    window_values,
)
from .wav import read_wav, write_wav

__all__ = ["hz_to_mel", "log_mel_spectrogram", "mel_filterbank", "mel_to_hz", "power_to_db", "read_wav",
           "spectrogram", "window_values", "write_wav"]
