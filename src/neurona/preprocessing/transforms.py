"""Affine image transforms, vectorised over the batch: one inverse matrix per image, one gather for all.

Every output pixel asks "where in the input do I come from?": its (column, row) coordinates go through
the image's 2x3 *inverse* matrix, and the input is read there with bilinear interpolation (scipy's
``order=1``, what Keras uses) or nearest-pixel rounding (``order=0``). Positions outside the image are
filled according to ``fill_mode``, with scipy's conventions:

- ``"nearest"``:  aaaa|abcd|dddd (the edge pixel repeats)
- ``"reflect"``:  dcba|abcd|dcba (mirror about the edge)
- ``"wrap"``:     abcd|abcd|abcd (periodic; scipy calls this ``grid-wrap``)
- ``"constant"``: kkkk|abcd|kkkk with ``k = cval``

The matrices follow Keras's ``apply_affine_transform`` (x is the column axis, y the row axis; angles in
degrees; rotation by +θ turns the content counter-clockwise; a shift ``tx`` samples from ``x + tx``;
zoom ``zx > 1`` shrinks the content), composed about the image centre, so for the same parameters the
result equals Keras's (to float rounding; Keras centres x with the height, which only differs on
non-square images).
"""

from __future__ import annotations

import numpy as np

FILL_MODES = ("nearest", "constant", "reflect", "wrap")


def affine_matrices(
    height: int,
    width: int,
    theta: np.ndarray | float = 0.0,
    tx: np.ndarray | float = 0.0,
    ty: np.ndarray | float = 0.0,
    shear: np.ndarray | float = 0.0,
    zx: np.ndarray | float = 1.0,
    zy: np.ndarray | float = 1.0,
    flip_horizontal: np.ndarray | bool = False,
    flip_vertical: np.ndarray | bool = False,
) -> np.ndarray:
    """Inverse maps (n, 2, 3) from output (x=col, y=row, 1) to input (x, y), for n sets of parameters.

    The transform is rotation · shift · shear · zoom about the image centre, then the flips (which Keras
    applies after the affine part, so they are folded in on the output side).
    """
    theta, tx, ty, shear, zx, zy = (np.atleast_1d(np.asarray(a, np.float64)) for a in (theta, tx, ty, shear, zx, zy))
    fh = np.atleast_1d(np.asarray(flip_horizontal, bool))
    fv = np.atleast_1d(np.asarray(flip_vertical, bool))
    n = max(len(a) for a in (theta, tx, ty, shear, zx, zy, fh, fv))
    t, s = np.deg2rad(theta), np.deg2rad(shear)
    cos, sin = np.cos(t), np.sin(t)
    m = np.zeros((n, 3, 3))
    # rotation @ shift @ shear @ zoom, multiplied out by hand (each factor is a Keras matrix).
    m[:, 0, 0] = cos * zx
    m[:, 0, 1] = (-cos * np.sin(s) - sin * np.cos(s)) * zy
    m[:, 0, 2] = cos * tx - sin * ty
    m[:, 1, 0] = sin * zx
    m[:, 1, 1] = (-sin * np.sin(s) + cos * np.cos(s)) * zy
    m[:, 1, 2] = sin * tx + cos * ty
    m[:, 2, 2] = 1.0
    cx, cy = width / 2 - 0.5, height / 2 - 0.5
    centre = np.array([[1.0, 0, cx], [0, 1, cy], [0, 0, 1]])
    uncentre = np.array([[1.0, 0, -cx], [0, 1, -cy], [0, 0, 1]])
    flips = np.broadcast_to(np.eye(3), (n, 3, 3)).copy()
    flips[:, 0, 0] = np.where(fh, -1.0, 1.0)
    flips[:, 0, 2] = np.where(fh, width - 1.0, 0.0)
    flips[:, 1, 1] = np.where(fv, -1.0, 1.0)
    flips[:, 1, 2] = np.where(fv, height - 1.0, 0.0)
    m = centre @ m @ uncentre @ flips
    # cos(90°) is 6e-17, not 0: snap the matrices so right-angle rotations and flips land exactly on pixel
    # centres and equal np.rot90 / np.flip bit for bit (a change below 1e-9 pixel elsewhere).
    return np.round(m[:, :2, :], 9) + 0.0


def _fold(u: np.ndarray, n: int, fill_mode: str) -> np.ndarray:
    """Map source coordinates (in place) into [0, n-1] (or [0, n) for "wrap") so that reading the padded
    source there gives the value the fill mode defines; no per-corner index wrapping is then needed."""
    if fill_mode == "wrap":
        np.mod(u, n, out=u)
        # mod(-1e-17, n) rounds to n itself; keep it just below so the right neighbour is the padded copy.
        return np.clip(u, 0, np.nextafter(n, 0), out=u)
    if fill_mode == "reflect":
        # Half-sample symmetric extension (dcba|abcd) is a mirror about -0.5 and n - 0.5, period 2n; the
        # interpolant of a mirrored sequence is mirrored too, so folding the coordinate is exact.
        np.mod(u + 0.5, 2 * n, out=u)
        np.subtract(2 * n, u, out=u, where=u > n)
        u -= 0.5
    return np.clip(u, 0, n - 1, out=u)  # "nearest" (edge repeats) and "constant" (masked afterwards)


def is_identity(matrices: np.ndarray) -> np.ndarray:
    """Which of the (n, 2, 3) matrices leave the image unchanged."""
    return np.all(matrices == np.array([[1.0, 0, 0], [0, 1, 0]]), axis=(1, 2))


def apply_affine(
    images: np.ndarray, matrices: np.ndarray, fill_mode: str = "nearest", cval: float = 0.0, order: int = 1
) -> np.ndarray:
    """Resample a batch (n, h, w, c) through per-image inverse matrices (n, 2, 3), or one for all.

    The result is float32 (float64 for float64 images).

    Whole-array coordinate maths and four gathers (one for ``order=0``) per block of images: no loop
    over pixels, none over images for small ones. Bilinear output mixes neighbouring input pixels with
    weights in [0, 1], so except with ``"constant"`` it stays within each image's value range.
    """
    if fill_mode not in FILL_MODES:
        raise ValueError(f"fill_mode must be one of {FILL_MODES}, got {fill_mode!r}")
    if order not in (0, 1):
        raise ValueError(f"interpolation order must be 0 (nearest pixel) or 1 (bilinear), got {order!r}")
    images = np.asarray(images)
    if images.ndim != 4:
        raise ValueError(f"apply_affine expects a batch of images (n, height, width, channels), got {images.shape}")
    n, h, w, c = images.shape
    matrices = np.asarray(matrices, np.float64)
    if matrices.shape in ((2, 3), (1, 2, 3)):  # one matrix for the whole batch
        matrices = np.broadcast_to(matrices.reshape(1, 2, 3), (n, 2, 3))
    if matrices.shape != (n, 2, 3):
        raise ValueError(f"expected one 2x3 matrix per image, shape ({n}, 2, 3), got {matrices.shape}")
    if is_identity(matrices).all():
        return images.astype(_float_dtype(images))
    # Cache blocking: each block's coordinates, indices and corner values (~2**16 pixels) stay in the CPU
    # cache between the dozen whole-array passes below; measured 1.8x on 150x150x3 batches, and a 28x28
    # batch of 32 is a single block.
    block = max(1, 2**16 // (h * w))
    if block >= n:
        return _resample(images, matrices, fill_mode, cval, order)
    out = np.empty((n, h, w, c), _float_dtype(images))
    for start in range(0, n, block):
        out[start : start + block] = _resample(images[start : start + block], matrices[start : start + block],
                                               fill_mode, cval, order)
    return out


def _float_dtype(x: np.ndarray) -> np.dtype:
    return np.dtype(np.float64) if x.dtype == np.float64 else np.dtype(np.float32)


def _pad(images: np.ndarray, fill_mode: str) -> np.ndarray:
    """The batch flattened to pixels, padded by one row and one column so the right/lower neighbour of
    any folded coordinate exists: a copy of row/column 0 for "wrap", of the last one otherwise (read
    with weight 0 there)."""
    n, h, w, c = images.shape
    src = np.empty((n, h + 1, w + 1, c), _float_dtype(images))
    src[:, :h, :w] = images
    src[:, h, :w] = images[:, 0 if fill_mode == "wrap" else h - 1]
    src[:, :, w] = src[:, :, 0 if fill_mode == "wrap" else w - 1]
    return src.reshape(-1, c)


def _plan(matrices: np.ndarray, h: int, w: int, fill_mode: str, order: int, dtype: np.dtype) -> tuple:
    """Where each output pixel reads: the padded-source index of its top-left neighbour, the bilinear
    weights (wx, wy) towards the right and lower neighbours, and the mask of positions outside the image
    ("constant" only)."""
    n = len(matrices)
    a = matrices[:, :, :, None, None]
    cols = np.arange(w, dtype=np.float64)[None, None, :]
    rows = np.arange(h, dtype=np.float64)[None, :, None]
    sx = a[:, 0, 0] * cols + a[:, 0, 1] * rows + a[:, 0, 2]  # (n, h, w): where each output pixel reads from
    sy = a[:, 1, 0] * cols + a[:, 1, 1] * rows + a[:, 1, 2]
    outside = ((sx < 0) | (sx > w - 1) | (sy < 0) | (sy > h - 1)) if fill_mode == "constant" else None
    sx, sy = _fold(sx, w, fill_mode), _fold(sy, h, fill_mode)
    base = (np.arange(n) * ((h + 1) * (w + 1)))[:, None, None]
    if order == 0:
        return np.rint(sy).astype(np.intp) * (w + 1) + np.rint(sx).astype(np.intp) + base, None, None, outside
    x0, y0 = sx.astype(np.intp), sy.astype(np.intp)  # coordinates are >= 0, so truncation is floor
    wx = (sx - x0).astype(dtype)[..., None]
    wy = (sy - y0).astype(dtype)[..., None]
    return y0 * (w + 1) + x0 + base, wx, wy, outside


def _resample(images: np.ndarray, matrices: np.ndarray, fill_mode: str, cval: float, order: int) -> np.ndarray:
    n, h, w, c = images.shape
    src = _pad(images, fill_mode)
    index, wx, wy, outside = _plan(matrices, h, w, fill_mode, order, src.dtype)
    # np.take along axis 0 copies whole pixels and is ~4x faster than fancy indexing here.
    out = np.take(src, index, axis=0)
    if order == 1:
        right = np.take(src, index + 1, axis=0)
        below = np.take(src, index + (w + 1), axis=0)
        diagonal = np.take(src, index + (w + 2), axis=0)
        # Interpolate as a + t * (b - a), in place: exact when t is 0 (pixel centres stay bit-exact).
        right -= out
        right *= wx
        out += right
        diagonal -= below
        diagonal *= wx
        below += diagonal
        below -= out
        below *= wy
        out += below
    if outside is not None:
        out[outside] = cval
    return out.reshape(n, h, w, c)


def apply_affine_backward(
    gy: np.ndarray, matrices: np.ndarray, fill_mode: str = "nearest", order: int = 1
) -> np.ndarray:
    """Gradient of ``apply_affine`` with respect to its images: each output gradient goes back to the
    input pixels it was read from, times the interpolation weight (the transpose of the resampling)."""
    n, h, w, c = gy.shape
    matrices = np.broadcast_to(np.asarray(matrices, np.float64).reshape(-1, 2, 3), (n, 2, 3))
    index, wx, wy, outside = _plan(matrices, h, w, fill_mode, order, gy.dtype)
    g = gy.copy()
    if outside is not None:
        g[outside] = 0  # cval does not depend on the input
    size = n * (h + 1) * (w + 1)
    if order == 0:
        corners = [(index, g)]
    else:
        left, up = 1 - wx, 1 - wy
        corners = [(index, g * left * up), (index + 1, g * wx * up), (index + (w + 1), g * left * wy),
                   (index + (w + 2), g * wx * wy)]
    gsrc = np.zeros((size, c), np.float64)
    for idx, part in corners:  # a scatter-add per corner and channel: np.bincount is the fast one
        flat_idx, flat = idx.reshape(-1), part.reshape(-1, c)
        for ch in range(c):
            gsrc[:, ch] += np.bincount(flat_idx, weights=flat[:, ch], minlength=size)
    gsrc = gsrc.reshape(n, h + 1, w + 1, c)
    # Undo the padding: the extra column and row were copies of column/row 0 ("wrap") or of the last one.
    gsrc[:, :, 0 if fill_mode == "wrap" else w - 1] += gsrc[:, :, w]
    gsrc[:, 0 if fill_mode == "wrap" else h - 1, :w] += gsrc[:, h, :w]
    return gsrc[:, :h, :w].astype(gy.dtype)


def resize_matrix(n_in: int, n_out: int, interpolation: str = "bilinear") -> np.ndarray:
    """(n_out, n_in) weights of a 1-D resize with pixel centres aligned (Pillow's, OpenCV's and Keras's
    ``half_pixel_centers``), no antialiasing. An image resizes as ``M_h @ image @ M_w.T``: two matmuls."""
    if interpolation not in ("bilinear", "nearest"):
        raise ValueError(f"interpolation must be 'bilinear' or 'nearest', got {interpolation!r}")
    centres = (np.arange(n_out) + 0.5) * n_in / n_out
    weights = np.zeros((n_out, n_in))
    if interpolation == "nearest":
        weights[np.arange(n_out), np.minimum(np.floor(centres).astype(int), n_in - 1)] = 1.0
        return weights
    src = np.clip(centres - 0.5, 0, n_in - 1)
    lo = np.floor(src).astype(int)
    hi = np.minimum(lo + 1, n_in - 1)
    frac = src - lo
    np.add.at(weights, (np.arange(n_out), lo), 1 - frac)
    np.add.at(weights, (np.arange(n_out), hi), frac)
    return weights
