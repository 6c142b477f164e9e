"""Audio toolkit: G.711, jitter buffer, WAV in/out and call recording, tones and DTMF,
call-progress detection, prompt player, bridge and supervisor mixer, line echo
canceller.  One internal format: 20 ms frames of 8 kHz s16le mono (320 bytes).
See docs/media.md."""
