"""The ``taxcredit`` command-line interface (a driver: no business logic of its own)."""

from .main import build_parser, main

__all__ = ["build_parser", "main"]
