"""biotrainer: breath practice with physiological feedback.

A practice and research tool, not a medical device. See README.md.
"""

__version__ = "0.1.0"
