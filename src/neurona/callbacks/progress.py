"""The progress display of fit/evaluate/predict, shaped as Keras prints it:

    Epoch 1/5
    600/600 [==============================] - 1s 2ms/step - loss: 0.3120 - accuracy: 0.9100

In a terminal or Jupyter the line is a live tqdm bar (`tqdm.auto`), redrawn at most every 0.1 s.
Written to a file or a pipe (a log), each epoch prints one finished line and no control characters.
Without tqdm installed the display falls back to those plain lines everywhere.
"""

from __future__ import annotations

import math
import shutil
import sys
import time
from collections.abc import Callable, Mapping
from typing import Any

from ..i18n.numbers import localise_numbers
from .base import Callback

BAR_WIDTH = 30
_REFRESH = 0.1  # seconds between redraws of a live bar


def _in_notebook() -> bool:
    ipython = sys.modules.get("IPython")
    if ipython is None or not hasattr(ipython, "get_ipython"):
        return False
    shell = ipython.get_ipython()
    return shell is not None and (type(shell).__name__ == "ZMQInteractiveShell" or "google.colab" in sys.modules)


def _tqdm() -> Any:
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm


def format_time(seconds: float) -> str:
    """'1s', '1:05' or '1:01:05', as Keras prints ETAs."""
    if seconds >= 3600:
        return f"{int(seconds // 3600)}:{int(seconds % 3600 // 60):02d}:{int(seconds % 60):02d}"
    if seconds >= 60:
        return f"{int(seconds // 60)}:{int(seconds % 60):02d}"
    return f"{seconds:.0f}s"


def format_per_step(seconds: float, unit: str = "step") -> str:
    if seconds >= 1:
        return f"{seconds:.0f}s/{unit}"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.0f}ms/{unit}"
    return f"{seconds * 1e6:.0f}us/{unit}"


def format_values(values: Mapping[str, Any]) -> str:
    """' - loss: 0.1234 - accuracy: 0.9000' (tiny values in scientific notation, as Keras)."""
    parts = []
    for k, v in values.items():
        try:
            v = float(v)
        except (TypeError, ValueError):
            continue
        parts.append(f" - {k}: {v:.4f}" if abs(v) > 1e-3 or not math.isfinite(v) else f" - {k}: {v:.4e}")
    return localise_numbers("".join(parts))


def text_bar(current: int, target: int) -> str:
    """'[=========>....................]' for a finished fraction current/target."""
    done = int(BAR_WIDTH * current / target) if target else BAR_WIDTH
    if done >= BAR_WIDTH:
        return "[" + "=" * BAR_WIDTH + "]"
    return "[" + "=" * done + ">" + "." * (BAR_WIDTH - done - 1) + "]"


class Progbar:
    """One progress line of `target` steps (None when unknown).

    verbose=1: a live bar in a terminal or notebook, one finished line per bar elsewhere;
    verbose=2: one finished line without the bar; verbose=0: nothing.
    """

    def __init__(self, target: int | None, verbose: int = 1, file: Any = None, unit_name: str = "step") -> None:
        self.target = target
        self.verbose = verbose
        self.file = file if file is not None else sys.stdout
        self.unit = unit_name
        self.start = time.perf_counter()
        self._next = self.start + _REFRESH
        self._bar = None
        self.current = 0
        if verbose == 1 and target:
            tty = getattr(self.file, "isatty", lambda: False)()
            notebook = _in_notebook()
            tqdm = _tqdm() if (tty or notebook) else None
            if tqdm is not None:
                width = len(str(target))
                # A terminal that reports no size (some pseudo-terminals) would make tqdm draw nothing.
                size = shutil.get_terminal_size()
                ncols, nrows = (None, None) if notebook else (size.columns or 100, size.lines or 24)
                self._bar = tqdm(total=target, file=self.file, leave=True, dynamic_ncols=False, ncols=ncols,
                                 nrows=nrows,
                                 bar_format=f"{{n:>{width}d}}/{{total:d}} [{{bar:{BAR_WIDTH}}}] {{desc}}",
                                 ascii="." + ">" * 9 + "=", mininterval=0, maxinterval=1e9, miniters=0)

    @property
    def live(self) -> bool:
        return self._bar is not None

    def update(self, current: int, values: Mapping[str, Any] | Callable[[], Mapping[str, Any]] | None = None,
               finalize: bool = False) -> None:
        """Show progress `current`/target; `values` may be a callable, read only when drawing."""
        self.current = current
        if self.verbose == 0:
            return
        now = time.perf_counter()
        if not finalize:
            if self._bar is None or now < self._next:
                return
            self._next = now + _REFRESH
        vals = values() if callable(values) else (values or {})
        elapsed = now - self.start
        per_step = elapsed / max(current, 1)
        if not finalize:
            eta = per_step * (self.target - current) if self.target else 0.0
            self._bar.set_description_str(f"- ETA: {format_time(eta)} - {format_per_step(per_step, self.unit)}"
                                          f"{format_values(vals)}", refresh=False)
            self._bar.n = current
            self._bar.refresh()
            return
        tail = f"{format_time(elapsed)} {format_per_step(per_step, self.unit)}{format_values(vals)}"
        if self._bar is not None:
            # The live bar is cut to the terminal width; the finished line is printed whole instead.
            self._bar.leave = False
            self._bar.close()
            self._bar = None
        count = f"{current}/{self.target if self.target else 'Unknown'}"
        if self.verbose == 2:
            line = f"{count} - {format_time(elapsed)} - {format_per_step(per_step, self.unit)}{format_values(vals)}"
        else:
            bar = f" {text_bar(current, self.target or current)}" if self.target else ""
            line = f"{count}{bar} - {tail}"
        print(line, file=self.file, flush=True)

    def close(self) -> None:
        """Stop a live bar where it is (an interrupted run)."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None


class ProgbarLogger(Callback):
    """Prints `Epoch i/N` and a progress line per epoch during fit, and one line for evaluate/predict.

    Added by `fit`/`evaluate`/`predict` when `verbose` is not 0; its verbosity comes from there.
    """

    pulls_logs = True  # reads running metrics from the model only when the bar is redrawn

    def __init__(self, count_mode: str = "steps") -> None:
        super().__init__()
        if count_mode != "steps":
            raise ValueError(f"ProgbarLogger counts steps (batches); count_mode={count_mode!r} is not supported")
        self.bar: Progbar | None = None
        self.in_fit = False

    @property
    def verbose(self) -> int:
        v = self.params.get("verbose", 1)
        return 1 if v == "auto" else int(v)

    def _pull(self, logs: Mapping[str, Any] | None) -> Mapping[str, Any] | Callable[[], Mapping[str, Any]]:
        if logs is not None:
            return logs
        return self.model._current_logs if self.model is not None else {}

    def on_train_begin(self, logs=None):
        self.in_fit = True

    def on_epoch_begin(self, epoch, logs=None):
        if self.verbose:
            from ..i18n import gettext as _

            print(_("Epoch {epoch}/{epochs}").format(epoch=epoch + 1, epochs=self.params.get("epochs", "?")),
                  file=sys.stdout, flush=True)
            self.bar = Progbar(self.params.get("steps"), self.verbose)

    def on_train_batch_end(self, batch, logs=None):
        if self.bar is not None:
            self.bar.update(batch + 1, self._pull(logs))

    def on_epoch_end(self, epoch, logs=None):
        if self.bar is not None:
            self.bar.update(self.bar.current, dict(logs or {}), finalize=True)
            self.bar = None

    def on_train_end(self, logs=None):
        self.in_fit = False
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def on_test_begin(self, logs=None):
        if not self.in_fit and self.verbose:
            self.bar = Progbar(self.params.get("steps"), self.verbose)

    def on_test_batch_end(self, batch, logs=None):
        if not self.in_fit and self.bar is not None:
            self.bar.update(batch + 1, self._pull(logs))

    def on_test_end(self, logs=None):
        if not self.in_fit and self.bar is not None:
            self.bar.update(self.bar.current, dict(logs or {}), finalize=True)
            self.bar = None

    def on_predict_begin(self, logs=None):
        if self.verbose:
            self.bar = Progbar(self.params.get("steps"), self.verbose)

    def on_predict_batch_end(self, batch, logs=None):
        if self.bar is not None:
            self.bar.update(batch + 1)

    def on_predict_end(self, logs=None):
        if self.bar is not None:
            self.bar.update(self.bar.current, finalize=True)
            self.bar = None
