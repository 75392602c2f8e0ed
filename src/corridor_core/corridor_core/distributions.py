"""Service-time distributions of stations, in seconds.

File form (one mapping)::

    {dist: lognormal, mean: 20, sd: 6, min: 8, max: 60}
    {dist: uniform, low: 60, high: 180}
    {dist: triangular, low: 120, mode: 240, high: 300}
    {dist: exponential, mean: 5}
    {dist: constant, value: 24}

``min``/``max`` clip a lognormal. :attr:`Distribution.mean_s` is the unclipped mean (what the
capacity calculator uses); :meth:`Distribution.sample` draws with a caller-supplied numpy
Generator, never global randomness.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Protocol

from corridor_core.config_reader import Field

KINDS = ("lognormal", "uniform", "triangular", "exponential", "constant")


class Rng(Protocol):
    """The slice of numpy.random.Generator this module uses (keeps numpy out of the core)."""

    def lognormal(self, mean: float, sigma: float) -> float: ...
    def uniform(self, low: float, high: float) -> float: ...
    def triangular(self, left: float, mode: float, right: float) -> float: ...
    def exponential(self, scale: float) -> float: ...


@dataclass(frozen=True)
class Distribution:
    """A service time in seconds. Parameters unused by ``dist`` are 0."""

    dist: str
    mean: float = 0.0
    sd: float = 0.0
    low: float = 0.0
    mode: float = 0.0
    high: float = 0.0
    value: float = 0.0
    clip_min: float | None = None
    clip_max: float | None = None

    @property
    def mean_s(self) -> float:
        """Mean service time in seconds (unclipped)."""
        if self.dist in ("lognormal", "exponential"):
            return self.mean
        if self.dist == "uniform":
            return (self.low + self.high) / 2
        if self.dist == "triangular":
            return (self.low + self.mode + self.high) / 3
        return self.value

    def sample(self, rng: Rng) -> float:
        """One draw, in seconds."""
        if self.dist == "lognormal":
            sigma2 = math.log(1 + (self.sd / self.mean) ** 2)
            x = float(rng.lognormal(math.log(self.mean) - sigma2 / 2, math.sqrt(sigma2)))
            if self.clip_min is not None:
                x = max(x, self.clip_min)
            if self.clip_max is not None:
                x = min(x, self.clip_max)
            return x
        if self.dist == "uniform":
            return float(rng.uniform(self.low, self.high))
        if self.dist == "triangular":
            return float(rng.triangular(self.low, self.mode, self.high))
        if self.dist == "exponential":
            return float(rng.exponential(self.mean))
        return self.value

    def to_dict(self) -> dict[str, Any]:
        """The file form."""
        if self.dist == "lognormal":
            out: dict[str, Any] = {"dist": "lognormal", "mean": self.mean, "sd": self.sd}
            if self.clip_min is not None:
                out["min"] = self.clip_min
            if self.clip_max is not None:
                out["max"] = self.clip_max
            return out
        if self.dist == "uniform":
            return {"dist": "uniform", "low": self.low, "high": self.high}
        if self.dist == "triangular":
            return {"dist": "triangular", "low": self.low, "mode": self.mode, "high": self.high}
        if self.dist == "exponential":
            return {"dist": "exponential", "mean": self.mean}
        return {"dist": "constant", "value": self.value}


def parse_distribution(field: Field) -> Distribution:
    """Read a distribution; raises ConfigError naming the path and the rule broken."""
    kind = field.get("dist").choice(list(KINDS))
    if kind == "lognormal":
        mean = field.get("mean").number(gt=0)
        sd = field.get("sd").number(ge=0)
        low = field.get("min", None)
        high = field.get("max", None)
        clip_min = low.number(ge=0) if low.value is not None else None
        clip_max = high.number(gt=0) if high.value is not None else None
        if clip_min is not None and clip_max is not None and clip_max < clip_min:
            raise high.error("must be >= min")
        return Distribution("lognormal", mean=mean, sd=sd, clip_min=clip_min, clip_max=clip_max)
    if kind == "uniform":
        low_v = field.get("low").number(ge=0)
        high_f = field.get("high")
        if high_f.number(ge=0) < low_v:
            raise high_f.error("must be >= low")
        return Distribution("uniform", low=low_v, high=high_f.number())
    if kind == "triangular":
        low_v = field.get("low").number(ge=0)
        mode_f, high_f = field.get("mode"), field.get("high")
        if not low_v <= mode_f.number() <= high_f.number():
            raise mode_f.error("must satisfy low <= mode <= high")
        return Distribution("triangular", low=low_v, mode=mode_f.number(), high=high_f.number())
    if kind == "exponential":
        return Distribution("exponential", mean=field.get("mean").number(gt=0))
    return Distribution("constant", value=field.get("value").number(ge=0))
