"""The HTML report of `neurona train`: the data, the network, its learning curves and its test results."""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np

from ..i18n import _
from ..report import Report
from . import tabular


def train_report(args: argparse.Namespace, prep: tabular.Preprocessing, model: Any, history: Any,
                 metrics: dict[str, float], y_test: np.ndarray, predicted: np.ndarray, text: str,
                 seconds: float) -> Report:
    from ..labs import _common as c

    report = Report(_("neurona train: {path}").format(path=args.data),
                    _("target {target!r}, {task}").format(target=prep.target, task=_(prep.task)))
    data = report.section(_("Data"))
    rows = [[_("file"), args.data], [_("target column"), prep.target], [_("task"), _(prep.task)],
            [_("feature columns"), ", ".join(prep.features)]]
    if prep.classes:
        rows.append([_("classes"), ", ".join(prep.classes)])
    data.table([_("what"), _("value")], rows)
    pipe = prep.pipeline
    data.table([_("feature"), _("training median"), _("training mean"), _("training standard deviation")],
               [[f["name"], f"{f['median']:.4g}", f"{f['mean']:.4g}", f"{f['scale']:.4g}"] for f in pipe.numbers],
               _("Numbers: a missing value becomes the median, then each becomes (x - mean) / standard deviation"))
    if pipe.categories:
        data.table([_("column"), _("categories (one input each)"), _("most frequent")],
                   [[c["column"], ", ".join(c["categories"][:30]) + (" ..." if len(c["categories"]) > 30 else ""),
                     c["most_frequent"]] for c in pipe.categories],
                   _("Categories: one-hot encoded; a category not seen in training gives all zeros"))
    if pipe.indicators:
        data.table([_("missing-value indicator")], [[name] for name in pipe.indicators],
                   _("Columns with missing values in training get an extra 0/1 input: 1 where the value was missing"))

    net = report.section(_("Network and training"))
    lines: list[str] = []
    model.summary(print_fn=lines.append)
    net.preformatted("\n".join(lines))
    net.table([_("setting"), _("value")], [
        [_("hidden layers"), ",".join(map(str, args.hidden)) or "-"], [_("activation"), args.activation],
        [_("optimizer"), args.optimizer], [_("learning rate"), f"{float(model.optimizer.learning_rate):g}"],
        [_("batch size"), args.batch_size], [_("epochs run"), f"{len(history.epoch)} / {args.epochs}"],
        [_("seconds"), f"{seconds:.1f}"]])
    c.add_history(net, history)

    results = report.section(_("Results on the test set"))
    c.metrics_table(results, metrics)
    if prep.task == "classification":
        if text:
            results.preformatted(text)
        c.add_confusion(results, y_test, predicted, prep.classes)
    else:
        c.add_scatter(results, y_test, predicted, prep.target)
    use = report.section(_("Using the model"))
    use.preformatted(f"neurona predict {args.model} NEW.csv --out predictions.csv\n"
                     f"neurona summary {args.model}")
    return report
