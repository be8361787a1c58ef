"""neurona.audio (WAV, spectrograms, log-mel) and the Spectrogram/MelSpectrogram layers."""

import struct
import wave

import numpy as np
import pytest

from neurona import gradcheck
from neurona.audio import log_mel_spectrogram, mel_filterbank, read_wav, spectrogram, write_wav
from neurona.audio.features import hz_to_mel, window_values
from neurona.layers import MelSpectrogram, Spectrogram

RNG = np.random.default_rng(3)


def _raw_wav(path, width, channels, frames, rate=8000):
    with wave.open(str(path), "wb") as f:
        f.setnchannels(channels)
        f.setsampwidth(width)
        f.setframerate(rate)
        f.writeframes(frames)


def test_write_then_read_16_bit_roundtrip(tmp_path):
    x = np.sin(np.linspace(0, 20, 1000)) * 0.8
    write_wav(tmp_path / "a.wav", 16000, x)
    rate, y = read_wav(tmp_path / "a.wav")
    assert rate == 16000 and y.dtype == np.float32 and y.shape == (1000,)
    np.testing.assert_allclose(y, x, atol=1e-4)  # 16-bit quantisation


def test_reads_8_24_bit_and_stereo_as_scipy_does(tmp_path):
    ints = RNG.integers(-2 ** 23, 2 ** 23, size=(50, 2))
    raw24 = b"".join(int(v).to_bytes(3, "little", signed=True) for v in ints.ravel())
    _raw_wav(tmp_path / "s24.wav", 3, 2, raw24)
    _, y = read_wav(tmp_path / "s24.wav")
    np.testing.assert_allclose(y, ints / 2 ** 23, atol=1e-7)
    u8 = RNG.integers(0, 256, size=40).astype(np.uint8)
    _raw_wav(tmp_path / "u8.wav", 1, 1, u8.tobytes())
    _, y = read_wav(tmp_path / "u8.wav")
    np.testing.assert_allclose(y, (u8.astype(float) - 128) / 128)
    wavfile = pytest.importorskip("scipy.io.wavfile")
    rate, ref = wavfile.read(tmp_path / "s24.wav")
    np.testing.assert_allclose(read_wav(tmp_path / "s24.wav")[1] * 2 ** 31, ref.astype(float), rtol=1e-6)


def test_truncated_and_non_pcm_files_get_clear_errors(tmp_path):
    write_wav(tmp_path / "ok.wav", 8000, np.zeros(1000))
    data = (tmp_path / "ok.wav").read_bytes()
    (tmp_path / "cut.wav").write_bytes(data[:-500])
    with pytest.raises(ValueError, match=r"cut\.wav.*truncated.*1000 frames"):
        read_wav(tmp_path / "cut.wav")
    (tmp_path / "head.wav").write_bytes(data[:20])
    with pytest.raises(ValueError, match=r"head\.wav"):
        read_wav(tmp_path / "head.wav")
    samples = np.zeros(10, "<f4").tobytes()  # IEEE float WAV: format tag 3
    fmt = struct.pack("<HHIIHH", 3, 1, 8000, 32000, 4, 32)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(samples)) + samples
    (tmp_path / "float.wav").write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    with pytest.raises(ValueError, match=r"float\.wav.*not PCM"):
        read_wav(tmp_path / "float.wav")
    (tmp_path / "text.wav").write_bytes(b"hello, not audio at all")
    with pytest.raises(ValueError, match=r"text\.wav.*not a readable WAV"):
        read_wav(tmp_path / "text.wav")


def test_spectrogram_equals_a_direct_dft():
    x = RNG.standard_normal(2000)
    got = spectrogram(x, fft_length=128, sequence_stride=50)
    n = 1 + (2000 - 128) // 50
    frames = np.stack([x[i * 50:i * 50 + 128] for i in range(n)]) * window_values("hann", 128)
    k = np.arange(65)
    dft = frames @ np.exp(-2j * np.pi * np.outer(np.arange(128), k) / 128)
    np.testing.assert_allclose(got, np.abs(dft) ** 2, rtol=1e-4, atol=1e-3)


def test_mel_filterbank_triangles_and_pure_tone_peak():
    bank = mel_filterbank(10, 256, 8000)
    assert bank.shape == (129, 10) and bank.min() >= 0 and bank.max() <= 1
    centers = np.argmax(bank, axis=0)
    assert np.all(np.diff(hz_to_mel(centers * 8000 / 256)) > 0)  # filters ordered by pitch
    t = np.arange(8000) / 8000
    for f_hz, expect_low in ((300, True), (3000, False)):
        mel = log_mel_spectrogram(np.sin(2 * np.pi * f_hz * t), 8000, 256, 128, 10)
        loudest = int(np.argmax(mel.mean(axis=0)))
        assert (loudest < 5) == expect_low


def test_layers_equal_the_functions_and_shapes():
    x = RNG.standard_normal((2, 3000)).astype(np.float32)
    np.testing.assert_allclose(Spectrogram(256, 100)(x).data, spectrogram(x, 256, 100), rtol=1e-4, atol=1e-3)
    layer = MelSpectrogram(256, 100, sampling_rate=8000, num_mel_bins=16)
    out = layer(x[..., None])
    np.testing.assert_allclose(out.data, log_mel_spectrogram(x, 8000, 256, 100, 16), atol=1e-3)
    assert out.shape == (2,) + layer.compute_output_shape((None, 3000, 1))[1:] == (2, 28, 16)
    assert MelSpectrogram.from_config(layer.get_config()).get_config() == layer.get_config()


def test_layer_gradchecks():
    x = RNG.standard_normal((2, 40))
    gradcheck(lambda v: Spectrogram(16, 8, dtype="float64")(v), x)
    gradcheck(lambda v: Spectrogram(16, 8, mag_exp=1, dtype="float64")(v), x)
    mel = MelSpectrogram(16, 8, sampling_rate=800, num_mel_bins=4, top_db=None, dtype="float64")
    gradcheck(lambda v: mel(v), x)


def test_layer_errors_name_the_layer():
    with pytest.raises(ValueError, match=r"spec.*shorter than fft_length=512"):
        Spectrogram(name="spec")(np.zeros((1, 100), np.float32))
    with pytest.raises(ValueError, match=r"spec2.*mono"):
        Spectrogram(64, name="spec2")(np.zeros((1, 100, 2), np.float32))
    with pytest.raises(ValueError, match=r"mel.*max_freq"):
        MelSpectrogram(sampling_rate=8000, max_freq=6000, name="mel")
