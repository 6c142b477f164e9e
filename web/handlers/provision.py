"""HTTP provisioning for IP phones: anonymous by necessity (a phone fresh out of the box
knows nothing but its MAC), so it reveals only what the box returns for a known MAC."""

from __future__ import annotations

import re

import tornado.web

from .base import BaseHandler

# Yealink/Polycom "001565aabbcc.cfg", Grandstream "cfg001565aabbcc.xml",
# Snom "snom370-001565AABBCC.htm", Cisco SPA "spa0018f8abcdef.xml": twelve hex digits,
# maybe separated, somewhere in the name.  The "a" of Cisco's "spa" prefix is a hex digit
# itself, so that prefix is allowed right before the MAC.
MAC_IN_NAME = re.compile(r"(?:(?<=[sS][pP][aA])|(?<![0-9a-fA-F]))"
                         r"((?:[0-9a-fA-F]{2}[-:]?){5}[0-9a-fA-F]{2})(?![0-9a-fA-F])")


class ProvisionHandler(BaseHandler):
    role = None

    def check_xsrf_cookie(self) -> None:
        """No XSRF check: phones only GET, and there is no session here to protect."""

    def get(self, filename: str) -> None:
        match = MAC_IN_NAME.search(filename)
        if not match:
            raise tornado.web.HTTPError(404)
        mac = re.sub(r"[-:]", "", match[1]).lower()
        answer = self.box.provisioning(mac, self.request.headers.get("User-Agent", ""),
                                       filename)
        if answer is None:
            raise tornado.web.HTTPError(404)
        content_type, body = answer
        self.set_header("Content-Type", content_type)
        self.set_header("Cache-Control", "no-store")  # it carries the SIP secret
        self.finish(body)

    def write_error(self, status_code: int, **kwargs) -> None:
        self.finish(f"{status_code}\n")  # a phone reads no pages
