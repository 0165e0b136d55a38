"""Tooling for the transfer-learning course: assets, release, autograding.

The flow is solutions/ -> release (notebooks/, Colab) -> submissions -> grades.
"""

__version__ = "0.1.0"
