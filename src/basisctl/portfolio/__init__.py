"""A book of many positions: the pure allocation solver and the allocation API over venue tables."""

from basisctl.portfolio.allocate import make_problem, shrinkage_covariance, solve
from basisctl.portfolio.book import Allocation, allocate

__all__ = ["Allocation", "allocate", "make_problem", "shrinkage_covariance", "solve"]
