"""Exceptions with messages a user can act on (file, row, field, expectation)."""

from __future__ import annotations


class BasisctlError(Exception):
    """Base class: every error basisctl raises on purpose derives from it (the CLI prints one line)."""


class ModelDomainError(BasisctlError, ValueError):
    """An input lies outside the model's domain (e.g. sigma <= 0, epsilon outside (0, 1))."""


class DataValidationError(BasisctlError, ValueError):
    """A data file breaks its schema. ``issues`` holds every problem found, not only the first."""

    def __init__(self, path: str, issues: list[ValidationIssue]) -> None:
        self.path = path
        self.issues = issues
        first = issues[0] if issues else None
        more = f" (+{len(issues) - 1} more)" if len(issues) > 1 else ""
        super().__init__(f"{path}: {first}{more}" if first else f"{path}: invalid")


class ValidationIssue:
    """One problem in one file: ``row`` is the 0-based data row (None for whole-file problems).

    ``line`` is the 1-based line in a text file (CSV: header = line 1, so line = row + 2), None otherwise.
    """

    __slots__ = ("column", "expected", "got", "line", "row")

    def __init__(
        self, row: int | None, column: str | None, expected: str, got: str = "", line: int | None = None
    ) -> None:
        self.row = row
        self.column = column
        self.expected = expected
        self.got = got
        self.line = line

    def __str__(self) -> str:
        where = []
        if self.row is not None:
            where.append(f"row {self.row}" + (f" (line {self.line})" if self.line is not None else ""))
        if self.column is not None:
            where.append(f"column '{self.column}'")
        loc = ", ".join(where) or "file"
        got = f" (got {self.got})" if self.got else ""
        return f"{loc}: expected {self.expected}{got}"

    #: the fields in the order the JSON reports (``--json``, validation reports) list them
    JSON_FIELDS = ("row", "line", "column", "expected", "got")

    def as_dict(self) -> dict[str, object]:
        return {k: getattr(self, k) for k in self.JSON_FIELDS}


class DataCoverageError(BasisctlError, ValueError):
    """Requested window is not covered by the data (gaps are reported, never filled)."""


class DataNotFoundError(DataCoverageError):
    """A data file is in none of the data dirs; the message says where it looked and how to fetch it."""
