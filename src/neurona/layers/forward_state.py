"""Per-thread state of the running forward pass (what `add_loss` records for the training step)."""

from __future__ import annotations

import threading

from ..tensor import Tensor


class _ForwardState(threading.local):
    """Per-thread state of the running forward pass: a predict() serving in one thread must not add
    its add_loss() terms to a fit() in another."""

    def __init__(self) -> None:
        self.pending_losses: list[Tensor] = []  # add_loss() tensors of the running forward pass (see Model)


_FORWARD = _ForwardState()


def pending_losses() -> list[Tensor]:
    """This thread's add_loss() tensors recorded since the training step last cleared them."""
    return _FORWARD.pending_losses
