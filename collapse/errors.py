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
