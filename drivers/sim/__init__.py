"""Simulated peers and hardware for tests and the demo (simulated IP phones first)."""
