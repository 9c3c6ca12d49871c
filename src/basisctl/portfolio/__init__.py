"""A book of many positions: the pure allocation solver (:mod:`basisctl.portfolio.allocate`) and the
DataFrame API over venue tables (:func:`allocate_book`)."""

from basisctl.portfolio.allocate import make_problem, shrinkage_covariance, solve
from basisctl.portfolio.book import Allocation
from basisctl.portfolio.book import allocate as allocate_book

__all__ = ["Allocation", "allocate_book", "make_problem", "shrinkage_covariance", "solve"]
