"""BackupAndRestore: survive an interrupted `fit` by resuming from the last finished epoch.

At the end of every epoch it writes a checkpoint (weights, optimizer state, the epoch number and the
state of neurona's random generator) atomically to `backup_dir`. When `fit` runs again with the same
callback after a crash, it restores all of that and training continues at the next epoch, giving the
same weights, bit for bit, as a run that was never interrupted (shuffling and dropout included, since
they draw from the restored generator). After a run that completes, the backup is deleted.

    backup = BackupAndRestore("backup")
    model.fit(x, y, epochs=20, callbacks=[backup])   # killed in epoch 7? run the same line again
"""

from __future__ import annotations

import contextlib
import os
from typing import Any

from .. import random as nrandom
from ..saving.atomic import remove_stale_temporaries
from .base import Callback

CHECKPOINT_NAME = "latest.neurona"


class BackupAndRestore(Callback):
    """Back up the training state every epoch and restore it when `fit` is re-run (Keras's callback).

    `save_freq` must be "epoch" (the only point where resuming is exact); `delete_checkpoint=False`
    keeps the backup after a completed run.
    """

    def __init__(self, backup_dir: str | os.PathLike[str], save_freq: str = "epoch",
                 delete_checkpoint: bool = True) -> None:
        super().__init__()
        if not backup_dir:
            raise ValueError("BackupAndRestore needs a backup_dir, got an empty path")
        if save_freq != "epoch":
            raise ValueError(f"BackupAndRestore: save_freq must be 'epoch' (resuming inside an epoch is not "
                             f"supported), got {save_freq!r}")
        self.backup_dir = os.fspath(backup_dir)
        self.save_freq = save_freq
        self.delete_checkpoint = delete_checkpoint
        self._last_epoch: int | None = None

    @property
    def checkpoint_path(self) -> str:
        return os.path.join(self.backup_dir, CHECKPOINT_NAME)

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        from ..saving import UnsafeFileError, restore_checkpoint

        self._last_epoch = None
        remove_stale_temporaries(self.checkpoint_path)  # left by a run killed while saving
        if not os.path.exists(self.checkpoint_path):
            return
        state = restore_checkpoint(self.model, self.checkpoint_path)
        epoch, rng_state = state.get("epoch"), state.get("rng")
        if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0 or not isinstance(rng_state, dict):
            raise UnsafeFileError(f"{self.checkpoint_path}: the backup has no valid epoch and generator state")
        generator = nrandom.get_rng().bit_generator
        if rng_state.get("bit_generator") != type(generator).__name__:
            raise UnsafeFileError(f"{self.checkpoint_path}: the backup's random generator is "
                                  f"{rng_state.get('bit_generator')!r:.40}, neurona uses {type(generator).__name__}")
        try:
            generator.state = rng_state
        except (ValueError, TypeError, KeyError) as exc:
            raise UnsafeFileError(f"{self.checkpoint_path}: invalid random generator state ({exc})") from None
        self._last_epoch = epoch
        self.model._initial_epoch = epoch + 1  # fit starts its epoch loop here (as Keras's fit does)

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        from ..saving.model_io import save_checkpoint

        os.makedirs(self.backup_dir, exist_ok=True)
        # The generator's state now is its state when the next epoch shuffles: exactly what a resume needs.
        state = {"epoch": epoch, "rng": nrandom.get_rng().bit_generator.state}
        save_checkpoint(self.model, self.checkpoint_path, state)
        self._last_epoch = epoch

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        epochs = self.params.get("epochs")
        finished = self.model is not None and (
            getattr(self.model, "stop_training", False)
            or (epochs is not None and self._last_epoch is not None and self._last_epoch + 1 >= epochs))
        # An interrupted run (Ctrl-C ends fit normally in neurona) keeps its backup for the next attempt.
        if self.delete_checkpoint and finished and os.path.exists(self.checkpoint_path):
            os.remove(self.checkpoint_path)
            with contextlib.suppress(OSError):
                os.rmdir(self.backup_dir)  # only if it is now empty
