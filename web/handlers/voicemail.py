"""The voicemail page: messages callers left, newest first, played in the browser.

The WAV handler serves only files inside the data directory's ``voicemail/`` folder
(``VoicemailBox.audio_path`` decides); anything else is a 404, whatever the row says.
"""

from __future__ import annotations

import tornado.web

from appliance.ivr.runner import summary_lines
from appliance.ivr.voicemail import VoicemailBox

from .audio import send_wav
from .base import BaseHandler


class VoicemailBase(BaseHandler):
    role = "supervisor"

    @property
    def voicemail(self) -> VoicemailBox:
        # the database lives in DATA_DIR/callbox.db, so its folder is the data directory
        return VoicemailBox(self.box.store, self.box.store.path.parent)


class VoicemailHandler(VoicemailBase):
    def get(self) -> None:
        heard = {"new": False, "heard": True}.get(self.get_query_argument("show", ""))
        messages = self.voicemail.list(heard=heard)
        for message in messages:
            # ``digits`` holds the caller's whole run through the flow (its summary): the
            # page shows what they chose and entered, not the flow's bookkeeping
            message["entered"] = summary_lines(message["digits"])
        self.render("admin/voicemail.html", messages=messages,
                    show=self.get_query_argument("show", ""))

    async def post(self) -> None:
        voicemail_id = self.get_body_argument("id", "")
        if not voicemail_id.isdigit():
            raise tornado.web.HTTPError(400)
        heard = self.get_body_argument("heard", "1") != "0"
        if not await self.voicemail.mark_heard(int(voicemail_id), heard):
            raise tornado.web.HTTPError(404)
        self.redirect(self.reverse_url("voicemail"))


class VoicemailAudioHandler(VoicemailBase):
    async def get(self, voicemail_id: str) -> None:
        path = self.voicemail.audio_path(int(voicemail_id))
        if path is None:
            raise tornado.web.HTTPError(404)
        # a message is at most a few minutes of 8 kHz audio; ranges let the player seek
        await send_wav(self, path, cache="private, max-age=3600")
