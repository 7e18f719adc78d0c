"""Exceptions that trademl raises on purpose.

Everything a user can cause (bad file, bad spec, bad argument) derives from
``TradeMLError`` so the command line can show it as one red line with exit code 2.
"""

from __future__ import annotations


class TradeMLError(Exception):
    """Base of every error trademl raises for bad input or a refused action."""


class SpecError(TradeMLError, ValueError):
    """An experiment spec (YAML) is invalid; the message names the field path."""


class DataError(TradeMLError, ValueError):
    """A data file or frame cannot be read in the expected shape."""


class DataValidationError(DataError):
    """OHLCV data failed validation.

    ``problems`` is a machine-readable list of dicts with at least ``kind``,
    ``rows`` (positional row numbers) and ``timestamps``.
    """

    def __init__(self, message: str, problems: list[dict] | None = None):
        super().__init__(message)
        self.problems = list(problems or [])


class CausalityError(SpecError):
    """A feature at bar t depends on bars after t: computed on a prefix of the data it
    differs from the same rows computed on all of it.

    ``column`` is the first offending column, ``columns`` every one found at that prefix,
    ``timestamp`` the first bar that differs, ``prefix`` the number of bars in the prefix.
    """

    def __init__(
        self,
        message: str,
        *,
        column: str,
        columns: list[str] | None = None,
        symbol: str | None = None,
        timestamp: object = None,
        prefix: int | None = None,
    ):
        super().__init__(message)
        self.column = column
        self.columns = list(columns or [column])
        self.symbol = symbol
        self.timestamp = timestamp
        self.prefix = prefix
