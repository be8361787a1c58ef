"""Using a saved model: `neurona predict`, `neurona summary`, `neurona export`."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

import numpy as np

from ..i18n import _
from . import tabular
from .csv_stream import CsvFile
from .csvdata import write_csv
from .errors import CliError


def load(path: str) -> Any:
    """A model saved by neurona, or a CliError that says why the file cannot be one."""
    from ..models import load_model

    if not os.path.exists(path):
        raise CliError(_("{path}: no such file").format(path=path))
    try:
        return load_model(path)
    except (ValueError, OSError, KeyError, TypeError) as e:
        raise CliError(_("{path} is not a model neurona can load: {reason}").format(path=path, reason=e)) from None


def cmd_predict(args: argparse.Namespace) -> int:
    model = load(args.model)
    prep = tabular.load_preprocessing(args.model, model)
    source = CsvFile(args.data, encoding=args.encoding, sep=args.sep)
    if prep is not None:
        table = prep.read(source, args.decimal, extra=(prep.target,))
        x = prep.inputs(table)
    else:
        table = source.read(decimal=args.decimal or ".")
        x = np.column_stack([table.numeric(name) for name in table.header]).astype(np.float32)
    try:
        outputs = model.predict(x, verbose=0)
    except ValueError as e:
        raise CliError(_("{path} does not fit the model: {reason}").format(path=args.data, reason=e)) from None
    header, rows = tabular.answers(prep, np.asarray(outputs))
    write_csv(args.out, header, rows)
    note = sys.stderr if args.out in (None, "-") else sys.stdout
    if args.out not in (None, "-"):
        print(_("{n} predictions written to {path}").format(n=len(rows), path=args.out), file=note)
    if prep is not None and prep.target in table.header:
        _score(prep, table, [r[0] for r in rows], note)
    return 0


def _score(prep: tabular.Preprocessing, table: Any, predicted: list[str], out: Any) -> None:
    """When the file also has the target column, say how right the predictions are."""
    from ..labs._common import regression_metrics

    if prep.task == "classification":
        truth = table.strings(prep.target)
        known = [(t, p) for t, p in zip(truth, predicted) if t != ""]
        acc = float(np.mean([t == p or _same_number(t, p) for t, p in known])) if known else float("nan")
        print(_("the file has the target column {name!r}: accuracy {acc:.4f}").format(name=prep.target, acc=acc),
              file=out)
    else:
        truth = table.columns[prep.target]
        if truth.kind != "number" or np.isnan(truth.values).all():
            return
        known = ~np.isnan(truth.values)  # rows without a target value are predicted, not scored
        m = regression_metrics(truth.values[known], np.array(predicted, dtype=float)[known])
        print(_("the file has the target column {name!r}: R2 {r2:.4f}, mean absolute error {mae:.4g}").format(
            name=prep.target, r2=m["r2"], mae=m["mae"]), file=out)


def _same_number(truth: str, label: str) -> bool:
    """'1.0' in the file is the class '1' the model learnt from a numeric column."""
    try:
        return float(truth) == float(label)
    except ValueError:
        return False


def cmd_summary(args: argparse.Namespace) -> int:
    model = load(args.model)
    model.summary()
    prep = tabular.load_preprocessing(args.model)
    if prep is not None:
        print(_("trained by neurona train: {task} of {target!r} from {n} columns: {columns}").format(
            task=_(prep.task), target=prep.target, n=len(prep.features), columns=", ".join(prep.features)))
        if prep.classes:
            print(_("classes: {classes}").format(classes=", ".join(prep.classes)))
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from ..saving.atomic import write_bytes_atomic

    model = load(args.model)
    try:
        from ..export import to_onnx

        proto = to_onnx(model, opset=args.opset)
    except ImportError as e:
        raise CliError(str(e)) from None
    except (ValueError, TypeError, NotImplementedError) as e:
        raise CliError(_("cannot export {path} to ONNX: {reason}").format(path=args.model, reason=e)) from None
    try:
        write_bytes_atomic(args.onnx, proto.SerializeToString())
    except OSError as e:
        raise CliError(_("cannot write {path}: {reason}").format(path=args.onnx, reason=e.strerror or e)) from None
    print(_("ONNX model written to {path}").format(path=args.onnx))
    if tabular.load_preprocessing(args.model) is not None:
        print(_("its inputs are the preprocessed features (standardised numbers, one-hot categories, missing-value "
                "indicators) described in the preprocessing section of {path}").format(
            path=args.model if tabular.load_sidecar(args.model) is None else tabular.sidecar_path(args.model)))
    return 0


def add_parsers(sub: Any, make: Any) -> None:
    p = make(sub, "predict", _("predict with a saved model on a CSV file"),
             _("Read a CSV file with the columns the model was trained on and write one prediction per line "
               "(and the probability of each class for a classifier)."))
    p.add_argument("model", metavar="MODEL", help=_("a model saved by neurona train (model.neurona)"))
    p.add_argument("data", metavar="DATA.csv", help=_("the CSV file to predict"))
    p.add_argument("--out", metavar="PREDICTIONS.csv", help=_("where to write the predictions (default: stdout)"))
    from .train import add_reading_options

    add_reading_options(p, decimal_default=None)
    p.set_defaults(func=cmd_predict)

    p = make(sub, "summary", _("print a saved model's layers and parameters"), None)
    p.add_argument("model", metavar="MODEL", help=_("a .neurona model file"))
    p.set_defaults(func=cmd_summary)

    p = make(sub, "export", _("export a saved model to ONNX"),
             _("Write the model as an ONNX file that onnxruntime and other runtimes can run "
               "(needs the onnx package: pip install 'neurona[onnx]')."))
    p.add_argument("model", metavar="MODEL", help=_("a .neurona model file"))
    p.add_argument("--onnx", required=True, metavar="OUT.onnx", help=_("the ONNX file to write"))
    p.add_argument("--opset", type=int, default=17, help=_("ONNX opset version (default: 17)"))
    p.set_defaults(func=cmd_export)
