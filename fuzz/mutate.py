"""Mutations of seed files: raw bytes, and structure-aware ones for the containers the readers parse.

Every mutation draws its choices from a `Chooser`, so the same code is driven by Python's `random`, by
hypothesis (which can then replay and shrink a choice sequence) or by atheris (whose coverage feedback
then steers the choices). A mutation never fails: when a structure-aware step cannot parse its input
(an earlier step broke it), it falls back to a byte mutation.
"""

from __future__ import annotations

import gzip
import io
import json
import random
import struct
import tarfile
import zipfile
from collections.abc import Callable
from typing import Any, Protocol

# Values that sit on the edges of the readers' arithmetic: sizes, counts, signed/unsigned wrap-around.
INTERESTING_INTS = (0, 1, 2, 7, 8, 255, 256, 1023, 1024, 4096, 65535, 65536, 2**31 - 1, 2**31, 2**32 - 1,
                    2**32, 2**48, 2**63 - 1, 2**63, 2**64 - 1)
# Values a JSON config may be fed: huge or negative sizes, wrong types, deep nesting.
JSON_VALUES: tuple[Any, ...] = (
    0, -1, 1, 10**9, 10**18, 10**30, -(10**9), 3.5, 1e308, -0.0, "", "abc", "relu", None, True, False,
    [], [0], [-1], [10**9, 10**9], [None], ["a"], {}, {"class_name": "Dense", "config": {}},
    {"class_name": "os.system", "config": {}}, [[[[[[[[[[[]]]]]]]]]]], "\udcff",
)


class Chooser(Protocol):
    """Where a mutation gets its choices: `below(n)` is an int in [0, n), `data(n)` is n bytes."""

    def below(self, n: int) -> int: ...

    def data(self, n: int) -> bytes: ...


class RandomChooser:
    """Choices from `random.Random` (the engine when neither atheris nor hypothesis is installed)."""

    def __init__(self, seed: int | None = None) -> None:
        self.rng = random.Random(seed)

    def below(self, n: int) -> int:
        return self.rng.randrange(n) if n > 1 else 0

    def data(self, n: int) -> bytes:
        return self.rng.randbytes(n)


def _pick(c: Chooser, items: Any) -> Any:
    return items[c.below(len(items))]


# ---------------------------------------------------------------------------------------------- raw bytes
def _int_bytes(c: Chooser) -> bytes:
    value = _pick(c, INTERESTING_INTS)
    width = _pick(c, (1, 2, 4, 8))
    value &= (1 << (8 * width)) - 1
    return value.to_bytes(width, _pick(c, ("little", "big")))


def mutate_bytes(data: bytes, c: Chooser, pool: list[bytes] | None = None) -> bytes:
    """One raw mutation: bit flip, interesting integer, truncation, inserted/removed/duplicated chunk, splice."""
    buf = bytearray(data)
    n = len(buf)
    op = c.below(9)
    if n == 0:
        return c.data(1 + c.below(64))
    at = c.below(n)
    if op == 0:  # flip one bit
        buf[at] ^= 1 << c.below(8)
    elif op == 1:  # one byte to an edge value
        buf[at] = _pick(c, (0, 1, 0x7F, 0x80, 0xFF))
    elif op == 2:  # an interesting integer over 1-8 bytes
        chunk = _int_bytes(c)
        buf[at:at + len(chunk)] = chunk
    elif op == 3:  # truncate
        del buf[at:]
    elif op == 4:  # insert random bytes
        buf[at:at] = c.data(1 + c.below(32))
    elif op == 5:  # remove a chunk
        del buf[at:at + 1 + c.below(max(1, n // 4))]
    elif op == 6:  # duplicate a chunk
        size = 1 + c.below(max(1, min(n - at, 256)))
        buf[at:at] = buf[at:at + size]
    elif op == 7 and pool:  # splice: our head, another seed's tail
        other = _pick(c, pool)
        buf = buf[:at] + other[c.below(max(1, len(other))):]
    else:  # overwrite a run with random bytes
        buf[at:at + 1 + c.below(16)] = c.data(1 + c.below(16))
    return bytes(buf)


# ---------------------------------------------------------------------------------------------------- JSON
def _nodes(value: Any, path: tuple = ()) -> list[tuple]:
    """Paths (tuples of keys/indices) to every node of a parsed JSON value."""
    out = [path]
    if isinstance(value, dict):
        for key, item in value.items():
            out.extend(_nodes(item, (*path, key)))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            out.extend(_nodes(item, (*path, i)))
    return out


def _get(value: Any, path: tuple) -> Any:
    for key in path:
        value = value[key]
    return value


def mutate_json_value(value: Any, c: Chooser) -> Any:
    """One structured change to a parsed JSON value: a node replaced, removed, renamed or nested deeper."""
    paths = _nodes(value)
    path = _pick(c, paths)
    op = c.below(6)
    if not path:
        return _pick(c, JSON_VALUES) if op == 0 else value
    parent, key = _get(value, path[:-1]), path[-1]
    node = parent[key]
    if op <= 1:  # replace by an edge value
        parent[key] = _pick(c, JSON_VALUES)
    elif op == 2 and isinstance(node, (int, float)) and not isinstance(node, bool):  # scale a number
        parent[key] = _pick(c, (node * 10**9, -node - 1, node + 1, 10**30, float("nan"), float("inf")))
    elif op == 3:  # remove the node
        del parent[key]
    elif op == 4 and isinstance(parent, dict):  # rename the key
        parent[_pick(c, ("", "class_name", "config", "units", "shape", "dtype", "x" * 300))] = parent.pop(key)
    else:  # nest it deeper, or turn it into a list of itself
        parent[key] = [node] * (1 + c.below(3)) if c.below(2) else {"config": node}
    return value


def mutate_json(data: bytes, c: Chooser) -> bytes:
    """Parse, apply 1-3 structured changes, dump; bytes that do not parse get a byte mutation."""
    try:
        value = json.loads(data)
    except (ValueError, RecursionError):
        return mutate_bytes(data, c)
    for _ in range(1 + c.below(3)):
        value = mutate_json_value(value, c)
    try:
        return json.dumps(value).encode("utf-8", "surrogatepass")
    except (ValueError, RecursionError):
        return mutate_bytes(data, c)


# --------------------------------------------------------------------------------------------- safetensors
def mutate_safetensors(data: bytes, c: Chooser) -> bytes:
    """Mutate the JSON header of a safetensors blob, rewriting (or, sometimes, keeping) the length field."""
    if len(data) < 8:
        return mutate_bytes(data, c)
    (n,) = struct.unpack("<Q", data[:8])
    if n > len(data) - 8:
        return mutate_bytes(data, c)
    header, rest = data[8:8 + n], data[8 + n:]
    new = mutate_json(header, c)
    length = len(new) if c.below(4) else n
    if c.below(4) == 0:
        rest = mutate_bytes(rest, c) if rest else rest
    return struct.pack("<Q", length) + new + rest


# --------------------------------------------------------------------------------------------------- zip
def _zip_members(data: bytes) -> list[tuple[str, bytes]] | None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            return [(info.filename, z.read(info)) for info in z.infolist()]
    except Exception:  # noqa: BLE001 - any failure means "no longer a zip": fall back to bytes
        return None


def _rezip(members: list[tuple[str, bytes]], c: Chooser) -> bytes:
    buffer = io.BytesIO()
    method = _pick(c, (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED))
    with zipfile.ZipFile(buffer, "w", method) as z:
        for name, content in members:
            z.writestr(name or " ", content)  # zipfile cannot write an empty name; the header mutation can
    return buffer.getvalue()


def mutate_zip(data: bytes, c: Chooser, inner: Callable[[str, bytes, Chooser], bytes]) -> bytes:
    """A member's content mutated (by `inner`, which knows the member's format) and re-zipped, a member
    renamed/dropped/duplicated, or a raw header field (sizes, method, name length) overwritten in place."""
    members = _zip_members(data)
    op = c.below(8)
    if members is None or not members or op == 7:
        return _mutate_zip_header(data, c)
    i = c.below(len(members))
    name, content = members[i]
    if op <= 3:
        members[i] = (name, inner(name, content, c))
    elif op == 4:
        members[i] = (_pick(c, ("", "../x", "/abs", "a" * 300, name + "/", name.upper(), "config.json")), content)
    elif op == 5:
        del members[i]
    else:
        members.append((name, inner(name, content, c)))  # a duplicate name
    return _rezip(members, c)


def _mutate_zip_header(data: bytes, c: Chooser) -> bytes:
    """Overwrite a field of a local or central directory header, found by its signature."""
    buf = bytearray(data)
    spots = [i for sig in (b"PK\x03\x04", b"PK\x01\x02", b"PK\x05\x06") for i in _find_all(data, sig)]
    if not spots:
        return mutate_bytes(data, c)
    at = _pick(c, spots) + 4 + c.below(42)
    chunk = _int_bytes(c)
    buf[at:at + len(chunk)] = chunk
    return bytes(buf[:len(data)])


def _find_all(data: bytes, sig: bytes) -> list[int]:
    out, start = [], 0
    while (i := data.find(sig, start)) >= 0:
        out.append(i)
        start = i + 1
    return out


# ------------------------------------------------------------------------------------------ gzip and tar
def mutate_gzip(data: bytes, c: Chooser, inner: Callable[[bytes, Chooser], bytes]) -> bytes:
    """The decompressed content mutated by `inner` and recompressed, or the compressed bytes mutated raw."""
    try:
        plain = gzip.decompress(data)
    except Exception:  # noqa: BLE001 - broken by an earlier step
        return mutate_bytes(data, c)
    if c.below(4) == 0:
        return mutate_bytes(data, c)
    return gzip.compress(inner(plain, c), compresslevel=1, mtime=0)


def mutate_tar(data: bytes, c: Chooser) -> bytes:
    """Rebuild a (gzipped) tar with a member's content mutated, its type turned into a link/dir/fifo,
    its name changed, or dropped; or mutate the raw bytes."""
    compressed = data[:2] == b"\x1f\x8b"
    try:
        raw = gzip.decompress(data) if compressed else data
        with tarfile.open(fileobj=io.BytesIO(raw)) as tar:
            members = [(m, tar.extractfile(m).read() if m.isfile() else b"") for m in tar.getmembers()]
    except Exception:  # noqa: BLE001
        return mutate_bytes(data, c)
    op = c.below(6)
    if not members or op == 5:
        return mutate_bytes(data, c)
    i = c.below(len(members))
    info, content = members[i]
    if op <= 1:
        content = mutate_bytes(content, c)
    elif op == 2:
        info.type = _pick(c, (tarfile.SYMTYPE, tarfile.LNKTYPE, tarfile.DIRTYPE, tarfile.FIFOTYPE, tarfile.CHRTYPE))
        info.linkname = _pick(c, (members[0][0].name, "/etc/passwd", "../x", info.name))
    elif op == 3:
        info.name = _pick(c, ("", "../" + info.name, "/" + info.name, info.name + "/x"))
    else:
        del members[i]
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        for member, body in members:
            if member.isfile() or member.type == tarfile.REGTYPE:
                member.size = len(body)
                tar.addfile(member, io.BytesIO(body))
            else:
                member.size = 0
                tar.addfile(member)
    result = out.getvalue()
    return gzip.compress(result, compresslevel=1, mtime=0) if compressed else result
