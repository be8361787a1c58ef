"""neurona.datasets: embedded data, synthetic labs, and the Keras loaders on tiny files the tests write."""

from __future__ import annotations

import gzip
import io
import tarfile
from pathlib import Path

import numpy as np
import pytest

from neurona.datasets import (
    DatasetError,
    _files,
    cifar10,
    cifar100,
    data_home,
    digits,
    fashion_mnist,
    mnist,
    synthetic,
    wine,
)


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch) -> Path:
    """Every test gets an empty cache and no Keras cache (HOME points at an empty folder)."""
    monkeypatch.setenv("NEURONA_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    monkeypatch.delenv("NEURONA_OFFLINE", raising=False)
    return tmp_path / "home" / "datasets"


# ----------------------------------------------------------------------------- embedded data
def test_wine_matches_the_uci_data():
    x, y = wine.load(dtype="float64")
    assert x.shape == (178, 13) and y.shape == (178,) and y.dtype == np.uint8
    assert np.bincount(y).tolist() == [59, 71, 48]
    assert x[0, :3].tolist() == [14.23, 1.71, 2.43] and x[0, 12] == 1065  # first row of the UCI file
    sk = pytest.importorskip("sklearn.datasets").load_wine()
    np.testing.assert_array_equal(x, sk.data)
    np.testing.assert_array_equal(y, sk.target)


def test_wine_split_is_stratified_seeded_and_a_partition():
    (xa, ya), (xb, yb) = wine.load_data(test_size=0.2, seed=0)
    assert xa.dtype == np.float32 and len(xb) == 36 and len(xa) == 142
    assert np.bincount(yb).tolist() == [12, 14, 10]  # 59/71/48 * 36/178, largest remainders
    (xa2, ya2), (xb2, yb2) = wine.load_data(test_size=0.2, seed=0)
    np.testing.assert_array_equal(xb, xb2)
    (_, _), (xb3, _) = wine.load_data(test_size=0.2, seed=1)
    assert not np.array_equal(xb, xb3)
    x, _ = wine.load()
    rows = np.concatenate([xa, xb])
    np.testing.assert_array_equal(np.sort(rows, axis=0), np.sort(x, axis=0))


def test_digits_matches_sklearn_and_upscales_like_pillow():
    x, y = digits.load()
    assert x.shape == (1797, 8, 8) and x.dtype == np.uint8 and x.max() == 16 and y.dtype == np.uint8
    sk = pytest.importorskip("sklearn.datasets").load_digits()
    np.testing.assert_array_equal(x, sk.images)
    np.testing.assert_array_equal(y, sk.target)
    big, _ = digits.load(size=28)
    assert big.shape == (1797, 28, 28) and big.dtype == np.uint8 and big.max() == 255
    Image = pytest.importorskip("PIL.Image")
    for i in (0, 1, 500):
        ref = Image.fromarray(x[i].astype(np.float32) * (255 / 16), mode="F").resize((28, 28), Image.BILINEAR)
        np.testing.assert_array_equal(big[i], np.clip(np.rint(np.asarray(ref)), 0, 255))


def test_digits_load_data_like_mnist():
    (x_train, y_train), (x_test, y_test) = digits.load_data(size=28)
    assert x_train.shape == (1437, 28, 28) and x_test.shape == (360, 28, 28)
    assert x_train.dtype == np.uint8 and y_train.dtype == np.uint8
    assert set(np.unique(y_test)) == set(range(10))
    (_, _), (x_test2, _) = digits.load_data(size=28)
    np.testing.assert_array_equal(x_test, x_test2)
    with pytest.raises(ValueError, match="size"):
        digits.load(size=0)


# ----------------------------------------------------------------------------- synthetic
def test_sum_pairs_and_product4():
    x, y = synthetic.sum_pairs(50, seed=3)
    assert x.shape == (50, 2) and y.shape == (50, 1) and x.dtype == np.float32
    np.testing.assert_array_equal(y[:, 0], x[:, 0] + x[:, 1])
    assert np.all(x == np.round(x)) and x.min() >= -10 and x.max() <= 20
    np.testing.assert_array_equal(x, synthetic.sum_pairs(50, seed=3)[0])
    assert not np.array_equal(x, synthetic.sum_pairs(50, seed=4)[0])
    x4, y4 = synthetic.product4(20, seed=0)
    np.testing.assert_allclose(y4[:, 0], np.prod(x4.astype(np.float64), axis=1), rtol=1e-6)
    with pytest.raises(ValueError, match="positive"):
        synthetic.sum_pairs(0)


def test_classification_toys():
    x, y = synthetic.logic_gate("xor")
    assert y.tolist() == [0, 1, 1, 0] and x.shape == (4, 2)
    with pytest.raises(ValueError, match="unknown gate"):
        synthetic.logic_gate("maybe")
    for fn in (synthetic.moons, synthetic.xor, synthetic.blobs):
        a, b = fn(101, seed=1)
        assert a.shape == (101, 2) and b.shape == (101,) and a.dtype == np.float32
        assert set(np.unique(b)) == {0, 1}
        np.testing.assert_array_equal(a, fn(101, seed=1)[0])
    x, y = synthetic.xor(200, noise=0.0, seed=0)
    np.testing.assert_array_equal(y, np.logical_xor(x[:, 0] > 0.5, x[:, 1] > 0.5))
    x, y = synthetic.blobs(90, centers=np.array([[0.0, 0.0], [10.0, 10.0], [-10.0, 10.0]]), std=0.1)
    assert np.bincount(y).tolist() == [30, 30, 30]


def test_sine_waves_and_shapes():
    x, y = synthetic.sine_waves(8, timesteps=20, noise=0.0, seed=0)
    assert x.shape == (8, 20, 1) and y.shape == (8, 1)
    assert np.abs(x).max() <= 1.0
    img, mask, label = synthetic.shapes(16, size=24, noise=0.0, seed=0)
    assert img.shape == (16, 24, 24, 1) and mask.shape == (16, 24, 24, 1) and mask.dtype == np.uint8
    # Without noise the image is bright exactly where the mask is.
    np.testing.assert_array_equal(img > 0, mask == 1)
    assert set(np.unique(label)) <= {0, 1}


# ----------------------------------------------------------------------------- file helpers
def write_idx(path: Path, array: np.ndarray, compress: bool = True) -> None:
    header = bytes([0, 0, 0x08, array.ndim]) + np.array(array.shape, ">u4").tobytes()
    data = header + array.astype(np.uint8).tobytes()
    path.write_bytes(gzip.compress(data) if compress else data)


def tiny_mnist(n_train: int = 6, n_test: int = 4, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {"x_train": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
            "y_train": rng.integers(0, 10, n_train, dtype=np.uint8),
            "x_test": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
            "y_test": rng.integers(0, 10, n_test, dtype=np.uint8)}


def write_idx_folder(folder: Path, arrays: dict[str, np.ndarray], compress: bool = True) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    names = {"x_train": "train-images-idx3-ubyte", "y_train": "train-labels-idx1-ubyte",
             "x_test": "t10k-images-idx3-ubyte", "y_test": "t10k-labels-idx1-ubyte"}
    for key, stem in names.items():
        write_idx(folder / (stem + (".gz" if compress else "")), arrays[key], compress)


def check_split(result, arrays) -> None:
    (x_train, y_train), (x_test, y_test) = result
    for got, key in ((x_train, "x_train"), (y_train, "y_train"), (x_test, "x_test"), (y_test, "y_test")):
        assert got.dtype == np.uint8
        np.testing.assert_array_equal(got, arrays[key])


# ----------------------------------------------------------------------------- MNIST-format loaders
def test_mnist_reads_a_keras_npz_from_the_cache(cache):
    arrays = tiny_mnist()
    cache.mkdir(parents=True)
    np.savez(cache / "mnist.npz", **arrays)
    result = mnist.load_data()
    check_split(result, arrays)
    assert result[0][0].shape == (6, 28, 28) and result[0][1].shape == (6,)
    check_split(mnist.load_data(path=cache / "mnist.npz"), arrays)


def test_mnist_reads_idx_files_gzipped_or_not(cache, tmp_path):
    arrays = tiny_mnist(seed=1)
    write_idx_folder(cache / "mnist", arrays)
    check_split(mnist.load_data(), arrays)
    write_idx_folder(tmp_path / "raw", arrays, compress=False)
    check_split(mnist.load_data(path=tmp_path / "raw"), arrays)
    check_split(fashion_mnist.load_data(path=tmp_path / "raw"), arrays)


def test_npz_with_pickled_object_is_refused(tmp_path):
    arrays = tiny_mnist()
    arrays["y_train"] = np.array([{"evil": 1}] * 6, dtype=object)
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(DatasetError, match="pickled object array"):
        mnist.load_data(path=tmp_path / "bad.npz")


def test_npz_missing_arrays_or_wrong_shapes(tmp_path):
    np.savez(tmp_path / "a.npz", x_train=np.zeros((2, 28, 28), np.uint8))
    with pytest.raises(DatasetError, match="lacks the arrays"):
        mnist.load_data(path=tmp_path / "a.npz")
    arrays = tiny_mnist()
    arrays["x_test"] = np.zeros((4, 27, 28), np.uint8)
    np.savez(tmp_path / "b.npz", **arrays)
    with pytest.raises(DatasetError, match="shape"):
        mnist.load_data(path=tmp_path / "b.npz")
    arrays = tiny_mnist()
    arrays["y_test"] = arrays["y_test"][:3]
    np.savez(tmp_path / "c.npz", **arrays)
    with pytest.raises(DatasetError, match="4 images but 3 labels"):
        mnist.load_data(path=tmp_path / "c.npz")
    with pytest.raises(DatasetError, match="does not exist"):
        mnist.load_data(path=tmp_path / "nothing" / "mnist.npz")


def test_corrupt_and_truncated_idx_files(tmp_path):
    arrays = tiny_mnist()
    folder = tmp_path / "idx"
    write_idx_folder(folder, arrays, compress=False)
    images = folder / "train-images-idx3-ubyte"
    full = images.read_bytes()
    images.write_bytes(full[:-100])
    with pytest.raises(DatasetError, match="truncated"):
        mnist.load_data(path=folder)
    images.write_bytes(full[:10])
    with pytest.raises(DatasetError, match="truncated: the header needs"):
        mnist.load_data(path=folder)
    images.write_bytes(b"\x01\x02" + full[2:])
    with pytest.raises(DatasetError, match="not an IDX file"):
        mnist.load_data(path=folder)
    images.write_bytes(gzip.compress(full)[:-20])  # a cut download
    with pytest.raises(DatasetError, match="gzip"):
        mnist.load_data(path=folder)
    images.write_bytes(full)
    (folder / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(DatasetError, match="lacks t10k-labels"):
        mnist.load_data(path=folder)


# ----------------------------------------------------------------------------- downloads
def test_download_checks_the_hash_and_caches(cache, tmp_path, monkeypatch):
    arrays = tiny_mnist(seed=2)
    source = tmp_path / "server" / "mnist.npz"
    source.parent.mkdir()
    np.savez(source, **arrays)
    monkeypatch.setattr(mnist, "URL", source.as_uri())
    monkeypatch.setattr(mnist, "SHA256", _files.sha256(source))
    check_split(mnist.load_data(), arrays)
    assert (cache / "mnist.npz").is_file()
    source.unlink()  # the second call reads the cache, no download
    check_split(mnist.load_data(), arrays)


def test_download_with_wrong_hash_is_deleted(cache, tmp_path, monkeypatch):
    source = tmp_path / "mnist.npz"
    np.savez(source, **tiny_mnist())
    monkeypatch.setattr(mnist, "URL", source.as_uri())
    monkeypatch.setattr(mnist, "SHA256", "0" * 64)
    with pytest.raises(DatasetError, match="SHA-256.*deleted"):
        mnist.load_data()
    assert not any(cache.iterdir())  # neither the file nor a partial download is left


def test_offline_or_failed_download_says_where_to_put_the_file(cache, tmp_path, monkeypatch):
    monkeypatch.setenv("NEURONA_OFFLINE", "1")
    with pytest.raises(DatasetError) as err:
        mnist.load_data()
    message = str(err.value)
    assert str(cache / "mnist.npz") in message and "storage.googleapis.com" in message
    monkeypatch.delenv("NEURONA_OFFLINE")
    monkeypatch.setattr(mnist, "URL", (tmp_path / "missing.npz").as_uri())
    with pytest.raises(DatasetError, match="download failed.*put it at"):
        mnist.load_data()


def test_fetch_reports_a_bad_cached_file_without_deleting_it(cache):
    cache.mkdir(parents=True)
    (cache / "file.bin").write_bytes(b"not the real thing")
    with pytest.raises(DatasetError, match="expected SHA-256"):
        _files.fetch("file.bin", "https://example.invalid/file.bin", "0" * 64)
    assert (cache / "file.bin").exists()


def test_fetch_uses_the_keras_cache_read_only(tmp_path):
    keras_copy = tmp_path / "user" / ".keras" / "datasets" / "fashion-mnist" / "f.gz"
    keras_copy.parent.mkdir(parents=True)
    keras_copy.write_bytes(b"abc")
    got = _files.fetch("f.gz", "https://example.invalid/f.gz", _files.sha256(keras_copy), subdir="fashion-mnist")
    assert got == keras_copy


def test_data_home_follows_neurona_home(tmp_path, monkeypatch):
    monkeypatch.setenv("NEURONA_HOME", str(tmp_path / "x"))
    assert data_home() == tmp_path / "x" / "datasets"


def test_fashion_mnist_downloads_its_four_files(cache, tmp_path, monkeypatch):
    arrays = tiny_mnist(seed=3)
    server = tmp_path / "server"
    write_idx_folder(server, arrays)
    monkeypatch.setattr(fashion_mnist, "KERAS_MIRROR", server.as_uri() + "/")
    monkeypatch.setattr(fashion_mnist, "SHA256", {p.name: _files.sha256(p) for p in server.iterdir()})
    check_split(fashion_mnist.load_data(), arrays)
    assert len(list((cache / "fashion-mnist").iterdir())) == 4


# ----------------------------------------------------------------------------- CIFAR
def cifar_records(n: int, labels: list[int] | np.ndarray, seed: int) -> tuple[bytes, np.ndarray]:
    """Binary CIFAR records and the channels-last images they hold."""
    rng = np.random.default_rng(seed)
    planes = rng.integers(0, 256, (n, 3, 32, 32), dtype=np.uint8)  # how the file stores them
    labels = np.asarray(labels, np.uint8).reshape(n, -1)
    return np.concatenate([labels, planes.reshape(n, -1)], axis=1).tobytes(), planes.transpose(0, 2, 3, 1)


def write_tar(path: Path, members: dict[str, bytes]) -> None:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def test_cifar10_reads_the_binary_archive_and_folder(tmp_path):
    members, images, labels = {}, [], []
    for i, name in enumerate([f"data_batch_{k}.bin" for k in range(1, 6)] + ["test_batch.bin"]):
        y = [(i + j) % 10 for j in range(3)]
        data, x = cifar_records(3, y, seed=i)
        members[f"cifar-10-batches-bin/{name}"] = data
        images.append(x)
        labels.append(y)
    write_tar(tmp_path / "cifar-10-binary.tar.gz", members)
    (x_train, y_train), (x_test, y_test) = cifar10.load_data(path=tmp_path / "cifar-10-binary.tar.gz")
    assert x_train.shape == (15, 32, 32, 3) and x_train.dtype == np.uint8
    assert y_train.shape == (15, 1) and y_train.dtype == np.uint8 and x_test.shape == (3, 32, 32, 3)
    np.testing.assert_array_equal(x_train, np.concatenate(images[:5]))
    np.testing.assert_array_equal(y_train[:, 0], np.concatenate(labels[:5]))
    np.testing.assert_array_equal(x_test, images[5])
    folder = tmp_path / "cifar-10-batches-bin"
    folder.mkdir()
    for name, data in members.items():
        (folder / Path(name).name).write_bytes(data)
    np.testing.assert_array_equal(cifar10.load_data(path=folder)[1][0], images[5])


def test_cifar_errors(tmp_path):
    write_tar(tmp_path / "python.tar.gz", {"cifar-10-batches-py/data_batch_1": b"pickle"})
    with pytest.raises(DatasetError, match="binary version"):
        cifar10.load_data(path=tmp_path / "python.tar.gz")
    folder = tmp_path / "bins"
    folder.mkdir()
    data, _ = cifar_records(2, [1, 2], seed=0)
    for name in [f"data_batch_{k}.bin" for k in range(1, 6)] + ["test_batch.bin"]:
        (folder / name).write_bytes(data)
    (folder / "test_batch.bin").write_bytes(data[:-5])
    with pytest.raises(DatasetError, match="not a whole number"):
        cifar10.load_data(path=folder)
    (folder / "test_batch.bin").write_bytes(cifar_records(1, [12], seed=1)[0])
    with pytest.raises(DatasetError, match="out of range"):
        cifar10.load_data(path=folder)
    (tmp_path / "junk.tar.gz").write_bytes(b"\x1f\x8b not really")
    with pytest.raises(DatasetError, match="tar"):
        cifar10.load_data(path=tmp_path / "junk.tar.gz")


def test_cifar100_label_modes(tmp_path):
    coarse, fine = np.array([3, 19, 0]), np.array([45, 99, 7])
    train, x = cifar_records(3, np.stack([coarse, fine], 1), seed=0)
    test, _ = cifar_records(3, np.stack([fine % 20, fine], 1), seed=1)
    write_tar(tmp_path / "c100.tar.gz", {"cifar-100-binary/train.bin": train, "cifar-100-binary/test.bin": test})
    (x_train, y_train), (_, y_test) = cifar100.load_data(path=tmp_path / "c100.tar.gz")
    np.testing.assert_array_equal(x_train, x)
    assert y_train.shape == (3, 1) and y_train[:, 0].tolist() == fine.tolist()
    (_, y_coarse), _ = cifar100.load_data("coarse", path=tmp_path / "c100.tar.gz")
    assert y_coarse[:, 0].tolist() == coarse.tolist()
    with pytest.raises(ValueError, match="label_mode"):
        cifar100.load_data("medium")


def test_cifar_download_is_hash_checked(cache, tmp_path, monkeypatch):
    members = {}
    for k, name in enumerate([f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]):
        members[f"cifar-10-batches-bin/{name}"] = cifar_records(1, [k], seed=k)[0]
    archive = tmp_path / "cifar-10-binary.tar.gz"
    write_tar(archive, members)
    monkeypatch.setattr(cifar10, "URL", archive.as_uri())
    monkeypatch.setattr(cifar10, "SHA256", _files.sha256(archive))
    (x_train, _), _ = cifar10.load_data()
    assert x_train.shape == (5, 32, 32, 3) and (cache / "cifar-10-binary.tar.gz").is_file()


def test_http_download_through_pooch(cache, tmp_path, monkeypatch):
    """The real path: an http:// URL, fetched by pooch's downloader, then hash-checked by neurona."""
    pytest.importorskip("pooch")
    import functools
    import http.server
    import threading

    served = tmp_path / "www"
    served.mkdir()
    arrays = tiny_mnist(seed=5)
    np.savez(served / "mnist.npz", **arrays)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        monkeypatch.setattr(mnist, "URL", f"http://127.0.0.1:{server.server_port}/mnist.npz")
        monkeypatch.setattr(mnist, "SHA256", _files.sha256(served / "mnist.npz"))
        check_split(mnist.load_data(), arrays)
        monkeypatch.setattr(mnist, "SHA256", "1" * 64)
        (cache / "mnist.npz").unlink()
        with pytest.raises(DatasetError, match="deleted"):
            mnist.load_data()
        assert not any(cache.iterdir())
    finally:
        server.shutdown()
        server.server_close()
