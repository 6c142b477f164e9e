"""make demo: a live small site on simulated hardware."""
