"""Closed forms and bounds for the test error of self-consuming loops, and a checker against simulation.

Entry points per family (each returns TheoryCurves with their metric set, or raises TheoryUnavailable):
``linear_theory`` / ``linear_bounds`` (regression, ridge, token editing), ``gaussian_theory`` /
``gaussian_bounds``, ``gmm_classify_theory`` (verification). ``check(samples, curve)`` compares a simulation.
"""

from theory.check import CheckResult, check
from theory.curves import TheoryCurve, TheoryUnavailable
from theory.gaussian import gaussian_bounds, gaussian_theory
from theory.regression import linear_bounds, linear_theory
from theory.verification import gmm_classify_theory

__all__ = ["CheckResult", "TheoryCurve", "TheoryUnavailable", "check", "gaussian_bounds", "gaussian_theory",
           "gmm_classify_theory", "linear_bounds", "linear_theory"]
