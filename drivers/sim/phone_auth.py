"""The phone's side of digest authentication (RFC 3261 22.2, RFC 7616 3.4).

A phone answers a 401 (``WWW-Authenticate`` -> ``Authorization``) or a 407
(``Proxy-Authenticate`` -> ``Proxy-Authorization``), and, like desk phones do, keeps the
last challenge to put credentials on the next request at once with the nonce count
grown by one.  The digest itself is the box's own :func:`drivers.sip.auth.digest_response`.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from drivers.sip.auth import HASHES, digest_response
from drivers.sip.headers import parse_auth
from drivers.sip.message import Response, SipParseError

# RFC 3261 22.2 / 22.3: the challenge header and the header that answers it.
CHALLENGE_HEADERS = {401: ("www-authenticate", "authorization"),
                     407: ("proxy-authenticate", "proxy-authorization")}
# Challenged again right after answering a challenge (not for a stale nonce): the
# password is wrong, and asking again would only get the phone's address banned.
MAX_AUTH_ROUNDS = 1


class AuthFailed(Exception):
    """The challenge cannot be answered (no digest, unknown algorithm, wrong password)."""


@dataclass(slots=True)
class Challenge:
    realm: str
    nonce: str
    algorithm: str
    qop: str  # "auth" or "" (RFC 2617 without qop)
    opaque: str
    header: str  # the header our answer goes in
    stale: bool = False
    nc: int = 0


def pick_challenge(response: Response) -> Challenge:
    """The first digest challenge in a 401/407 whose algorithm we can compute."""
    names = CHALLENGE_HEADERS.get(response.status)
    if names is None:
        raise AuthFailed(f"{response.status} is not a challenge")
    for value in response.headers.get_all(names[0]):
        try:
            scheme, params = parse_auth(value)
        except SipParseError:
            continue
        algorithm = params.get("algorithm", "MD5").upper()
        qops = [q.strip() for q in params.get("qop", "").split(",") if q.strip()]
        if scheme != "digest" or algorithm not in HASHES or "nonce" not in params:
            continue
        if qops and "auth" not in qops:
            continue  # auth-int only: we do not hash bodies
        return Challenge(params.get("realm", ""), params["nonce"], algorithm,
                         "auth" if qops else "", params.get("opaque", ""), names[1],
                         params.get("stale", "").lower() == "true")
    raise AuthFailed("no digest challenge we can answer")


class DigestClient:
    """Credentials of one phone, and the challenge it answered last."""

    def __init__(self, user: str, password: str) -> None:
        self.user = user
        self.password = password
        self.challenge: Challenge | None = None

    def take(self, response: Response) -> Challenge:
        """Remember the challenge of a 401/407; raises :class:`AuthFailed`."""
        self.challenge = pick_challenge(response)
        return self.challenge

    def forget(self) -> None:
        self.challenge = None

    def header(self, method: str, uri: str) -> tuple[str, str] | None:
        """(header name, value) answering the remembered challenge, nonce count + 1."""
        c = self.challenge
        if c is None:
            return None
        c.nc += 1
        nc = f"{c.nc:08x}"
        cnonce = secrets.token_hex(8) if c.qop else ""
        response = digest_response(c.algorithm, self.user, c.realm, self.password, method,
                                   uri, c.nonce, nc, cnonce, c.qop)
        parts = [f'Digest username="{self.user}"', f'realm="{c.realm}"', f'nonce="{c.nonce}"',
                 f'uri="{uri}"', f'response="{response}"', f"algorithm={c.algorithm}"]
        if c.qop:
            parts += [f"qop={c.qop}", f"nc={nc}", f'cnonce="{cnonce}"']
        if c.opaque:
            parts.append(f'opaque="{c.opaque}"')
        return c.header, ", ".join(parts)
