"""Closed forms and bounds for the test error of self-consuming loops, and a checker against simulation."""

from theory.check import CheckResult, check
from theory.curves import TheoryCurve, TheoryUnavailable

__all__ = ["CheckResult", "TheoryCurve", "TheoryUnavailable", "check"]
