"""Words the installer reads about an analog line.

Every string here is a translation key: the web layer passes it through
``tornado.locale`` (``locale.translate(text)``); ``messages_ru.csv`` beside this file
holds the Russian.  ``N_`` only marks a string for extraction.
"""

from __future__ import annotations


def N_(text: str) -> str:  # noqa: N802 - the gettext convention for "mark, translate later"
    return text


STATE_WORDS = {
    "starting": N_("starting"),
    "ready": N_("ready"),
    "ringing": N_("ringing"),
    "dialling": N_("dialling"),
    "in_call": N_("in a call"),
    "resetting": N_("resetting the modem"),
    "absent": N_("modem not found"),
    "stopped": N_("stopped"),
}
DUPLEX_WORDS = {
    "full": N_("full duplex"),
    "half": N_("half duplex (the modem talks or listens, not both)"),
}
HANGUP_WORDS = {
    "loop_break": N_("the line dropped (loop current break)"),
    "busy": N_("busy tone after the call"),
    "silence": N_("silence on the line"),
    "dial_tone": N_("dial tone after the call"),
    "abandoned": N_("the caller hung up while ringing"),
    "local": N_("hung up here"),
    "line_down": N_("the modem went away"),
    "modem": N_("the modem refused"),
}
PORT_REQUIRED = N_("the modem's serial port is required, e.g. /dev/ttyACM0")
PORT_NOT_ABSOLUTE = N_("a device path is absolute, e.g. /dev/ttyACM0 or /dev/serial/by-id/...")
UNKNOWN_MODEL = N_("unknown modem model: leave it empty to detect it")
BAD_SECONDS = N_("a number of seconds, 0 or more")
BAD_DUPLEX = N_("full or half")
NO_ECHO_CANCELLER = N_("no line echo canceller installed: callers may hear themselves")
