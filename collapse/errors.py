"""One error type for bad input, so every entry point reports it the same way."""


class ConfigError(ValueError):
    """Invalid user input: names the parameter, the value given and what is allowed.

    The CLI prints ``str(err)`` as one line and exits with status 2.
    """

    def __init__(self, param: str, value, allowed: str, message: str | None = None):
        self.param, self.value, self.allowed = param, value, allowed
        super().__init__(message or f"{param} must be {allowed}; got {param}={value!r}")


def require(cond: bool, param: str, value, allowed: str) -> None:
    """Raise :class:`ConfigError` unless ``cond`` holds."""
    if not cond:
        raise ConfigError(param, value, allowed)


class Diverged(RuntimeError):
    """A training run whose loss became NaN or inf: stopped, and reported by the runner instead of scored."""


def check_losses(losses, what: str, offset: int = 0) -> None:
    """Raise :class:`Diverged` naming the first step (``offset`` + index) whose loss is not finite."""
    import numpy as np

    losses = np.asarray(losses, float).reshape(-1) if np.ndim(losses) <= 1 else np.asarray(losses, float)
    bad = ~np.isfinite(losses)
    if bad.any():
        step = int(np.argwhere(bad)[0][-1]) + offset + 1
        raise Diverged(f"{what}: training loss diverged (non-finite at step {step}); lower --lr")
