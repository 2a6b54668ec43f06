"""Worker settings from arguments or ``QBACKGROUND_*`` environment variables."""

from __future__ import annotations

import math
import os

__all__ = ["resolve_bool", "resolve_choice", "resolve_count", "resolve_seconds"]


def _env(name: str) -> str | None:
    value = os.environ.get(name)
    return value.strip() if value is not None and value.strip() else None


def resolve_count(value: int | None, env: str, default: int | None, *, minimum: int) -> int | None:
    """An int setting: the argument, else ``$env``, else ``default``."""
    source = "argument"
    raw: object = value
    if raw is None:
        text = _env(env)
        if text is None:
            return default
        source = f"environment variable {env}"
        try:
            raw = int(text)
        except ValueError:
            raise ValueError(f"{env}={text!r} is not a whole number") from None
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise TypeError(f"{env.removeprefix('QBACKGROUND_').lower()} must be an int, not {type(raw).__name__}")
    if raw < minimum:
        raise ValueError(f"{env.removeprefix('QBACKGROUND_').lower()} must be at least {minimum}, got {raw} ({source})")
    return raw


def resolve_seconds(value: float | None, env: str, default: float) -> float:
    """A positive duration setting in seconds."""
    raw: object = value
    name = env.removeprefix("QBACKGROUND_").lower()
    if raw is None:
        text = _env(env)
        if text is None:
            return default
        try:
            raw = float(text)
        except ValueError:
            raise ValueError(f"{env}={text!r} is not a number of seconds") from None
    if isinstance(raw, bool) or not isinstance(raw, (int, float)):
        raise TypeError(f"{name} must be a number of seconds, not {type(raw).__name__}")
    seconds = float(raw)
    if math.isnan(seconds) or seconds <= 0 or math.isinf(seconds):
        raise ValueError(f"{name} must be a positive, finite number of seconds, got {raw!r}")
    return seconds


def resolve_bool(value: bool | None, env: str, default: bool) -> bool:
    """A flag: the argument, else ``$env`` (1/true/yes/on or 0/false/no/off)."""
    if value is not None:
        if not isinstance(value, bool):
            raise TypeError(f"{env.removeprefix('QBACKGROUND_').lower()} must be a bool, not {type(value).__name__}")
        return value
    text = _env(env)
    if text is None:
        return default
    lowered = text.lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ValueError(f"{env}={text!r}: use 1/true/yes/on or 0/false/no/off")


def resolve_choice(value: str | None, env: str, default: str, choices: tuple[str, ...]) -> str:
    """One of ``choices``: the argument, else ``$env``, else ``default``."""
    name = env.removeprefix("QBACKGROUND_").lower()
    raw: object = value
    source = "argument"
    if raw is None:
        text = _env(env)
        if text is None:
            return default
        raw, source = text.lower(), f"environment variable {env}"
    if not isinstance(raw, str):
        raise TypeError(f"{name} must be a str, not {type(raw).__name__}")
    if raw not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}, got {raw!r} ({source})")
    return raw
