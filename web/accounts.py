"""Web logins: users with roles, scrypt password hashes, lockout, API tokens.

Password hashing is deliberately slow (scrypt, ~16 MiB of memory) and so runs on a
thread, never on the event loop.  The tenth wrong password in a row locks an account for
``LOCK_SECONDS``; a right password does not help while it is locked.  API tokens are long
random strings, so a plain SHA-256 of them is enough to store (nobody can guess one).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import re
import secrets
import time
from dataclasses import dataclass
from typing import Any

from appliance.admin import ValidationError
from appliance.store import Store

ROLES = ("operator", "supervisor", "admin")
ROLE_RANK = {role: rank for rank, role in enumerate(ROLES, start=1)}
MAX_FAILED = 10
LOCK_SECONDS = 15 * 60
PASSWORD_MIN = 10
USERNAME_RE = re.compile(r"^[A-Za-z0-9._@-]{2,64}$")
# scrypt cost: n=2**14, r=8 takes 16 MiB and ~50 ms on a Pi 4 class core.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def hash_password(password: str, *, n: int = SCRYPT_N) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=n, r=SCRYPT_R, p=SCRYPT_P,
                            maxmem=64 * 1024 * 1024, dklen=32)
    return f"scrypt${n}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def check_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        got = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), n=int(n),
                             r=int(r), p=int(p), maxmem=64 * 1024 * 1024,
                             dklen=len(base64.b64decode(digest)))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, base64.b64decode(digest))


# A hash of a random password: checked against when the user does not exist, so that a
# wrong username costs as much time as a wrong password.
_DUMMY_HASH = hash_password(secrets.token_hex(8), n=SCRYPT_N)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def session_stamp(password_hash: str) -> str:
    """Part of the session cookie: changing the password ends every other session."""
    return hashlib.sha256(password_hash.encode()).hexdigest()[:12]


@dataclass(frozen=True)
class User:
    id: int
    username: str
    role: str
    operator: str
    locale: str
    stamp: str

    def can(self, role: str) -> bool:
        return ROLE_RANK[self.role] >= ROLE_RANK[role]


class LoginRefused(Exception):
    """``reason`` is "wrong" (bad username or password) or "locked"."""

    def __init__(self, reason: str, locked_until: float = 0.0) -> None:
        super().__init__(reason)
        self.reason = reason
        self.locked_until = locked_until


def _user(row: dict[str, Any]) -> User:
    return User(row["id"], row["username"], row["role"], row["operator"], row["locale"],
                session_stamp(row["password_hash"]))


class Accounts:
    def __init__(self, store: Store, clock_time=time.time) -> None:
        self.store = store
        self._time = clock_time

    # -- reads -----------------------------------------------------------------------------
    def any_user(self) -> bool:
        return bool(self.store.query("SELECT 1 FROM users LIMIT 1"))

    def get(self, user_id: int) -> User | None:
        rows = self.store.query("SELECT * FROM users WHERE id = ?", (user_id,))
        return _user(rows[0]) if rows else None

    def users(self) -> list[dict[str, Any]]:
        return self.store.query(
            "SELECT id, username, role, operator, locale, failed_logins, locked_until "
            "FROM users ORDER BY username")

    def by_operator(self, operator: str) -> dict[str, Any] | None:
        rows = self.store.query("SELECT id, username FROM users WHERE operator = ? "
                                "AND role = 'operator'", (operator,))
        return rows[0] if rows else None

    # -- validation ------------------------------------------------------------------------
    def check(self, username: str, password: str, role: str, *, new: bool) -> dict[str, str]:
        errors: dict[str, str] = {}
        if new:
            if not USERNAME_RE.match(username):
                errors["username"] = "2 to 64 letters, digits or . _ @ -"
            elif self.store.query("SELECT 1 FROM users WHERE username = ?", (username,)):
                errors["username"] = "this username is taken"
        if len(password) < PASSWORD_MIN:
            errors["password"] = f"use at least {PASSWORD_MIN} characters"
        elif len(password) > 1024:
            errors["password"] = "use at most 1024 characters"
        if role not in ROLES:
            errors["role"] = "choose a role"
        return errors

    # -- writes ----------------------------------------------------------------------------
    async def create_first_admin(self, username: str, password: str) -> User:
        """Only while no user exists; a second concurrent attempt loses the race cleanly."""
        errors = self.check(username, password, "admin", new=True)
        if errors:
            raise ValidationError(errors)
        hashed = await asyncio.to_thread(hash_password, password)
        now = self._time()

        def write(c):
            return c.execute(
                "INSERT INTO users(username, password_hash, role, created_at) "
                "SELECT ?, ?, 'admin', ? WHERE NOT EXISTS (SELECT 1 FROM users)",
                (username, hashed, now)).rowcount

        if not await self.store.writer.awrite(write):
            raise ValidationError({"username": "the administrator is already set up"})
        return self.user_by_name(username)

    def user_by_name(self, username: str) -> User:
        return _user(self.store.query("SELECT * FROM users WHERE username = ?", (username,))[0])

    async def create(self, username: str, password: str, role: str,
                     operator: str = "") -> User:
        username = (username or "").strip()
        errors = self.check(username, password, role, new=True)
        if errors:
            raise ValidationError(errors)
        hashed = await asyncio.to_thread(hash_password, password)
        now = self._time()
        await self.store.writer.awrite(lambda c: c.execute(
            "INSERT INTO users(username, password_hash, role, operator, created_at) "
            "VALUES (?, ?, ?, ?, ?)", (username, hashed, role, operator, now)))
        return self.user_by_name(username)

    async def set_password(self, user_id: int, password: str) -> None:
        errors = self.check("", password, "admin", new=False)
        if errors:
            raise ValidationError(errors)
        hashed = await asyncio.to_thread(hash_password, password)
        await self.store.writer.awrite(lambda c: c.execute(
            "UPDATE users SET password_hash = ?, failed_logins = 0, locked_until = 0 "
            "WHERE id = ?", (hashed, user_id)))

    async def set_locale(self, user_id: int, locale: str) -> None:
        await self.store.writer.awrite(lambda c: c.execute(
            "UPDATE users SET locale = ? WHERE id = ?", (locale, user_id)))

    async def unlock(self, user_id: int) -> None:
        await self.store.writer.awrite(lambda c: c.execute(
            "UPDATE users SET failed_logins = 0, locked_until = 0 WHERE id = ?", (user_id,)))

    async def delete(self, user_id: int) -> None:
        await self.store.writer.awrite(
            lambda c: c.execute("DELETE FROM users WHERE id = ?", (user_id,)))

    async def login(self, username: str, password: str) -> User:
        """The user, or :class:`LoginRefused`.  Counts failures; the MAX_FAILED-th locks."""
        rows = self.store.query("SELECT * FROM users WHERE username = ?", (username,))
        if not rows:
            await asyncio.to_thread(check_password, password, _DUMMY_HASH)
            raise LoginRefused("wrong")
        row = rows[0]
        now = self._time()
        if row["locked_until"] > now:
            raise LoginRefused("locked", row["locked_until"])
        ok = await asyncio.to_thread(check_password, password, row["password_hash"])
        if ok:
            if row["failed_logins"]:
                await self.unlock(row["id"])
            return _user(row)

        def count(c):
            failed = c.execute("UPDATE users SET failed_logins = failed_logins + 1 "
                               "WHERE id = ? RETURNING failed_logins", (row["id"],)).fetchone()[0]
            if failed >= MAX_FAILED:
                c.execute("UPDATE users SET failed_logins = 0, locked_until = ? WHERE id = ?",
                          (now + LOCK_SECONDS, row["id"]))
                return now + LOCK_SECONDS
            return 0.0

        locked_until = await self.store.writer.awrite(count)
        if locked_until:
            raise LoginRefused("locked", locked_until)
        raise LoginRefused("wrong")

    # -- API tokens ------------------------------------------------------------------------
    def tokens(self, user_id: int) -> list[dict[str, Any]]:
        return self.store.query("SELECT id, name, created_at FROM api_tokens WHERE user_id = ? "
                                "ORDER BY created_at", (user_id,))

    async def create_token(self, user_id: int, name: str) -> str:
        name = (name or "").strip()
        if not name or len(name) > 64:
            raise ValidationError({"name": "name the token (up to 64 characters)"})
        token = "cbx_" + secrets.token_urlsafe(32)
        now = self._time()
        await self.store.writer.awrite(lambda c: c.execute(
            "INSERT INTO api_tokens(token_hash, user_id, name, created_at) VALUES (?, ?, ?, ?)",
            (token_hash(token), user_id, name, now)))
        return token

    async def revoke_token(self, user_id: int, token_id: int) -> None:
        await self.store.writer.awrite(lambda c: c.execute(
            "DELETE FROM api_tokens WHERE id = ? AND user_id = ?", (token_id, user_id)))

    def user_for_token(self, token: str) -> User | None:
        rows = self.store.query(
            "SELECT u.* FROM api_tokens t JOIN users u ON u.id = t.user_id "
            "WHERE t.token_hash = ?", (token_hash(token),))
        return _user(rows[0]) if rows else None


class LoginThrottle:
    """Attempts per client address in a sliding window: slows down a password guesser
    that spreads its guesses over many usernames (the per-account lockout cannot)."""

    def __init__(self, limit: int = 30, window: float = 300.0, clock_time=time.monotonic):
        self.limit = limit
        self.window = window
        self._time = clock_time
        self._attempts: dict[str, list[float]] = {}

    def allow(self, address: str) -> bool:
        now = self._time()
        recent = [t for t in self._attempts.get(address, []) if now - t < self.window]
        if len(self._attempts) > 10000:  # a flood of addresses must not grow memory forever
            self._attempts.clear()
        if len(recent) >= self.limit:
            self._attempts[address] = recent
            return False
        recent.append(now)
        self._attempts[address] = recent
        return True
