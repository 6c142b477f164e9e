"""Digest authentication for phones (RFC 3261 22, RFC 7616, RFC 8760) and the guard
that bans sources which keep guessing.

Nonces are stateless: a timestamp, a counter and a MAC of both (keyed BLAKE2s) under a
per-boot secret, so a REGISTER storm costs no memory, and an old nonce is recognised as
ours but ``stale`` (the phone retries with the new one without asking its user).
Unknown and known user names get the same answers and about the same work, so the 403s
do not tell which extensions exist.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import secrets
import string
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .headers import parse_auth
from .message import Request, SipParseError

if TYPE_CHECKING:
    from appliance.clock import Clock

# RFC 8760 names the algorithms; '-sess' variants are not offered.
HASHES = {"MD5": hashlib.md5, "SHA-256": hashlib.sha256}

Credentials = Callable[[str], "str | None"]


def generate_password(length: int = 24) -> str:
    """A long random digest secret that phones' keypads and config files can carry."""
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(length))


def digest_response(
    algorithm: str, user: str, realm: str, password: str, method: str, uri: str,
    nonce: str, nc: str = "", cnonce: str = "", qop: str = "",
) -> str:
    """The request-digest of RFC 7616 3.4.1 (also RFC 2617 without qop)."""
    h = HASHES[algorithm]
    ha1 = digest_ha1(algorithm, user, realm, password)
    ha2 = _HA2.get((algorithm, method, uri))
    if ha2 is None:  # "REGISTER:sip:box" is the same for every REGISTER of every phone
        if len(_HA2) >= 4096:  # URIs come from the wire: bound the cache
            _HA2.clear()
        ha2 = _HA2[algorithm, method, uri] = h(f"{method}:{uri}".encode()).hexdigest()
    if qop:
        return h(f"{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}".encode()).hexdigest()
    return h(f"{ha1}:{nonce}:{ha2}".encode()).hexdigest()


_HA1: dict[tuple[str, str, str, str], str] = {}
_HA2: dict[tuple[str, str, str], str] = {}


def digest_ha1(algorithm: str, user: str, realm: str, password: str) -> str:
    """H(user:realm:password), kept: a phone re-registers with the same secret for months.
    The key holds the password, so a changed password is a new entry, never a stale one."""
    key = (algorithm, user, realm, password)
    ha1 = _HA1.get(key)
    if ha1 is None:
        if len(_HA1) >= 4096:  # user names come from the wire (the decoy path): bound it
            _HA1.clear()
        ha1 = _HA1[key] = HASHES[algorithm](f"{user}:{realm}:{password}".encode()).hexdigest()
    return ha1


@dataclass(slots=True)
class AuthResult:
    ok: bool
    user: str = ""
    stale: bool = False  # our nonce, expired: challenge again with stale=true
    reason: str = ""


class DigestAuthenticator:
    def __init__(
        self, realm: str, clock: Clock, credentials: Credentials,
        algorithms: tuple[str, ...] = ("MD5",), nonce_ttl: float = 300.0,
    ) -> None:
        unknown = [a for a in algorithms if a not in HASHES]
        if unknown or not algorithms:
            raise ValueError(f"unsupported digest algorithms {unknown or algorithms}")
        self.realm = realm
        self.clock = clock
        self.credentials = credentials
        self.algorithms = tuple(algorithms)
        self.nonce_ttl = nonce_ttl
        self._secret = secrets.token_bytes(16)
        self._decoy = secrets.token_hex(12)  # hashed for unknown users: same work, same answer
        self._seen_nc: dict[str, int] = {}
        self._salts = itertools.count(secrets.randbelow(1 << 32))

    def _nonce(self, issued: int, salt: str) -> str:
        """Issue time, a salt (every challenge its own nonce, so that nonce counts of
        phones challenged in the same second do not collide), and a MAC of both."""
        stamp = f"{issued:x}.{salt}"
        # Keyed BLAKE2s is a MAC by design (RFC 7693 section 2.5) and a quarter of the cost
        # of HMAC-SHA-256 here; 80 bits of tag are plenty for a nonce that lives minutes.
        mac = hashlib.blake2s(stamp.encode(), key=self._secret, digest_size=10).hexdigest()
        return f"{stamp}.{mac}"

    def challenges(self, stale: bool = False) -> list[str]:
        """WWW-Authenticate values, the preferred algorithm first (RFC 8760 2.4)."""
        # A counter, not os.urandom: the salt only has to differ between challenges (the
        # MAC is what makes a nonce unforgeable), and a syscall per 401 is the dearer way.
        nonce = self._nonce(int(self.clock.time()), f"{next(self._salts) & 0xFFFFFFFF:x}")
        extra = ", stale=true" if stale else ""
        return [
            f'Digest realm="{self.realm}", nonce="{nonce}", algorithm={alg}, qop="auth"{extra}'
            for alg in self.algorithms
        ]

    def _nonce_age(self, nonce: str) -> float | None:
        """Seconds since we issued ``nonce``; None when it is not ours."""
        stamp, _, salt_mac = nonce.partition(".")
        salt, _, mac = salt_mac.partition(".")
        try:
            issued = int(stamp, 16)
        except ValueError:
            return None
        if not mac or not hmac.compare_digest(self._nonce(issued, salt), nonce):
            return None
        return self.clock.time() - issued

    def check(self, request: Request, header: str = "authorization") -> AuthResult | None:
        """Verify the request's credentials.  None: it carries none for our realm."""
        for value in request.headers.get_all(header):
            try:
                scheme, params = parse_auth(value)
            except SipParseError:
                return AuthResult(False, reason="unreadable credentials")
            if scheme == "digest" and params.get("realm") == self.realm:
                return self._verify(request, params)
        return None

    def _verify(self, request: Request, p: dict[str, str]) -> AuthResult:
        user = p.get("username", "")
        algorithm = p.get("algorithm", "MD5").upper()
        qop = p.get("qop", "")
        if algorithm not in self.algorithms or qop not in ("", "auth") or "response" not in p:
            return AuthResult(False, user, reason="unsupported digest parameters")
        nonce = p.get("nonce", "")
        password = self.credentials(user) if user else None
        expected = digest_response(
            algorithm, user, self.realm, password if password is not None else self._decoy,
            request.method, p.get("uri", ""), nonce, p.get("nc", ""), p.get("cnonce", ""), qop,
        )
        good = password is not None and hmac.compare_digest(expected, p["response"].lower())
        if not good:
            return AuthResult(False, user, reason="wrong credentials")
        age = self._nonce_age(nonce)
        if age is None:  # right password, a nonce from before our restart: just retry
            return AuthResult(False, user, stale=True, reason="nonce not ours")
        if age > self.nonce_ttl or age < -5:
            return AuthResult(False, user, stale=True, reason="nonce expired")
        if qop and not self._fresh_nc(nonce, p.get("nc", "")):
            return AuthResult(False, user, stale=True, reason="nonce count replayed")
        return AuthResult(True, user)

    def _fresh_nc(self, nonce: str, nc: str) -> bool:
        """A nonce count must grow (RFC 7616 3.4): a replayed request is refused."""
        try:
            count = int(nc, 16)
        except ValueError:
            return False
        if count <= self._seen_nc.get(nonce, 0):
            return False
        if len(self._seen_nc) > 50_000:  # nonces older than the TTL are useless anyway
            self._seen_nc = {
                n: c for n, c in self._seen_nc.items()
                if (a := self._nonce_age(n)) is not None and a <= self.nonce_ttl
            }
        self._seen_nc[nonce] = count
        return True


class AuthGuard:
    """Counts failed authentications per source address and bans repeat offenders."""

    def __init__(
        self, clock: Clock, max_failures: int = 5, window: float = 60.0,
        ban_seconds: float = 600.0, trusted: tuple[str, ...] = (),
    ) -> None:
        self.clock = clock
        self.max_failures = max_failures
        self.window = window
        self.ban_seconds = ban_seconds
        self.trusted = set(trusted)
        self._failures: dict[str, list[float]] = {}
        self._bans: dict[str, tuple[float, int, str]] = {}  # host -> (until, failures, user)

    def is_banned(self, host: str) -> bool:
        ban = self._bans.get(host)
        if ban is None:
            return False
        if ban[0] <= self.clock.monotonic():
            del self._bans[host]
            return False
        return True

    def failure(self, host: str, user: str) -> bool:
        """Record one failed attempt; True when the source is now banned."""
        if host in self.trusted:
            return False
        now = self.clock.monotonic()
        if len(self._failures) > 10_000:  # spoofed sources must not grow this forever
            self._failures = {h: ts for h, ts in self._failures.items()
                              if ts and now - ts[-1] < self.window}
        recent = [t for t in self._failures.get(host, []) if now - t < self.window]
        recent.append(now)
        self._failures[host] = recent
        if len(recent) >= self.max_failures:
            self._bans[host] = (now + self.ban_seconds, len(recent), user)
            del self._failures[host]
            return True
        return False

    def success(self, host: str) -> None:
        self._failures.pop(host, None)

    def banned(self) -> list[dict]:
        """The ban list for the admin page: who, until when (wall clock), why."""
        now_mono, now_wall = self.clock.monotonic(), self.clock.time()
        out = []
        for host in list(self._bans):
            if self.is_banned(host):
                until, failures, user = self._bans[host]
                out.append({"source": host, "until": now_wall + (until - now_mono),
                            "failures": failures, "last_user": user})
        return out

    def unban(self, host: str) -> bool:
        self._failures.pop(host, None)
        return self._bans.pop(host, None) is not None
