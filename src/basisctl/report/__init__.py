"""Self-contained HTML report (``basisctl report``)."""

from basisctl.report.builder import build_report

__all__ = ["build_report"]
