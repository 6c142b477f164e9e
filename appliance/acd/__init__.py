"""Automatic call distribution: queues, strategies, operators' state machine."""

from .engine import Acd

__all__ = ["Acd"]
