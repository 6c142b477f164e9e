"""Words the installer reads on the line's page.

Every string here is a translation key: the web layer passes it through
``tornado.locale`` (``locale.translate(text)``); ``messages_ru.csv`` beside this file
holds the Russian.  ``N_`` only marks a string for extraction.
"""

from __future__ import annotations


def N_(text: str) -> str:  # noqa: N802 - the gettext convention for "mark, translate later"
    return text


# line states
STARTING = N_("starting")
UP = N_("up")
DOWN = N_("down")
RESETTING = N_("resetting")
ABSENT = N_("modem not found")
# SIM states (27.007 8.3 +CPIN, 9.2.1 +CME ERROR 10..14)
SIM_READY = N_("SIM ready")
SIM_NOT_INSERTED = N_("no SIM card inserted")
SIM_PIN = N_("the SIM card asks for its PIN: enter it in the line's settings")
SIM_PIN_WRONG = N_("the SIM card refused the PIN: check it in the line's settings")
SIM_PUK = N_("the SIM card is blocked (PUK needed): unblock it in a phone")
SIM_BUSY = N_("the SIM card is still starting")
SIM_FAILURE = N_("the SIM card does not answer")
# registration (27.007 7.2 +CREG <stat>)
REG_WORDS = {
    0: N_("not registered"),
    1: N_("registered, home network"),
    2: N_("searching for a network"),
    3: N_("registration denied"),
    4: N_("registration unknown"),
    5: N_("registered, roaming"),
}
NO_VOICE = N_("this modem's firmware has no voice")
NO_AUDIO_PORT = N_("no audio port set: calls can ring but carry no sound")
NOT_ANSWERING = N_("the modem does not answer")
PORT_MISSING = N_("the modem's port is missing (unplugged?)")
