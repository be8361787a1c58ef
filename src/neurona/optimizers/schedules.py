"""Learning-rate schedules: `schedule(step) -> float`, evaluated by the optimizer at every update.

The formulas are Keras's (keras.optimizers.schedules), `step` being the optimizer's `iterations`.

>>> from neurona.optimizers.schedules import ExponentialDecay
>>> s = ExponentialDecay(0.1, decay_steps=100, decay_rate=0.5)
>>> s(0), s(100), s(200)
(0.1, 0.05, 0.025)
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from typing import Any

from .. import registry


class LearningRateSchedule(registry.Serializable):
    """Base class: `__call__(step)` returns the learning rate for that step; `get_config()` mirrors `__init__`."""

    registry_kind = "schedule"

    def __call__(self, step: int) -> float:
        raise NotImplementedError(f"learning rate schedule {type(self).__name__} must implement __call__(step)")

    def get_config(self) -> dict[str, Any]:
        raise NotImplementedError(f"learning rate schedule {type(self).__name__} must implement get_config()")


def _positive_steps(value: float, name: str) -> float:
    if not value > 0:
        raise ValueError(f"{name} must be > 0, got {value}")
    return value


class ExponentialDecay(LearningRateSchedule):
    """initial_learning_rate * decay_rate ** (step / decay_steps); `staircase` floors the exponent."""

    def __init__(self, initial_learning_rate: float, decay_steps: float, decay_rate: float, staircase: bool = False,
                 name: str = "ExponentialDecay") -> None:
        self.initial_learning_rate, self.decay_rate = initial_learning_rate, decay_rate
        self.decay_steps = _positive_steps(decay_steps, "decay_steps")
        self.staircase, self.name = staircase, name

    def __call__(self, step):
        p = step / self.decay_steps
        return self.initial_learning_rate * self.decay_rate ** (math.floor(p) if self.staircase else p)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "decay_rate": self.decay_rate, "staircase": self.staircase, "name": self.name}


class InverseTimeDecay(LearningRateSchedule):
    """initial_learning_rate / (1 + decay_rate * step / decay_steps); `staircase` floors step / decay_steps."""

    def __init__(self, initial_learning_rate: float, decay_steps: float, decay_rate: float, staircase: bool = False,
                 name: str = "InverseTimeDecay") -> None:
        self.initial_learning_rate, self.decay_rate = initial_learning_rate, decay_rate
        self.decay_steps = _positive_steps(decay_steps, "decay_steps")
        self.staircase, self.name = staircase, name

    def __call__(self, step):
        p = step / self.decay_steps
        return self.initial_learning_rate / (1 + self.decay_rate * (math.floor(p) if self.staircase else p))

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "decay_rate": self.decay_rate, "staircase": self.staircase, "name": self.name}


class PiecewiseConstantDecay(LearningRateSchedule):
    """values[0] while step <= boundaries[0], values[i] while boundaries[i-1] < step <= boundaries[i], ..."""

    def __init__(self, boundaries: Sequence[float], values: Sequence[float], name: str = "PiecewiseConstant") -> None:
        if len(boundaries) != len(values) - 1:
            raise ValueError(f"PiecewiseConstantDecay needs one boundary fewer than values, got {len(boundaries)} "
                             f"boundaries {list(boundaries)} and {len(values)} values {list(values)}")
        if list(boundaries) != sorted(boundaries):
            raise ValueError(f"PiecewiseConstantDecay boundaries must be increasing, got {list(boundaries)}")
        self.boundaries, self.values, self.name = list(boundaries), list(values), name

    def __call__(self, step):
        return self.values[bisect.bisect_left(self.boundaries, step)]

    def get_config(self):
        return {"boundaries": self.boundaries, "values": self.values, "name": self.name}


class PolynomialDecay(LearningRateSchedule):
    """From initial to end_learning_rate as (1 - step / decay_steps) ** power; `cycle` restarts it."""

    def __init__(self, initial_learning_rate: float, decay_steps: float, end_learning_rate: float = 0.0001,
                 power: float = 1.0, cycle: bool = False, name: str = "PolynomialDecay") -> None:
        self.initial_learning_rate, self.end_learning_rate = initial_learning_rate, end_learning_rate
        self.decay_steps = _positive_steps(decay_steps, "decay_steps")
        self.power, self.cycle, self.name = power, cycle, name

    def __call__(self, step):
        decay_steps = self.decay_steps
        if self.cycle:
            decay_steps *= 1.0 if step == 0 else math.ceil(step / self.decay_steps)
        else:
            step = min(step, decay_steps)
        p = step / decay_steps
        return (self.initial_learning_rate - self.end_learning_rate) * (1 - p) ** self.power + self.end_learning_rate

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "end_learning_rate": self.end_learning_rate, "power": self.power, "cycle": self.cycle,
                "name": self.name}


class CosineDecay(LearningRateSchedule):
    """Half a cosine from the initial rate down to alpha * initial over decay_steps.

    With `warmup_target`, the rate first rises linearly from initial_learning_rate to warmup_target over
    `warmup_steps`, then the cosine decays from warmup_target.
    """

    def __init__(self, initial_learning_rate: float, decay_steps: float, alpha: float = 0.0,
                 name: str = "CosineDecay", warmup_target: float | None = None, warmup_steps: float = 0) -> None:
        self.initial_learning_rate, self.alpha = initial_learning_rate, alpha
        self.decay_steps = _positive_steps(decay_steps, "decay_steps")
        self.name, self.warmup_target, self.warmup_steps = name, warmup_target, warmup_steps

    def _decay(self, step: float, start: float) -> float:
        cosine = 0.5 * (1.0 + math.cos(math.pi * step / self.decay_steps))
        return start * ((1 - self.alpha) * cosine + self.alpha)

    def __call__(self, step):
        if self.warmup_target is None:
            return self._decay(min(step, self.decay_steps), self.initial_learning_rate)
        step = min(step, self.decay_steps + self.warmup_steps)
        if step < self.warmup_steps:
            done = step / self.warmup_steps
            return (self.warmup_target - self.initial_learning_rate) * done + self.initial_learning_rate
        return self._decay(step - self.warmup_steps, self.warmup_target)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "alpha": self.alpha, "name": self.name, "warmup_target": self.warmup_target,
                "warmup_steps": self.warmup_steps}


class CosineDecayRestarts(LearningRateSchedule):
    """Cosine decay restarted after first_decay_steps, each period t_mul times longer and m_mul times lower (SGDR)."""

    def __init__(self, initial_learning_rate: float, first_decay_steps: float, t_mul: float = 2.0, m_mul: float = 1.0,
                 alpha: float = 0.0, name: str = "SGDRDecay") -> None:
        self.initial_learning_rate = initial_learning_rate
        self.first_decay_steps = _positive_steps(first_decay_steps, "first_decay_steps")
        self.t_mul, self.m_mul, self.alpha, self.name = t_mul, m_mul, alpha, name

    def __call__(self, step):
        fraction = step / self.first_decay_steps
        if self.t_mul == 1.0:
            restart = math.floor(fraction)
            fraction -= restart
        else:  # periods grow geometrically: find which one `fraction` falls in
            restart = math.floor(math.log(1.0 - fraction * (1.0 - self.t_mul)) / math.log(self.t_mul))
            done = (1.0 - self.t_mul**restart) / (1.0 - self.t_mul)
            fraction = (fraction - done) / self.t_mul**restart
        cosine = 0.5 * self.m_mul**restart * (1.0 + math.cos(math.pi * fraction))
        return self.initial_learning_rate * ((1 - self.alpha) * cosine + self.alpha)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "first_decay_steps": self.first_decay_steps,
                "t_mul": self.t_mul, "m_mul": self.m_mul, "alpha": self.alpha, "name": self.name}


_CLASSES: dict[str, type[LearningRateSchedule]] = {
    cls.__name__: cls
    for cls in (ExponentialDecay, InverseTimeDecay, PiecewiseConstantDecay, PolynomialDecay, CosineDecay,
                CosineDecayRestarts)
}


def serialize(schedule: LearningRateSchedule) -> dict[str, Any]:
    """{"class_name": ..., "config": ...}, the JSON form stored in optimizer configs."""
    return registry.to_config(schedule)


def deserialize(config: dict[str, Any], custom_objects: dict[str, type] | None = None) -> LearningRateSchedule:
    """Rebuild a schedule from `serialize`'s dict (Keras's dicts too); unknown class names are refused."""
    return registry.from_config("schedule", config, custom_objects, what="learning rate schedule")


__all__ = ["LearningRateSchedule", "deserialize", "serialize", *sorted(_CLASSES)]
