"""Automatic call distribution: queues, strategies, operators ' state machine."""
