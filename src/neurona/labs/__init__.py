"""The course's labs, runnable by name: `neurona lab list`, `neurona lab wine`, or from Python:

>>> from neurona import labs
>>> [lab.name for lab in labs.LABS][:3]
['perceptron', 'sum', 'product']

Each lab is one module here whose `run(quick=False, *, report=None, verbose=1)` trains what the slides
train, prints Keras-style logs, adds its tables and figures to a `neurona.report.Report` when given one, and
returns its metrics as a dict (the first entry is the headline). `quick=True` trains on less data for fewer
epochs, for tests and a first look. Lab code reads like the slides' code, so it doubles as an example.
"""

from __future__ import annotations

import importlib
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..i18n import N_


@dataclass(frozen=True)
class Lab:
    """What `neurona lab list` shows about a lab, and where its code and documentation are."""

    name: str
    module: str
    title: str  # English; shown translated
    summary: str
    slides: str
    docs: str
    example: str | None = None
    core: bool = False  # part of `neurona demo`

    @property
    def path(self) -> Path:
        """The file of the lab's code."""
        return Path(__file__).resolve().parent / f"{self.module}.py"


LABS: tuple[Lab, ...] = (
    Lab("perceptron", "perceptron", N_("The perceptron and the neuron"),
        N_("Rosenblatt's perceptron learns AND and OR but not XOR; one sigmoid neuron (logistic regression) "
           "separates two clouds of points, and a hidden layer solves XOR."),
        "001, 004", "docs/perceptron.md"),
    Lab("sum", "sum", N_("Learn to add two numbers"),
        N_("A regression network learns x1 + x2 from examples, judged by the error E, Pearson's rho and R2."),
        "001", "docs/mlp.md", "examples/add_numbers.py", core=True),
    Lab("product", "product", N_("Learn to multiply four numbers"),
        N_("The slides' exercise 1: a network with two hidden layers learns x1 x2 x3 x4."),
        "001", "docs/mlp.md", "examples/multiply_four.py"),
    Lab("wine", "wine", N_("Classify wine by cultivator"),
        N_("The slides' exercise 2: 13 chemical measurements, standardised, into a 13-13-13 network; "
           "confusion matrix and classification report on the test set."),
        "001", "docs/evaluation.md", "examples/wine.py", core=True),
    Lab("mnist-mlp", "mnist_mlp", N_("Handwritten digits with the slides' dense network"),
        N_("The Keras workflow of deck 002 (784-10 sigmoid-10 softmax, SGD, batches of 100) on digits "
           "upscaled to 28x28, plus the softmax regression whose weights show the evidence for each digit."),
        "002", "docs/keras_workflow.md", "examples/mnist_mlp.py", core=True),
    Lab("cnn", "cnn", N_("Handwritten digits with the slides' convolutional network"),
        N_("Conv2D(32, 5x5) - MaxPooling - Conv2D(64, 5x5) - MaxPooling - Flatten - Dense(10): 62,346 "
           "parameters; the learned filters and the feature maps of one digit."),
        "002", "docs/cnn_lab.md", "examples/cnn_digits.py", core=True),
    Lab("augmentation", "augmentation", N_("Data augmentation"),
        N_("ImageDataGenerator shifts, rotates and zooms the training digits; the network trained on them "
           "recognises shifted and rotated digits that the one trained on the originals misses."),
        "002", "docs/data.md"),
    Lab("transfer", "transfer", N_("Transfer learning"),
        N_("A LeNet-5 trained on the digits 0-4 learns the digits 5-9 from 20 images of each: feature "
           "extraction with the base frozen, then fine-tuning, against training from scratch."),
        "002", "docs/transfer_learning.md", "examples/transfer_learning.py"),
    Lab("tf-graph", "tf_graph", N_("TensorFlow's dataflow graph, run in a session"),
        N_("Deck 003's program (placeholders, Variables, softmax regression, GradientDescentOptimizer, "
           "Session.run with a feed_dict) run unchanged on neurona.compat.v1, and the graph it builds drawn."),
        "003", "docs/tf1.md", "examples/tf1_softmax_regression.py"),
    Lab("recommender", "recommender", N_("Recommender systems by collaborative filtering"),
        N_("The slides' ratings matrix worked by hand (user- and item-based CF), then 100,000 synthetic ratings: "
           "KNN, matrix factorisation and neural MF against the global mean, and the RMSE by neighbourhood size."),
        "000", "docs/recommenders.md"),
    Lab("text", "text", N_("Sentiment of reviews: LSTM and transformer"),
        N_("Generated reviews with negations and contrasts, turned into token ids by TextVectorization; an "
           "Embedding + LSTM network and a transformer encoder classify them side by side."),
        "002, 003", "docs/text_lab.md"),
    Lab("attention", "attention", N_("Attention weights on a toy task"),
        N_("One MultiHeadAttention head learns to reverse and to copy sequences of digits; the picture of its "
           "weights shows which input position each output position reads."),
        "002", "docs/attention.md"),
    Lab("road", "road", N_("Road segmentation with a U-Net"),
        N_("A U-Net marks the road pixel by pixel in synthetic aerial scenes (curved roads, lane marks, "
           "shadows, noise); intersection over union on held-out scenes, and image / truth / prediction."),
        "002", "docs/road_lab.md"),
    Lab("localization", "localization", N_("Object localisation: a class and a box"),
        N_("A CNN with two heads names the one object in a cluttered image (softmax) and draws its box "
           "(regression), trained with weighted losses; class accuracy and box IoU on held-out images."),
        "002", "docs/localization_lab.md"),
    Lab("forecast", "forecast", N_("Forecast a seasonal series"),
        N_("An LSTM predicts a noisy series with a trend and two seasons four steps ahead, against a dense "
           "window model and the last-value baseline; a plot of the forecasts against the truth."),
        "003", "docs/sequences_lab.md"),
    Lab("baby-cry", "baby_cry", N_("Is the baby crying?"),
        N_("Cries, noise and speech-like sounds generated as audio and saved as WAV files become log-mel "
           "spectrograms that a small CNN classifies."),
        "001", "docs/sequences_lab.md"),
    Lab("char-rnn", "char_rnn", N_("Generate text character by character"),
        N_("An LSTM learns to predict the next character of a text and then writes new text by sampling "
           "its own predictions."),
        "003", "docs/sequences_lab.md"),
    Lab("autoencoder", "autoencoder", N_("Autoencoders: denoising, anomalies, missing pixels"),
        N_("Dense and convolutional autoencoders clean noisy digits, fill in missing pixels and, trained without "
           "the zeros, flag them as anomalies by their reconstruction error."),
        "002", "docs/generative.md"),
    Lab("vae", "vae", N_("Variational autoencoder"),
        N_("A VAE with a 2-D code, trained by a custom train_step (reconstruction + KL): the digits in its latent "
           "plane and new digits decoded from it."),
        "002", "docs/generative.md"),
    Lab("gan", "gan", N_("Generative adversarial network"),
        N_("A DCGAN on 16x16 digits, its train_step alternating the discriminator and the generator: a grid of "
           "samples per epoch and both losses."),
        "002", "docs/generative.md"),
    Lab("dbn", "dbn", N_("Deep belief network"),
        N_("Two RBMs pre-trained greedily on unlabelled digits become a Dense network fine-tuned by fit, against "
           "the same network trained from scratch."),
        "002", "docs/generative.md"),
)

CORE = tuple(lab.name for lab in LABS if lab.core)


def names() -> list[str]:
    """The names of every lab, in the course's order."""
    return [lab.name for lab in LABS]


def get(name: str) -> Lab:
    """The lab called `name` ('mnist_mlp' and 'MNIST-MLP' work too)."""
    key = name.strip().lower().replace("_", "-")
    for lab in LABS:
        if lab.name == key:
            return lab
    from ..suggest import did_you_mean

    hint = did_you_mean(key, names())
    raise KeyError(f"there is no lab called {name!r}{' (' + hint + ')' if hint else ''}; the labs are: "
                   f"{', '.join(names())}")


def run(name: str, quick: bool = False, *, report: Any = None, verbose: int = 1) -> dict[str, float]:
    """Run a lab and return its metrics, plus 'seconds' (its wall-clock time)."""
    lab = get(name)
    module = importlib.import_module(f"{__name__}.{lab.module}")
    start = time.perf_counter()
    metrics = dict(module.run(quick, report=report, verbose=verbose))
    metrics["seconds"] = time.perf_counter() - start
    return metrics


__all__ = ["CORE", "LABS", "Lab", "get", "names", "run"]
