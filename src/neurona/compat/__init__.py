"""Compatibility layers: `neurona.compat.v1` runs TensorFlow 1 graph-and-session programs on neurona's engine."""
