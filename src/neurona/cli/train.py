"""`neurona train DATA.csv --target COLUMN`: a CSV file in, a trained and evaluated MLP out, without code."""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..i18n import _
from ..i18n.numbers import number
from . import tabular, train_mpi
from .csvdata import read_csv
from .errors import CliError
from .outputs import check_outputs


def optimizer_names() -> list[str]:
    """The optimizers `--optimizer` accepts: neurona's, as the registry knows them (lowercase)."""
    from .. import optimizers, registry  # noqa: F401  (importing optimizers registers them)

    return [name.lower() for name in registry.names("optimizer", package="neurona") if name != "Optimizer"]
MIN_ROWS = 10


def parse_hidden(text: str) -> list[int]:
    """'64,32' → [64, 32]; '' or 'none' → no hidden layer."""
    if text.strip().lower() in ("", "none", "0"):
        return []
    try:
        sizes = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(_("--hidden takes layer sizes separated by commas, such as 64,32; got "
                                           "{text!r}").format(text=text)) from None
    if any(s < 1 for s in sizes):
        raise argparse.ArgumentTypeError(_("layer sizes must be positive, got {text!r}").format(text=text))
    return sizes


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(_("expected a positive whole number, got {text!r}").format(text=text))
    return value


def fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(_("expected a fraction between 0 and 1, got {text!r}").format(text=text))
    return value


def _split(x: np.ndarray, y: np.ndarray, size: float, stratify: bool, seed: int) -> list[np.ndarray]:
    from ..preprocessing import train_test_split

    if stratify and np.bincount(y).min() >= 2:
        return train_test_split(x, y, test_size=size, stratify=y, seed=seed)
    return train_test_split(x, y, test_size=size, seed=seed)


def _print_rows(rows: list[tuple[str, str]]) -> None:
    width = max(len(k) for k, _v in rows)
    for key, value in rows:
        print(f"  {key:<{width}}  {value}")


def _evaluate(model: Any, prep: tabular.Preprocessing, x: np.ndarray, y: np.ndarray) -> tuple[dict, Any, str]:
    """Test-set metrics in the data's units, the predictions, and a text report."""
    from ..metrics import f1_score
    from ..report.classification import classification_report_text

    out = model.predict(x, verbose=0)
    if prep.task == "classification":
        predicted = out.argmax(axis=1)
        metrics = {"test_accuracy": float(np.mean(predicted == y)),
                   "macro_f1": float(f1_score(y, predicted, average="macro", labels=list(range(len(prep.classes))),
                                              zero_division=0))}
        text = classification_report_text(y, predicted, labels=list(range(len(prep.classes))),
                                          target_names=prep.classes, zero_division=0)
        return metrics, predicted, text
    from ..labs._common import regression_metrics

    values = out.ravel() * prep.target_scale + prep.target_mean
    metrics = regression_metrics(y, values)
    metrics["rmse"] = float(np.sqrt(metrics["mse"]))
    return metrics, values, ""


@dataclass
class Splits:
    """The raw (unscaled) training, validation and test rows."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def load_table(args: argparse.Namespace) -> tuple[np.ndarray, np.ndarray, tabular.Preprocessing]:
    """Step 1: the CSV's feature matrix, targets and (unfitted) preprocessing, with the options checked."""
    from .. import activations

    table = read_csv(args.data)
    drop = [c for part in args.drop or [] for c in part.split(",") if c]  # --drop A --drop B,C
    features = [c for part in args.features or [] for c in part.split(",") if c] or None
    x, y, prep = tabular.design(table, args.target, args.task, drop, features)
    if len(x) < MIN_ROWS:
        raise CliError(_("{path} has {n} data lines; training needs at least {min}").format(
            path=args.data, n=len(x), min=MIN_ROWS))
    try:
        activations.get(args.activation)
    except ValueError as e:
        raise CliError(str(e)) from None
    return x, y, prep


def split_and_fit_scalers(args: argparse.Namespace, x: np.ndarray, y: np.ndarray,
                          prep: tabular.Preprocessing) -> Splits:
    """Step 2: test, validation and training rows; the scalers learn from the training rows only."""
    classify = prep.task == "classification"
    x_rest, x_test, y_rest, y_test = _split(x, y, args.test_size, classify, args.seed)
    x_train, x_val, y_train, y_val = _split(x_rest, y_rest, args.val_size, classify, args.seed + 1)
    tabular.fit_scalers(prep, x_train, y_train)
    return Splits(x_train, y_train, x_val, y_val, x_test, y_test)


def scale_x(prep: tabular.Preprocessing, a: np.ndarray) -> np.ndarray:
    return ((a - np.asarray(prep.mean)) / np.asarray(prep.scale)).astype(np.float32)


def scale_y(prep: tabular.Preprocessing, a: np.ndarray) -> np.ndarray:
    if prep.task == "classification":
        return a
    return ((a - prep.target_mean) / prep.target_scale).astype(np.float32)[:, None]


def describe(args: argparse.Namespace, prep: tabular.Preprocessing, n_rows: int, data: Splits) -> None:
    """Step 3: tell the user what was read and inferred, and how the rows were split."""
    classify = prep.task == "classification"
    what = _("classification into {k} classes ({classes})").format(
        k=len(prep.classes), classes=", ".join(prep.classes[:10]) + (" ..." if len(prep.classes) > 10 else "")) \
        if classify else _("regression")
    print(_("{path}: {n} rows, {d} feature columns, target {target!r}").format(
        path=args.data, n=n_rows, d=len(prep.features), target=prep.target))
    if args.task is None:
        other = "regression" if classify else "classification"
        print(_("task: {what} (inferred; --task {other} to change it)").format(what=what, other=other))
    else:
        print(_("task: {what}").format(what=what))
    print(_("split: {train} for training, {val} for validation (early stopping), {test} for testing").format(
        train=len(data.x_train), val=len(data.x_val), test=len(data.x_test)))


def build_and_compile(args: argparse.Namespace, prep: tabular.Preprocessing) -> Any:
    """Step 4: the MLP, seeded, compiled with the loss and metrics of its task."""
    from .. import optimizers
    from ..utils import clear_session, set_random_seed

    classify = prep.task == "classification"
    clear_session()
    set_random_seed(args.seed)
    model = tabular.build_model(len(prep.features), args.hidden, args.activation, prep)
    optimizer = optimizers.get(args.optimizer)
    if args.lr is not None:
        optimizer.learning_rate = args.lr
    model.compile(optimizer=optimizer,
                  loss="sparse_categorical_crossentropy" if classify else "mse",
                  metrics=["accuracy"] if classify else ["mae"])
    model.summary()
    return model


def train(args: argparse.Namespace, model: Any, prep: tabular.Preprocessing, data: Splits) -> Any:
    """Step 5: fit with early stopping on the validation loss (the best epoch's weights are kept)."""
    from ..callbacks import EarlyStopping
    from ..labs._common import fit_options

    stop = EarlyStopping(monitor="val_loss", patience=args.patience, restore_best_weights=True)
    options = fit_options(args.epochs, 1)
    options["callbacks"] = options.get("callbacks", []) + [stop]
    if train_mpi.inside():
        options["distribute"] = "mpi"
    history = model.fit(scale_x(prep, data.x_train), scale_y(prep, data.y_train), batch_size=args.batch_size,
                        epochs=args.epochs,
                        validation_data=(scale_x(prep, data.x_val), scale_y(prep, data.y_val)), **options)
    if stop.stopped_epoch:
        print(_("early stopping after epoch {epoch}: the validation loss stopped improving; the weights of the best "
                "epoch ({best}) are kept").format(epoch=len(history.epoch), best=stop.best_epoch + 1))
    return history


def score_on_test(model: Any, prep: tabular.Preprocessing, data: Splits) -> tuple[dict, Any, str]:
    """Step 6: metrics on the test rows, printed."""
    from ..labs._common import label

    metrics, predicted, text = _evaluate(model, prep, scale_x(prep, data.x_test), data.y_test)
    print(_("Results on the test set ({n} rows):").format(n=len(data.x_test)))
    _print_rows([(label(k), number(v, ".4f" if abs(v) < 1e4 else ".4g")) for k, v in metrics.items()])
    if text:
        print(text)
    return metrics, predicted, text


def save(args: argparse.Namespace, model: Any, prep: tabular.Preprocessing) -> None:
    """Step 7: one `.neurona` file holding the network and, in its config, the preprocessing."""
    from ..saving.model_io import save_model

    model_path = Path(args.model)
    try:
        model_path.parent.mkdir(parents=True, exist_ok=True)
        save_model(model, model_path, preprocessing=prep.to_dict())
    except OSError as e:
        raise CliError(_("cannot write {path}: {reason}").format(path=model_path, reason=e.strerror or e)) from None
    print(_("model saved to {path} (with its preprocessing)").format(path=model_path))


def write_report(args: argparse.Namespace, prep: tabular.Preprocessing, model: Any, history: Any,
                 results: tuple[dict, Any, str], y_test: np.ndarray, seconds: float) -> None:
    """Step 8: the HTML report (unless --report '')."""
    from .train_report import train_report

    metrics, predicted, text = results
    report = train_report(args, prep, model, history, metrics, y_test, predicted, text, seconds)
    try:
        path = report.write(args.report)
    except OSError as e:
        raise CliError(_("cannot write {path}: {reason}").format(path=args.report, reason=e.strerror or e)) \
            from None
    print(_("report written to {path}").format(path=path))


def cmd_train(args: argparse.Namespace) -> int:
    """`neurona train`: the steps above, in order."""
    check_outputs(args.model, tabular.sidecar_path(args.model))  # before any training, not after all epochs
    if args.processes > 1 and not train_mpi.inside():
        return train_mpi.relaunch(args.processes, args.argv)
    if not train_mpi.writes():  # ranks > 0 of a --processes run train silently
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 (for the rest of this process)
    started = time.perf_counter()
    x, y, prep = load_table(args)
    data = split_and_fit_scalers(args, x, y, prep)
    describe(args, prep, len(x), data)
    model = build_and_compile(args, prep)
    history = train(args, model, prep, data)
    results = score_on_test(model, prep, data)
    if not train_mpi.writes():
        return 0
    save(args, model, prep)
    if args.report:
        write_report(args, prep, model, history, results, data.y_test, time.perf_counter() - started)
    return 0


def add_parser(sub: Any, make: Any) -> None:
    p = make(sub, "train", _("train an MLP on a CSV file (classification or regression)"),
             _("Train a multilayer perceptron on a CSV file with a header line. The features are standardised, "
               "the rows split into training, validation and test sets, training stops early when the validation "
               "loss stops improving, and the model is saved with what predict needs to reuse it."))
    p.add_argument("data", metavar="DATA.csv", help=_("the CSV file (header line, then one example per line)"))
    p.add_argument("--target", required=True, metavar="COLUMN", help=_("the column to predict"))
    p.add_argument("--task", choices=("classification", "regression"),
                   help=_("override the inferred task (text or a few whole numbers: classification)"))
    p.add_argument("--features", "--keep", action="append", metavar="A,B,...",
                   help=_("the input columns (default: all but the target); repeatable"))
    p.add_argument("--drop", action="append", metavar="A,B,...", help=_("columns to leave out; repeatable"))
    p.add_argument("--hidden", type=parse_hidden, default=[64, 32], metavar="64,32",
                   help=_("sizes of the hidden layers (default: 64,32)"))
    p.add_argument("--activation", default="relu", help=_("activation of the hidden layers (default: relu)"))
    p.add_argument("--optimizer", default="adam", choices=optimizer_names(), help=_("the optimizer (default: adam)"))
    p.add_argument("--lr", type=float, default=None, help=_("learning rate (default: the optimizer's own)"))
    p.add_argument("--epochs", type=positive_int, default=200, help=_("most epochs to train (default: 200)"))
    p.add_argument("--batch-size", type=positive_int, default=32, help=_("examples per batch (default: 32)"))
    p.add_argument("--patience", type=positive_int, default=20,
                   help=_("epochs without improvement of the validation loss before stopping (default: 20)"))
    p.add_argument("--test-size", type=fraction, default=0.2, help=_("fraction kept for the test set (default: 0.2)"))
    p.add_argument("--val-size", type=fraction, default=0.2,
                   help=_("fraction of the rest used for validation (default: 0.2)"))
    p.add_argument("--seed", type=int, default=0, help=_("random seed (default: 0)"))
    p.add_argument("--model", default="model.neurona", metavar="PATH",
                   help=_("where to save the model (default: model.neurona)"))
    p.add_argument("--report", default="neurona-report", metavar="DIR",
                   help=_("folder of the HTML report (default: neurona-report; '' for none)"))
    p.add_argument("--processes", type=positive_int, default=1, metavar="N",
                   help=_("train data-parallel on N MPI processes (needs the mpi extra; default: 1)"))
    p.set_defaults(func=cmd_train)
