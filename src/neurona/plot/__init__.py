"""Pictures for judging and understanding a network, drawn with matplotlib (optional: pip install 'neurona[plot]').

Every function returns the matplotlib Figure (shown by Jupyter when it is a cell's last value) and saves it when
given `path=` ("curves.png"). No pyplot state is touched, so they run in scripts, tests and servers alike.

- `history`: learning curves, training vs validation, best epoch marked
- `confusion_matrix`: counts and normalised
- `images`: a grid of images with true/predicted labels, misclassified highlighted
- `dense_weights_as_images`: each class's Dense weights as an image (red negative, blue positive)
- `conv_filters`, `feature_maps`: what a convolution learned and what it responds to
- `decision_boundary`: a classifier's regions over 2-D data
- `model`, `graph`: a model's layer graph and the engine's op graph (`neurona.trace`)
"""

from .decision import decision_boundary
from .graphs import graph, model
from .images import conv_filters, dense_weights_as_images, feature_maps, images
from .training import confusion_matrix, history

__all__ = [
    "confusion_matrix", "conv_filters", "decision_boundary", "dense_weights_as_images", "feature_maps", "graph",
    "history", "images", "model",
]
