"""Callbacks for `fit`, with Keras's names: History, EarlyStopping, ModelCheckpoint, ReduceLROnPlateau,
LearningRateScheduler, CSVLogger, TerminateOnNaN, LambdaCallback, ProgbarLogger, BackupAndRestore."""

from .backup import BackupAndRestore
from .base import Callback, CallbackList, History
from .checkpoint import ModelCheckpoint
from .early_stopping import EarlyStopping, MonitorCallback
from .learning_rate import LearningRateScheduler, ReduceLROnPlateau
from .progress import ProgbarLogger
from .simple import CSVLogger, LambdaCallback, TerminateOnNaN

__all__ = [
    "BackupAndRestore", "CSVLogger", "Callback", "CallbackList", "EarlyStopping", "History", "LambdaCallback",
    "LearningRateScheduler", "ModelCheckpoint", "MonitorCallback", "ProgbarLogger", "ReduceLROnPlateau",
    "TerminateOnNaN",
]
