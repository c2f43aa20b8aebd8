"""Ctrl-C for the command line: always one line, a non-zero exit and a resumable folder.

Python turns SIGINT into a KeyboardInterrupt at the next bytecode, wherever that is. Two places lose it: while JAX
and its extensions import (the interrupt becomes an ImportError traceback, or a library's broad ``except`` swallows
it and the run goes on to exit 0), and any later library code that catches it. So the CLI *holds* a Ctrl-C while it
imports (:func:`hold`), raises it once the program is ready (:func:`arm`), and remembers every press, so that an
interrupt some library swallowed is still reported when the run returns (:func:`pending`).
"""

import signal

_pressed = False


def _remember(signum, frame):
    global _pressed
    _pressed = True


def _interrupt(signum, frame):
    global _pressed
    _pressed = True
    raise KeyboardInterrupt


def hold() -> None:
    """Remember a Ctrl-C without raising (imports, the exit path)."""
    signal.signal(signal.SIGINT, _remember)


def arm() -> None:
    """Raise KeyboardInterrupt on Ctrl-C from now on, and at once if one was pressed while held."""
    signal.signal(signal.SIGINT, _interrupt)
    if _pressed:
        raise KeyboardInterrupt


def pending() -> bool:
    """Whether Ctrl-C was pressed since the program started (even if some code swallowed the exception)."""
    return _pressed
