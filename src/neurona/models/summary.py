"""model.summary(): Keras 3's table, character for character (without needing `rich`).

    Model: "sequential"
    ┏━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━┓
    ┃ Layer (type)                    ┃ Output Shape           ┃       Param # ┃
    ┡━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━┩
    │ dense (Dense)                   │ (None, 10)             │         7,850 │
    ...
     Total params: 7,960 (31.09 KB)

Column widths follow Keras (88 characters, or the terminal width minus 4 if narrower) and the way
rich shrinks the columns, wraps the cells and cuts words too long for them.
"""

from __future__ import annotations

import re
import shutil
import sys
from collections.abc import Callable, Sequence
from typing import Any

from ..i18n import N_, language
from ..i18n import gettext as _
from ..layers.base import Layer, Node, flatten


def readable_size(nbytes: float) -> str:
    """'31.09 KB' as Keras prints weight memory (1 KB = 1024 B); '31,09 KB' in Spanish."""
    for unit in ("B", "KB", "MB", "GB", "TB", "PB"):
        if nbytes / 1024 < 1:
            break
        nbytes /= 1024
    text = f"{nbytes:.2f} {unit}"
    return text.replace(".", ",") if language() == "es" else text


def _count_text(n: int) -> str:
    """'7,960' as Keras prints a count; '7.960' in Spanish (thousands grouped with points)."""
    text = f"{n:,}"
    return text.replace(",", ".") if language() == "es" else text


# Keras's column names and totals; translated when neurona's messages are in Spanish (NEURONA_LANG=es)
MODEL = N_("Model")
LAYER, SHAPE, PARAMS, CONNECTED, TRAINABLE = (N_("Layer (type)"), N_("Output Shape"), N_("Param #"),
                                              N_("Connected to"), N_("Trainable"))


def _count(weights: Sequence[Any]) -> tuple[int, int]:
    unique = {id(w): w for w in weights}.values()
    return sum(w.size for w in unique), sum(w.size * w.dtype.itemsize for w in unique)


# ----------------------------------------------------------------------------- text layout (rich's rules)
_WORD = re.compile(r"\s*\S+\s*")


def wrap(text: str, width: int) -> list[str]:
    """Split `text` into lines of at most `width` characters at spaces; a word too long for a line
    gets a line of its own, cut with an ellipsis."""
    lines: list[str] = []
    line = ""
    for word in _WORD.findall(text):
        if len(line) + len(word.rstrip()) <= width:
            line += word
            continue
        if line:
            lines.append(line)
        line = word
    lines.append(line)
    lines = [ln.rstrip() for ln in lines]
    return [ln if len(ln) <= width else ln[:width - 1] + "…" for ln in lines]


def _justify(text: str, width: int, how: str) -> str:
    if how == "right":
        return text.rjust(width)
    if how == "center":
        left = (width - len(text)) // 2
        return " " * left + text + " " * (width - len(text) - left)
    return text.ljust(width)


def _ratio_reduce(total: int, widths: list[int]) -> list[int]:
    remaining, ratio, out = total, len(widths), []
    for w in widths:
        cut = min(w, round(remaining / ratio))
        out.append(w - cut)
        remaining -= cut
        ratio -= 1
    return out


def render_table(header: list[str], rows: list[list[str]], widths: list[int], align: list[str],
                 line_length: int) -> list[str]:
    """The box-drawn table: fixed column widths shrunk evenly to fit `line_length`, as rich does."""
    cells = [w + 2 for w in widths]  # one space of padding on each side
    room = line_length - (len(widths) + 1)  # minus the vertical borders
    if sum(cells) > room:
        cells = _ratio_reduce(sum(cells) - room, cells)
    inner = [max(c - 2, 1) for c in cells]

    def rule(left: str, fill: str, mid: str, right: str) -> str:
        return left + mid.join(fill * c for c in cells) + right

    def row(values: list[str], bar: str, justify: list[str]) -> list[str]:
        wrapped = [wrap(v, w) for v, w in zip(values, inner)]
        height = max(len(w) for w in wrapped)
        out = []
        for i in range(height):
            parts = [_justify(w[i] if i < len(w) else "", width, j) for w, width, j in zip(wrapped, inner, justify)]
            out.append(bar + bar.join(f" {p} " for p in parts) + bar)
        return out

    lines = [rule("┏", "━", "┳", "┓")]
    lines += row(header, "┃", align)
    lines.append(rule("┡", "━", "╇", "┩"))
    for i, r in enumerate(rows):
        if i:
            lines.append(rule("├", "─", "┼", "┤"))
        lines += row(r, "│", align)
    lines.append(rule("└", "─", "┴", "┘"))
    return lines


# ----------------------------------------------------------------------------- the model's rows
def _model_nodes(model: Any) -> list[Node]:
    graph = getattr(model, "_graph", None)
    return list(graph.nodes) if graph is not None else []


def _is_sequential_like(model: Any) -> bool:
    from .sequential import Sequential

    graph = getattr(model, "_graph", None)
    if isinstance(model, Sequential) or graph is None:
        return True
    for nodes in graph.nodes_by_depth.values():
        if len(nodes) > 1 or (len(nodes) == 1 and len(nodes[0].input_tensors) > 1):
            return False
    nodes = graph.nodes
    for layer in graph.layers:
        if sum(1 for n in layer._inbound_nodes if any(n is m for m in nodes)) > 1:
            return False
    return True


def _format_shape(shape: Any) -> str:
    return "(" + ", ".join(str(s) for s in shape) + ")"


def _output_shape(layer: Layer, nodes: list[Node]) -> str:
    own = [n for n in layer._inbound_nodes if any(n is m for m in nodes)] or layer._inbound_nodes[-1:]
    if own:
        outs = own[-1].output_tensors
        shapes = [_format_shape(t.shape) for t in outs]
    elif layer.built and layer._build_shape is not None:
        try:
            out = layer.compute_output_shape(layer._build_shape)
        except Exception:
            return "?"
        shapes = [_format_shape(s) for s in out] if isinstance(out, list) else [_format_shape(out)]
    else:
        return "?"
    return shapes[0] if len(shapes) == 1 else "[" + ", ".join(shapes) + "]"


def _connections(layer: Layer, nodes: list[Node]) -> str:
    parts = []
    for node in layer._inbound_nodes:
        if not any(node is m for m in nodes):
            continue
        for t in flatten(node.input_tensors):
            parts.append(f"{t.layer.name}[{t.node.index}][{t.index}]")
    return ", ".join(parts) or "-"


def _layer_range(layers: list[Layer], layer_range: Sequence[str] | None) -> tuple[int, int]:
    if layer_range is None:
        return 0, len(layers)
    if len(layer_range) != 2:
        raise ValueError(f"layer_range must be [first_name, last_name], got {layer_range}")
    first = [i for i, la in enumerate(layers) if re.match(layer_range[0], la.name)]
    last = [i for i, la in enumerate(layers) if re.match(layer_range[1], la.name)]
    if not first or not last:
        raise ValueError(f"layer_range {list(layer_range)} matches no layer names {[la.name for la in layers]}")
    return first[0], last[-1] + 1


def print_summary(model: Any, line_length: int | None = None, positions: Sequence[float] | None = None,
                  print_fn: Callable[..., Any] | None = None, expand_nested: bool = False,
                  show_trainable: bool = False, layer_range: Sequence[str] | None = None) -> None:
    """Print (or hand to `print_fn`, as one string) the summary table of `model`."""
    sequential_like = _is_sequential_like(model)
    if sequential_like:
        default, pos = 88, [0.45, 0.80, 1.0]
        header, align = [_(LAYER), _(SHAPE), _(PARAMS)], ["left", "left", "right"]
    else:
        default, pos = 108, [0.3, 0.56, 0.74, 1.0]
        header = [_(LAYER), _(SHAPE), _(PARAMS), _(CONNECTED)]
        align = ["left", "left", "right", "left"]
    if show_trainable:
        default += 12
        pos = [p * 0.90 for p in pos] + [1.0]
        header.append(_(TRAINABLE))
        align.append("center")
    pos = list(positions) if positions is not None else pos
    line_length = line_length or min(default, shutil.get_terminal_size().columns - 4)
    widths, current = [], 0
    for p in pos:
        if p <= 1:
            p = int(p * line_length)
        width = int(p) - current
        if width < 4:
            raise ValueError(f"summary: line_length={line_length} is too narrow to print the table")
        widths.append(width)
        current += width

    def fields(layer: Layer, nodes: list[Node], prefix: str) -> list[str]:
        params = _count_text(layer.count_params()) if layer.built else _("0 (unbuilt)")
        out = [f"{prefix}{layer.name} ({type(layer).__name__})", _output_shape(layer, nodes), params]
        if not sequential_like:
            out.append(_connections(layer, nodes))
        if show_trainable:
            out.append(("Y" if layer.trainable else "N") if layer.weights else "-")
        return out

    def rows_of(layer: Layer, nodes: list[Node], level: int) -> list[list[str]]:
        prefix = "   " * level + "└ " if level else ""
        rows = [fields(layer, nodes, prefix)]
        inner = getattr(layer, "layers", None)
        if expand_nested and inner:
            for sub in inner:
                rows += rows_of(sub, _model_nodes(layer), level + 1)
        return rows

    layers = model.layers
    nodes = _model_nodes(model)
    lo, hi = _layer_range(layers, layer_range)
    rows = [r for layer in layers[lo:hi] for r in rows_of(layer, nodes, 0)]
    trainable, trainable_bytes = _count(model.trainable_weights)
    frozen, frozen_bytes = _count(model.non_trainable_weights)
    lines = [f'{_(MODEL)}: "{model.name}"']
    lines += render_table(header, rows, widths, align, line_length)
    for label, count, nbytes in ((N_("Total params"), trainable + frozen, trainable_bytes + frozen_bytes),
                                 (N_("Trainable params"), trainable, trainable_bytes),
                                 (N_("Non-trainable params"), frozen, frozen_bytes)):
        lines.append(f" {_(label)}: {_count_text(count)} ({readable_size(nbytes)})")
    text = "\n".join(lines) + "\n"
    if print_fn is not None:
        print_fn(text)
    else:
        sys.stdout.write(text)
        sys.stdout.flush()
