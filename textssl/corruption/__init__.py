"""Corruption strategies: each turns a batch of token blocks into model inputs and targets."""

from textssl.corruption.base import Constant, Linear, Schedule, Strategy

__all__ = ["Constant", "Linear", "Schedule", "Strategy"]
