"""Plumbing for the cats-vs-dogs tutorial notebooks.

The teaching code (generators, model, training loop, plots) lives in the notebooks.
This package holds what a learner should not have to read: paths, the download and
its verification, artifact files, and the small helpers the notebooks share.
"""

__version__ = "0.1.0"
