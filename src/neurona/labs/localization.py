"""Deck 002's localisation: classify the one object in an image and draw its bounding box.

A small CNN whose features feed two heads: a softmax over the classes (circle, square, triangle) and a
regression of the box (x_min, y_min, x_max, y_max as fractions of the image, sigmoid outputs). The model
has two outputs, compiled with a loss per output and `loss_weights` that balance them (the box's squared
errors are small numbers, so they are weighted up). Judged on held-out images by the class accuracy and the
intersection over union of the predicted and true boxes (`neurona.metrics.box_iou`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..i18n import _
from . import _common as c

SIZE = 48


def build_model(size: int = SIZE, classes: int = 3) -> Any:
    """A convolutional trunk, then two heads: 'class' (softmax) and 'box' (4 sigmoid outputs)."""
    from .. import layers
    from ..models import Model

    inputs = layers.Input((size, size, 3), name="image")
    x = inputs
    for filters in (16, 32, 64):
        x = layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
        x = layers.MaxPooling2D(2)(x)
    x = layers.Flatten()(x)
    x = layers.Dense(128, activation="relu")(x)
    class_output = layers.Dense(classes, activation="softmax", name="class")(x)
    box_output = layers.Dense(4, activation="sigmoid", name="box")(x)
    return Model(inputs, [class_output, box_output], name="localizer")


def boxes_figure(images: np.ndarray, true_boxes: np.ndarray, predicted_boxes: np.ndarray, true_labels: np.ndarray,
                 predicted_labels: np.ndarray, names: tuple[str, ...]) -> Any:
    """The images with the true box (green) and the predicted one (red, dashed), and both labels."""
    from matplotlib.patches import Rectangle

    from ..plot._base import figure, panels

    fig = figure((2.2 * min(len(images), 6), 2.5 * -(-len(images) // 6)))
    for ax, image, tb, pb, tl, pl in zip(panels(fig, len(images), min(len(images), 6)), images, true_boxes,
                                         predicted_boxes, true_labels, predicted_labels):
        h, w = image.shape[:2]
        ax.imshow(image)
        for box, color, style in ((tb, "lime", "-"), (pb, "red", "--")):
            x0, y0, x1, y1 = box * np.array([w, h, w, h])
            ax.add_patch(Rectangle((x0 - 0.5, y0 - 0.5), x1 - x0, y1 - y0, fill=False, edgecolor=color,
                                   linestyle=style, linewidth=1.5))
        ax.set_title(f"{_(names[tl])} / {_(names[pl])}", fontsize=8)
        ax.set_xticks([])
        ax.set_yticks([])
    return fig


def run(quick: bool = False, *, report: Any = None, verbose: int = 1) -> dict[str, float]:
    from ..datasets.objects import SHAPES, shapes_on_clutter
    from ..metrics import box_iou
    from ..optimizers import Adam

    c.start(0)
    n_train, epochs = (600, 4) if quick else (2500, 15)
    x_train, y_train, b_train = shapes_on_clutter(n_train, SIZE, seed=0)
    x_test, y_test, b_test = shapes_on_clutter(200 if quick else 500, SIZE, seed=1)
    model = build_model()
    model.compile(optimizer=Adam(learning_rate=0.001),
                  loss={"class": "sparse_categorical_crossentropy", "box": "mse"},
                  loss_weights={"class": 1.0, "box": 20.0}, metrics={"class": ["accuracy"]})
    c.say(verbose, _("Training a two-headed CNN ({params} parameters) on {n} images for {epochs} epochs").format(
        params=f"{model.count_params():,}", n=n_train, epochs=epochs))
    history = model.fit(x_train, {"class": y_train, "box": b_train}, batch_size=32, epochs=epochs,
                        validation_split=0.1, **c.fit_options(epochs, verbose))
    class_probs, boxes = model.predict(x_test, verbose=0)
    predicted = class_probs.argmax(axis=1)
    ious = box_iou(b_test, boxes)
    metrics = {"class_accuracy": float(np.mean(predicted == y_test)), "mean_box_iou": float(ious.mean()),
               "boxes_iou_over_0.5": float(np.mean(ious > 0.5))}
    c.say(verbose, _("Held-out images: class accuracy {acc:.3f}, mean box IoU {iou:.3f}").format(
        acc=metrics["class_accuracy"], iou=metrics["mean_box_iou"]))

    sec = c.section(report, "localization")
    if sec is not None:
        c.metrics_table(sec, metrics)
        c.add_history(sec, history)
        sec.plot(boxes_figure, x_test[:12], b_test[:12], boxes[:12], y_test[:12], predicted[:12], SHAPES,
                 caption=_("Held-out images: the true box (green) and the predicted one (red, dashed); "
                           "above each, the true class / the predicted class"))
    return metrics
