"""The errors a TF1 session raises, with TensorFlow's names so `except tf.errors.InvalidArgumentError` works."""

from __future__ import annotations


class OpError(Exception):
    """An op could not run; `node_def_name` names the graph node, as in TensorFlow."""

    def __init__(self, node_def: object, op: object, message: str) -> None:
        super().__init__(message)
        self.node_def, self.op, self.message = node_def, op, message


class InvalidArgumentError(OpError):
    """A placeholder was not fed, or an op got an argument it cannot use."""


class FailedPreconditionError(OpError):
    """The session is not ready for the op: typically a Variable read before its initialiser ran."""


class NotFoundError(OpError):
    """A file or a saved variable was not found."""


__all__ = ["FailedPreconditionError", "InvalidArgumentError", "NotFoundError", "OpError"]
