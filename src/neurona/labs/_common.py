"""What the labs share: a fresh, seeded start, Keras-style logs for long runs, and report helpers."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..callbacks import Callback
from ..callbacks.progress import format_values
from ..i18n import N_, _
from ..i18n.numbers import number


def start(seed: int = 0) -> None:
    """Seed neurona's generator and restart layer numbering, so each lab runs the same every time."""
    from ..utils import clear_session, set_random_seed

    clear_session()
    set_random_seed(seed)


def say(verbose: int, message: str) -> None:
    if verbose:
        print(message, flush=True)


class EpochLog(Callback):
    """Keras's per-epoch line, printed every `every` epochs and for the last one (runs of many short epochs)."""

    def __init__(self, every: int) -> None:
        super().__init__()
        self.every = every
        self.last: tuple[int, dict[str, Any]] | None = None

    def _print(self, epoch: int, logs: dict[str, Any]) -> None:
        head = _("Epoch {epoch}/{epochs}").format(epoch=epoch + 1, epochs=self.params.get("epochs", epoch + 1))
        print(f"{head}{format_values(logs)}", flush=True)

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self.last = (epoch, dict(logs or {}))
        if (epoch + 1) % self.every == 0:
            self._print(epoch, self.last[1])
            self.last = None

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        if self.last is not None:  # the final epoch (early stopping may end a run between two printed lines)
            self._print(*self.last)
            self.last = None


def fit_options(epochs: int, verbose: int) -> dict[str, Any]:
    """`fit` keyword arguments: Keras's progress lines for a few epochs, one line every epochs/5 for many."""
    if not verbose:
        return {"verbose": 0}
    if epochs <= 12:
        return {"verbose": 1}
    return {"verbose": 0, "callbacks": [EpochLog(max(1, epochs // 5))]}


def fmt(value: float, digits: int = 3) -> str:
    """`value` with `digits` decimals, in the language's way (0,953 in Spanish)."""
    return number(value, f".{digits}f")


def section(report: Any, lab_name: str) -> Any:
    """The lab's section of the report (None without a report), opened with its title and summary."""
    if report is None:
        return None
    from . import get

    lab = get(lab_name)
    return report.section(_(lab.title), _(lab.summary))


def add_history(sec: Any, history: Any, what: str = "") -> None:
    """Learning curves of a fit, in the report."""
    if sec is None:
        return
    from .. import plot

    caption = _("Learning curves (training and validation): {what}").format(what=what) if what else \
        _("Learning curves (training and validation)")
    sec.plot(plot.history, history, caption=caption)


def add_confusion(sec: Any, y_true: np.ndarray, y_pred: np.ndarray, names: list[str]) -> None:
    """Confusion matrix figure (or, without matplotlib, the matrix as a table)."""
    if sec is None:
        return
    from .. import plot
    from ..metrics import confusion_matrix

    caption = _("Confusion matrix on the test set: rows are the true class, columns the predicted one")
    if not sec.plot(plot.confusion_matrix, y_true, y_pred, display_labels=names, caption=caption):
        cm = confusion_matrix(y_true, y_pred, labels=list(range(len(names))))
        sec.table([""] + names, [[names[i]] + [int(v) for v in row] for i, row in enumerate(cm)], caption)


def scatter(true: np.ndarray, predicted: np.ndarray, title: str) -> Any:
    """Predicted against true values, with the diagonal a perfect regression would lie on."""
    from ..plot._base import figure

    fig = figure((4.6, 4.2))
    ax = fig.add_subplot()
    t, p = np.ravel(true), np.ravel(predicted)
    ax.scatter(t, p, s=8, alpha=0.6)
    lo, hi = float(min(t.min(), p.min())), float(max(t.max(), p.max()))
    ax.plot([lo, hi], [lo, hi], color="black", linewidth=1)
    ax.set_xlabel(_("true value"))
    ax.set_ylabel(_("prediction"))
    ax.set_title(title)
    return fig


def add_scatter(sec: Any, true: np.ndarray, predicted: np.ndarray, title: str) -> None:
    if sec is not None:
        sec.plot(scatter, true, predicted, title, caption=_("Predictions on the test set against the true values"))


def regression_metrics(true: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    """The slides' E (mean squared error) and rho (Pearson), with R2 and the mean absolute error."""
    from ..metrics import mean_absolute_error, mean_squared_error, pearson_r, r2_score

    t, p = np.ravel(true).astype(np.float64), np.ravel(predicted).astype(np.float64)
    return {"r2": float(r2_score(t, p)), "mse": float(mean_squared_error(t, p)),
            "mae": float(mean_absolute_error(t, p)), "pearson_r": float(pearson_r(t, p))}


def metrics_table(sec: Any, metrics: dict[str, float]) -> None:
    if sec is not None:
        sec.table([_("metric"), _("value")], [[label(k), number(v, ".4g")] for k, v in metrics.items()], _("Results"))


METRIC_LABELS = {
    "test_accuracy": N_("test accuracy"),
    "macro_f1": N_("macro F1"),
    "r2": N_("R2 on the test set"),
    "mse": N_("mean squared error E"),
    "mae": N_("mean absolute error"),
    "pearson_r": N_("Pearson's rho"),
    "rmse": N_("root mean squared error"),
    "test_loss": N_("test loss"),
    "softmax_regression_accuracy": N_("softmax regression, test accuracy"),
    "augmented_on_moved": N_("with augmentation, on moved digits"),
    "plain_on_moved": N_("without augmentation, on moved digits"),
    "augmented_on_original": N_("with augmentation, on original digits"),
    "plain_on_original": N_("without augmentation, on original digits"),
    "feature_extraction": N_("feature extraction, test accuracy"),
    "fine_tuning": N_("fine-tuning, test accuracy"),
    "from_scratch": N_("from scratch, test accuracy"),
    "mlp_xor": N_("hidden layer on XOR, accuracy"),
    "neuron_xor": N_("one neuron on XOR, accuracy"),
    "neuron_blobs": N_("one neuron on two clouds, accuracy"),
    "perceptron_and": N_("perceptron on AND, accuracy"),
    "perceptron_or": N_("perceptron on OR, accuracy"),
    "perceptron_xor": N_("perceptron on XOR, accuracy"),
    "seconds": N_("seconds"),
    "hard_feature_extraction": N_("harder task: feature extraction, test accuracy"),
    "hard_fine_tuning": N_("harder task: fine-tuning, test accuracy"),
    "hard_from_scratch": N_("harder task: from scratch, test accuracy"),
    "valid_accuracy": N_("validation accuracy"),
    "minibatch_loss": N_("last minibatch loss"),
    "graph_nodes": N_("nodes in the graph"),
    "worst_gain_over_baseline": N_("smallest gain over the global mean"),
    "baseline_rmse": N_("RMSE of the global mean"),
    "best_rmse": N_("best RMSE"),
    "slides_u1_i3": N_("the slides' prediction r(u1, i3)"),
    "rmse_user_knn_plain": N_("RMSE, user k-NN"),
    "rmse_user_knn_mean_centred": N_("RMSE, user k-NN centred on the mean"),
    "rmse_item_knn_plain": N_("RMSE, item k-NN"),
    "rmse_item_knn_mean_centred": N_("RMSE, item k-NN centred on the mean"),
    "rmse_mf_sgd": N_("RMSE, matrix factorisation (SGD)"),
    "rmse_mf_als": N_("RMSE, matrix factorisation (ALS)"),
    "rmse_neural_mf": N_("RMSE, neural matrix factorisation"),
    "lstm_accuracy": N_("LSTM, test accuracy"),
    "transformer_accuracy": N_("transformer, test accuracy"),
    "reverse_token_accuracy": N_("reversal, accuracy per token"),
    "reverse_sequence_accuracy": N_("reversal, whole sequences right"),
    "copy_token_accuracy": N_("copy, accuracy per token"),
    "copy_sequence_accuracy": N_("copy, whole sequences right"),
    "reverse_attention_on_target": N_("reversal, attention weight on the mirrored position"),
    "test_iou": N_("IoU on the test set"),
    "pixel_accuracy": N_("pixel accuracy"),
    "road_share": N_("share of road pixels"),
    "class_accuracy": N_("class accuracy"),
    "mean_box_iou": N_("mean IoU of the boxes"),
    "boxes_iou_over_0.5": N_("share of boxes with IoU above 0.5"),
    "lstm_vs_last_value": N_("LSTM error relative to the last value"),
    "lstm_mse": N_("LSTM, mean squared error"),
    "dense_mse": N_("dense window model, mean squared error"),
    "last_value_mse": N_("last value, mean squared error"),
    "next_char_accuracy": N_("next-character accuracy"),
    "valid_word_rate": N_("share of real words generated"),
    "denoised_mse": N_("dense autoencoder, error after denoising"),
    "noisy_mse": N_("error of the noisy digits"),
    "conv_denoised_mse": N_("convolutional autoencoder, error after denoising"),
    "imputed_mse": N_("error of the filled-in pixels"),
    "mean_fill_mse": N_("error when filling with the mean"),
    "anomaly_precision": N_("anomalies, precision"),
    "anomaly_recall": N_("anomalies, recall"),
    "anomaly_threshold": N_("anomaly threshold"),
    "test_reconstruction": N_("reconstruction term on the test set"),
    "test_kl": N_("KL term on the test set"),
    "code_std": N_("standard deviation of the codes"),
    "d_loss": N_("discriminator loss"),
    "g_loss": N_("generator loss"),
    "d_acc": N_("discriminator accuracy"),
    "judge_confidence": N_("judge's confidence on generated digits"),
    "classes_generated": N_("classes generated"),
    "judge_confidence_real": N_("judge's confidence on real digits"),
    "dbn_all_accuracy": N_("pre-trained DBN, all labels, accuracy"),
    "dbn_all_first_epoch": N_("pre-trained DBN, all labels, accuracy after one epoch"),
    "scratch_all_accuracy": N_("from scratch, all labels, accuracy"),
    "scratch_all_first_epoch": N_("from scratch, all labels, accuracy after one epoch"),
    "dbn_few_accuracy": N_("pre-trained DBN, few labels, accuracy"),
    "dbn_few_first_epoch": N_("pre-trained DBN, few labels, accuracy after one epoch"),
    "scratch_few_accuracy": N_("from scratch, few labels, accuracy"),
    "scratch_few_first_epoch": N_("from scratch, few labels, accuracy after one epoch"),
    "dbn_all_epochs_to_90": N_("pre-trained DBN, all labels, epochs to reach 90%"),
    "scratch_all_epochs_to_90": N_("from scratch, all labels, epochs to reach 90%"),
    "dbn_few_epochs_to_90": N_("pre-trained DBN, few labels, epochs to reach 90%"),
    "scratch_few_epochs_to_90": N_("from scratch, few labels, epochs to reach 90%"),
}


def label(key: str) -> str:
    """A metric's name for people, in the current language (the key itself when it has none)."""
    return _(METRIC_LABELS[key]) if key in METRIC_LABELS else key.replace("_", " ")
