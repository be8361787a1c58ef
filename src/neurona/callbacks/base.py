"""Callbacks: objects whose hooks the training loop calls (Keras's names), the list that dispatches
them, and History, which every `fit` returns.

The loop only calls batch hooks on callbacks that override them, so an ordinary fit pays nothing per
batch for the callbacks it does not use.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..i18n import _

_BATCH_HOOKS = {
    "on_train_batch_begin": "on_batch_begin", "on_train_batch_end": "on_batch_end",
    "on_test_batch_begin": None, "on_test_batch_end": None,
    "on_predict_batch_begin": None, "on_predict_batch_end": None,
}


class Callback:
    """Base class: override the hooks you need. `self.model` and `self.params` are set by `fit`."""

    pulls_logs = False  # True for callbacks that read the model's metrics themselves when they need them

    def __init__(self) -> None:
        self.model: Any = None
        self.params: dict[str, Any] = {}

    def set_model(self, model: Any) -> None:
        self.model = model

    def set_params(self, params: dict[str, Any]) -> None:
        self.params = params

    # epochs and whole runs
    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None: ...
    def on_train_end(self, logs: dict[str, Any] | None = None) -> None: ...
    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None: ...
    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None: ...
    def on_test_begin(self, logs: dict[str, Any] | None = None) -> None: ...
    def on_test_end(self, logs: dict[str, Any] | None = None) -> None: ...
    def on_predict_begin(self, logs: dict[str, Any] | None = None) -> None: ...
    def on_predict_end(self, logs: dict[str, Any] | None = None) -> None: ...

    # batches
    def on_batch_begin(self, batch: int, logs: dict[str, Any] | None = None) -> None: ...
    def on_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None: ...

    def on_train_batch_begin(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self.on_batch_begin(batch, logs)

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self.on_batch_end(batch, logs)

    def on_test_batch_begin(self, batch: int, logs: dict[str, Any] | None = None) -> None: ...
    def on_test_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None: ...
    def on_predict_batch_begin(self, batch: int, logs: dict[str, Any] | None = None) -> None: ...
    def on_predict_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None: ...


def implements(cb: Callback, hook: str) -> bool:
    """Does `cb` do something in `hook` (overridden in its class, or set on the instance)?"""
    names = [hook] + ([_BATCH_HOOKS[hook]] if _BATCH_HOOKS.get(hook) else [])
    for name in names:
        if name in vars(cb) or getattr(type(cb), name) is not getattr(Callback, name):
            return True
    return False


class CallbackList:
    """Calls each hook on every callback in order; adds History (and the progress bar) for `fit`."""

    def __init__(self, callbacks: Iterable[Callback] | None = None, add_history: bool = False,
                 add_progbar: bool = False, model: Any = None, **params: Any) -> None:
        from .progress import ProgbarLogger

        self.callbacks = list(callbacks or [])
        for cb in self.callbacks:
            if not isinstance(cb, Callback):
                raise TypeError(f"callbacks must be Callback objects, got {type(cb).__name__}: subclass "
                                f"neurona.callbacks.Callback, or wrap functions in LambdaCallback")
        self.history = next((cb for cb in self.callbacks if isinstance(cb, History)), None)
        if self.history is None and add_history:
            self.history = History()
            self.callbacks.append(self.history)
        if add_progbar and not any(isinstance(cb, ProgbarLogger) for cb in self.callbacks):
            self.callbacks.append(ProgbarLogger())
        self.model = model
        self.params = params
        for cb in self.callbacks:
            if model is not None:
                cb.set_model(model)
            cb.set_params(params)
        self._hooked = {hook: [cb for cb in self.callbacks if implements(cb, hook)] for hook in _BATCH_HOOKS}
        # Batch logs are built only if a callback reads them from its argument.
        self.needs_batch_logs = {hook: any(not cb.pulls_logs for cb in cbs) for hook, cbs in self._hooked.items()}

    def append(self, callback: Callback) -> None:
        self.callbacks.append(callback)

    def set_model(self, model: Any) -> None:
        self.model = model
        for cb in self.callbacks:
            cb.set_model(model)

    def set_params(self, params: dict[str, Any]) -> None:
        self.params = params
        for cb in self.callbacks:
            cb.set_params(params)

    def has_batch_hook(self, hook: str) -> bool:
        return bool(self._hooked[hook])

    def _each(self, name: str, *args: Any) -> None:
        for cb in self.callbacks:
            getattr(cb, name)(*args)

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self._each("on_train_begin", logs)

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        self._each("on_train_end", logs)

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._each("on_epoch_begin", epoch, logs)

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._each("on_epoch_end", epoch, logs)

    def on_test_begin(self, logs: dict[str, Any] | None = None) -> None:
        self._each("on_test_begin", logs)

    def on_test_end(self, logs: dict[str, Any] | None = None) -> None:
        self._each("on_test_end", logs)

    def on_predict_begin(self, logs: dict[str, Any] | None = None) -> None:
        self._each("on_predict_begin", logs)

    def on_predict_end(self, logs: dict[str, Any] | None = None) -> None:
        self._each("on_predict_end", logs)

    def batch_hook(self, hook: str, batch: int, logs: dict[str, Any] | None = None) -> None:
        """Call `hook` (e.g. 'on_train_batch_end') on the callbacks that implement it."""
        for cb in self._hooked[hook]:
            getattr(cb, hook)(batch, logs)

    def on_train_batch_begin(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self.batch_hook("on_train_batch_begin", batch, logs)

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self.batch_hook("on_train_batch_end", batch, logs)

    def on_test_batch_begin(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self.batch_hook("on_test_batch_begin", batch, logs)

    def on_test_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self.batch_hook("on_test_batch_end", batch, logs)

    def on_predict_batch_begin(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self.batch_hook("on_predict_batch_begin", batch, logs)

    def on_predict_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self.batch_hook("on_predict_batch_end", batch, logs)

    def __iter__(self):
        return iter(self.callbacks)


class History(Callback):
    """Records every epoch's logs: `history.history["loss"]` is the list of training losses by epoch.

    `history.epoch` lists the epoch numbers (from 0), `history.params` the fit settings.
    """

    def __init__(self) -> None:
        super().__init__()
        self.history: dict[str, list[float]] = {}
        self.epoch: list[int] = []

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self.epoch = []

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self.epoch.append(epoch)
        for k, v in (logs or {}).items():
            self.history.setdefault(k, []).append(v)
        if self.model is not None:
            self.model.history = self

    def plot(self, metrics: Iterable[str] | None = None, ax: Any = None) -> Any:
        """Learning curves: one panel per quantity (loss, accuracy, ...), training and validation.

        Needs matplotlib (`pip install 'neurona[plot]'`). Returns the matplotlib Figure.
        """
        try:
            import matplotlib.pyplot as plt
        except ImportError:
            raise ImportError("History.plot() needs matplotlib: pip install 'neurona[plot]' "
                              "(or pip install matplotlib)") from None
        names = list(metrics) if metrics is not None else [k for k in self.history if not k.startswith("val_")]
        missing = [k for k in names if k not in self.history]
        if missing:
            raise ValueError(f"History has no {', '.join(map(repr, missing))}; it has {sorted(self.history)}")
        if not names:
            raise ValueError("History is empty: fit the model for at least one epoch first")
        if ax is None:
            fig, axes = plt.subplots(1, len(names), figsize=(5 * len(names), 3.5), squeeze=False)
            axes = list(axes[0])
        else:
            axes = list(ax) if isinstance(ax, (list, tuple)) else [ax] * len(names)
            fig = axes[0].figure
        epochs = [e + 1 for e in self.epoch] or list(range(1, len(self.history[names[0]]) + 1))
        for a, name in zip(axes, names):
            a.plot(epochs[-len(self.history[name]):], self.history[name], label=_("training {name}").format(name=name))
            if f"val_{name}" in self.history:
                val = self.history[f"val_{name}"]
                a.plot(epochs[-len(val):], val, label=_("validation {name}").format(name=name))
            a.set_xlabel(_("epoch"))
            a.set_ylabel(name)
            a.legend()
        return fig
