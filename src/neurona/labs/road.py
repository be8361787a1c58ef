"""Deck 002's segmentation lab: a U-Net finds the road in (synthetic) aerial images, pixel by pixel.

The scenes come from `neurona.datasets.roads` (curved roads with lane marks on textured ground, shadows and
noise), 64x64 here so that it trains in about a minute on a laptop (32x32 in quick mode). The network is
`neurona.applications.UNet` (three steps down and up, 8 filters at the top), trained with binary
cross-entropy and judged by the intersection over union (IoU) of the predicted and true road on held-out
scenes made with another seed. The same code runs on real images loaded with
`neurona.preprocessing.masks.flow_from_directory`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..i18n import _
from ..i18n.numbers import number
from . import _common as c

SIZE = 64


def build_model(size: int = SIZE) -> Any:
    """The lab's U-Net: one sigmoid output per pixel (road or not)."""
    from ..applications import UNet

    return UNet((size, size, 3), classes=1, depth=3, filters=8, upsampling="transpose")


def segmentation_figure(images: np.ndarray, truth: np.ndarray, predicted: np.ndarray, ious: np.ndarray) -> Any:
    """Rows of image / true mask / predicted mask (probability), with each image's IoU."""
    from ..plot._base import figure

    n = len(images)
    fig = figure((2.2 * n, 6.6))
    titles = (_("image"), _("truth"), _("prediction"))
    for j in range(n):
        for i, (data, cmap) in enumerate(((images[j], None), (truth[j, ..., 0], "gray"),
                                          (predicted[j, ..., 0], "gray"))):
            ax = fig.add_subplot(3, n, i * n + j + 1)
            ax.imshow(data, cmap=cmap, vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            if j == 0:
                ax.set_ylabel(titles[i])
        fig.axes[-1].set_xlabel(f"IoU {number(ious[j], '.2f')}")
    return fig


def run(quick: bool = False, *, report: Any = None, verbose: int = 1) -> dict[str, float]:
    from ..datasets.roads import roads
    from ..metrics import BinaryIoU
    from ..optimizers import Adam

    c.start(0)
    size, n_train, epochs = (32, 320, 6) if quick else (SIZE, 400, 12)
    x_train, y_train = roads(n_train, size, seed=0)
    x_test, y_test = roads(60 if quick else 200, size, seed=1)
    model = build_model(size)
    model.compile(optimizer=Adam(learning_rate=0.003), loss="binary_crossentropy",
                  metrics=[BinaryIoU(target_class_ids=[1], name="iou")])
    c.say(verbose, _("Training a U-Net ({params} parameters) on {n} road scenes for {epochs} epochs").format(
        params=f"{model.count_params():,}", n=n_train, epochs=epochs))
    history = model.fit(x_train, y_train.astype("float32"), batch_size=16, epochs=epochs,
                        validation_data=(x_test, y_test.astype("float32")), **c.fit_options(epochs, verbose))
    predicted = model.predict(x_test, verbose=0)
    iou = BinaryIoU(target_class_ids=[1])
    iou.update_state(y_test, predicted)
    per_image = []
    for t, p in zip(y_test, predicted):
        m = BinaryIoU(target_class_ids=[1])
        m.update_state(t, p)
        per_image.append(m.result())
    pixel_accuracy = float(np.mean((predicted >= 0.5) == (y_test == 1)))
    metrics = {"test_iou": float(iou.result()), "pixel_accuracy": pixel_accuracy,
               "road_share": float(y_test.mean())}
    c.say(verbose, _("Road IoU on {n} held-out scenes: {iou:.3f} (pixel accuracy {acc:.3f})").format(
        n=len(x_test), iou=metrics["test_iou"], acc=pixel_accuracy))

    sec = c.section(report, "road")
    if sec is not None:
        c.metrics_table(sec, metrics)
        c.add_history(sec, history)
        sec.plot(segmentation_figure, x_test[:6], y_test[:6], predicted[:6], np.array(per_image[:6]),
                 caption=_("Held-out scenes: the image, the true road and the U-Net's prediction "
                           "(white: road), with each scene's IoU"))
    return metrics
