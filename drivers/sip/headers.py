"""Typed views of the SIP header values we act on: URIs, name-addr, Via, digest params.

Values are parsed when asked for, not at message parse time: a REGISTER needs only a
few of them and the registrar is the hot path.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import unquote

from .message import Message, SipParseError

MAGIC_COOKIE = "z9hG4bK"  # RFC 3261 8.1.1.7: branch prefix of an RFC 3261 transaction


def parse_params(text: str) -> dict[str, str]:
    """``;a=b;c`` -> ``{"a": "b", "c": ""}`` (names lower-case, quotes removed)."""
    params: dict[str, str] = {}
    if not text:
        return params
    for part in text.split(";"):
        name, eq, value = part.partition("=")
        name = name.strip().lower()
        if not name:
            continue
        if eq:
            value = value.strip()
            if len(value) >= 2 and value[0] == '"' and value[-1] == '"':
                value = value[1:-1]
        params[name] = value
    return params


def header_tag(value: str) -> str:
    """The ``tag`` parameter of a From/To value, without parsing the URI (hot path)."""
    close = value.rfind(">")
    if close >= 0:
        params = value[close + 1:]
    else:
        semi = value.find(";")
        params = value[semi:] if semi >= 0 else ""
    if not params:
        return ""
    for part in params.split(";"):
        name, _, tag = part.partition("=")
        if name.strip().lower() == "tag":
            return tag.strip()
    return ""


def format_params(params: dict[str, str]) -> str:
    text = ""
    for name, value in params.items():  # a loop, not a generator: a handful of items
        text += f";{name}={value}" if value != "" else f";{name}"
    return text


@dataclass(slots=True)
class Uri:
    scheme: str = "sip"
    user: str = ""
    host: str = ""
    port: int | None = None
    params: dict[str, str] = field(default_factory=dict)
    headers: str = ""  # the ``?...`` part, still escaped

    def __str__(self) -> str:
        user = f"{self.user}@" if self.user else ""
        host = f"[{self.host}]" if ":" in self.host else self.host
        port = f":{self.port}" if self.port else ""
        tail = f"?{self.headers}" if self.headers else ""
        return f"{self.scheme}:{user}{host}{port}{format_params(self.params)}{tail}"

    @property
    def transport(self) -> str:
        return self.params.get("transport", "udp").lower()


def parse_uri(text: str) -> Uri:
    scheme, colon, rest = text.strip().partition(":")
    scheme = scheme.lower()
    if not colon or scheme not in ("sip", "sips", "tel"):
        raise SipParseError(f"unsupported URI {text[:60]!r}", 416)
    if scheme == "tel":
        number, _, params = rest.partition(";")
        return Uri(scheme, number, "", None, parse_params(params))
    rest, _, headers = rest.partition("?")
    user = ""
    if "@" in rest:
        user, _, rest = rest.rpartition("@")
        user = unquote(user.partition(":")[0])  # never keep a password from a URI
    hostport, _, params = rest.partition(";")
    host, port = split_hostport(hostport)
    if not host:
        raise SipParseError(f"URI without host {text[:60]!r}")
    return Uri(scheme, user, host, port, parse_params(params), headers)


def split_hostport(text: str) -> tuple[str, int | None]:
    text = text.strip()
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    else:
        host, _, port = text.partition(":")
    if port and not (port.isdigit() and 0 <= int(port) < 65536):
        raise SipParseError(f"bad port in {text[:60]!r}")
    return host.lower(), int(port) if port else None


@dataclass(slots=True)
class NameAddr:
    """``"Display" <uri>;params`` (RFC 3261 25.1 name-addr / addr-spec)."""

    uri: Uri
    display: str = ""
    params: dict[str, str] = field(default_factory=dict)

    @property
    def tag(self) -> str:
        return self.params.get("tag", "")

    def __str__(self) -> str:
        display = f'"{quote_display(self.display)}" ' if self.display else ""
        return f"{display}<{self.uri}>{format_params(self.params)}"


_NAME_ADDR = re.compile(r'\s*(?:"((?:[^"\\]|\\.)*)"|([^<"]*?))\s*<([^>]*)>(.*)$', re.S)


def parse_name_addr(text: str) -> NameAddr:
    lt = text.find("<")
    if lt >= 0 and '"' not in text[:lt]:  # the common unquoted form, without the regex
        gt = text.find(">", lt)
        if gt > 0:
            return NameAddr(parse_uri(text[lt + 1:gt]), text[:lt].strip(),
                            parse_params(text[gt + 1:]))
    match = _NAME_ADDR.match(text)
    if match:
        quoted, token, uri, rest = match.groups()
        display = (quoted or "").replace('\\"', '"').replace("\\\\", "\\") if quoted else token
        return NameAddr(parse_uri(uri), (display or "").strip(), parse_params(rest))
    # addr-spec without brackets: everything after ';' is header params (RFC 3261 20.10)
    uri, _, params = text.strip().partition(";")
    return NameAddr(parse_uri(uri), "", parse_params(params))


_SEEN: dict[str, NameAddr] = {}


def parse_name_addr_seen(text: str) -> NameAddr:
    """:func:`parse_name_addr` for the values every re-REGISTER repeats (To, Contact),
    kept by their text.  The result is shared: callers read it and never change it."""
    parsed = _SEEN.get(text)
    if parsed is None:
        parsed = parse_name_addr(text)
        if len(_SEEN) >= 4096:  # values come from the wire: bound the cache
            _SEEN.clear()
        _SEEN[text] = parsed
    return parsed


def quote_display(name: str) -> str:
    return name.replace("\\", "\\\\").replace('"', '\\"').replace("\r", "").replace("\n", "")


@dataclass(slots=True)
class Via:
    transport: str
    host: str
    port: int | None
    params: dict[str, str]

    @property
    def branch(self) -> str:
        return self.params.get("branch", "")

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        port = f":{self.port}" if self.port else ""
        return f"SIP/2.0/{self.transport.upper()} {host}{port}{format_params(self.params)}"


_SENT_PROTOCOLS = {"SIP/2.0/UDP": "udp", "SIP/2.0/TCP": "tcp", "SIP/2.0/TLS": "tls"}
_SENT_BY: dict[str, tuple[str, int | None]] = {}  # "10.0.0.5:5060" -> host, port: per phone


def parse_via(text: str) -> Via:
    proto, _, rest = text.strip().partition(" ")
    transport = _SENT_PROTOCOLS.get(proto)
    if transport is not None:  # as nearly every phone writes it
        sent_by, _, params = rest.partition(";")
        hostport = _SENT_BY.get(sent_by)
        if hostport is None:
            hostport = split_hostport(sent_by)
            if len(_SENT_BY) >= 4096:  # values come from the wire: bound the cache
                _SENT_BY.clear()
            _SENT_BY[sent_by] = hostport
        if hostport[0]:
            return Via(transport, hostport[0], hostport[1], parse_params(params))
    pieces = [p.strip() for p in proto.split("/")]
    if len(pieces) != 3 or pieces[0].upper() != "SIP":
        # "SIP / 2.0 / UDP host" with spaces: rejoin and retry once
        compact = re.sub(r"\s*/\s*", "/", text.strip())
        if compact != text.strip():
            return parse_via(compact)
        raise SipParseError("bad Via")
    sent_by, _, params = rest.strip().partition(";")
    host, port = split_hostport(sent_by)
    if not host:
        raise SipParseError("Via without host")
    return Via(pieces[2].lower(), host, port, parse_params(params))


def top_via(message: Message) -> Via:
    """The message's top Via, parsed once and kept on the message."""
    via = message.via
    if via is None:
        via = parse_via(message.headers.get("via") or "")
        message.via = via
    return via  # type: ignore[return-value]


# The quoted string is written unrolled ("normal* (escape normal*)*"): the same language
# as (?:[^"\\]|\\.)*, but the engine runs through it in one go instead of trying an
# alternation at every character, which made this the dearest line of a REGISTER.
_AUTH_PARAM = re.compile(r'\s*([\w-]+)\s*=\s*(?:"([^"\\]*(?:\\.[^"\\]*)*)"|([^\s,]*))\s*,?')


# Without backslashes in the header (no escaped quotes: what phones send), this pattern
# reads the same parameters as the one above, with each value in one group, so that the
# findall result goes straight into dict() in C.  A quoted value is taken only between
# two quotes; a lone quote falls to the token branch, as above.  (A hypothesis test holds
# the two to each other.)
_AUTH_QUICK = re.compile(r'([\w-]+)\s*=\s*"?((?<=")[^"]*(?=")|(?<!")[^\s,]*)"?')


def parse_auth(text: str) -> tuple[str, dict[str, str]]:
    """``Digest realm="x", nonce="y"`` -> ``("digest", {...})`` (RFC 7616 section 3.4)."""
    scheme, _, rest = text.strip().partition(" ")
    if "\\" not in rest:
        params = dict(_AUTH_QUICK.findall(rest))
        names = "".join(params)
        if names == names.lower():  # else a name may repeat in two cases: the long way
            if rest.strip() and not params:
                raise SipParseError("bad authentication header")
            return scheme.lower(), params
    params = {}
    for name, quoted, token in _AUTH_PARAM.findall(rest):
        params[name.lower()] = quoted.replace('\\"', '"') if quoted else token
    if rest.strip() and not params:
        raise SipParseError("bad authentication header")
    return scheme.lower(), params
