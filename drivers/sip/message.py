"""SIP messages and their sans-I/O parser (RFC 3261 section 7, 18.3, 25).

``parse_message`` takes one datagram; :class:`StreamParser` frames a TCP byte stream by
Content-Length.  Both raise :class:`SipParseError`, whose ``status`` hints what to answer:
400 for a request we could read far enough to answer, ``None`` for garbage that gets
dropped.  The parser is lenient where real phones are sloppy (any header case, compact
forms, folded lines, bare LF) and strict where a wrong guess would mis-route a call.
"""

from __future__ import annotations

from dataclasses import dataclass, field

MAX_MESSAGE = 65_535  # largest UDP datagram; also the TCP per-message cap
MAX_HEADER_LINE = 8_192
MAX_HEADERS = 200

# RFC 3261 section 7.3.3 and the IANA registry: compact form -> full name (lower case).
COMPACT = {
    "i": "call-id", "m": "contact", "e": "content-encoding", "l": "content-length",
    "c": "content-type", "f": "from", "s": "subject", "k": "supported", "t": "to",
    "v": "via", "o": "event", "r": "refer-to", "b": "referred-by", "u": "allow-events",
    "x": "session-expires",
}
# Spellings that title-case gets wrong.
CANONICAL = {
    "call-id": "Call-ID", "cseq": "CSeq", "www-authenticate": "WWW-Authenticate",
    "mime-version": "MIME-Version", "p-asserted-identity": "P-Asserted-Identity",
    "rack": "RAck", "rseq": "RSeq", "sip-etag": "SIP-ETag", "sip-if-match": "SIP-If-Match",
}
# Headers whose comma-separated values are separate entries (RFC 3261 section 7.3.1).
COMMA_LISTS = frozenset({"via", "contact", "route", "record-route"})
MANDATORY = ("via", "from", "to", "call-id", "cseq")
_MANDATORY = frozenset(MANDATORY)


class SipParseError(Exception):
    """Bytes we cannot take.  ``status`` is the response to send (``None``: drop);
    ``partial`` is the request as far as it was read, to build that response from."""

    def __init__(self, reason: str, status: int | None = 400, partial: Request | None = None):
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.partial = partial


_CANONICAL_CACHE: dict[str, str] = {}
_CSEQS: dict[str, tuple[int, str]] = {}  # CSeq text -> (number, METHOD)


def canonical(name: str) -> str:
    cached = _CANONICAL_CACHE.get(name)
    if cached is None:
        cached = CANONICAL.get(name) or "-".join(p.capitalize() for p in name.split("-"))
        if len(_CANONICAL_CACHE) < 1000:  # names come from the wire: bound the cache
            _CANONICAL_CACHE[name] = cached
    return cached


class Headers:
    """Ordered headers with case-insensitive lookup; names are kept lower-case.

    Lookups go through a name -> first value map, built in one C call on the first
    lookup (a REGISTER is looked into a dozen times) and kept right by every change.
    ``get_all`` answers from it too while no name repeats (the usual message); once one
    does, it reads the list.
    """

    __slots__ = ("_items", "_first", "_repeats")

    def __init__(self, items: list[tuple[str, str]] | None = None) -> None:
        self._items: list[tuple[str, str]] = items if items is not None else []
        self._first: dict[str, str] | None = None
        self._repeats = False

    def _lookup(self) -> dict[str, str]:
        first = self._first
        if first is None:
            first = self._first = dict(reversed(self._items))  # the first value wins
            self._repeats = len(first) != len(self._items)
        return first

    def get(self, name: str, default: str | None = None) -> str | None:
        first = self._first
        return (first if first is not None else self._lookup()).get(name, default)

    def get_all(self, name: str) -> list[str]:
        first = self._lookup()
        if self._repeats:
            return [value for key, value in self._items if key == name]
        value = first.get(name)
        return [] if value is None else [value]

    def __contains__(self, name: str) -> bool:
        return name in self._lookup()

    def add(self, name: str, value: str) -> None:
        name = name.lower()
        self._items.append((name, value))
        first = self._first
        if first is not None:
            if name in first:
                self._repeats = True
            else:
                first[name] = value

    def set(self, name: str, value: str) -> None:
        self.remove(name)
        self.add(name, value)

    def prepend(self, name: str, value: str) -> None:
        name = name.lower()
        self._items.insert(0, (name, value))
        first = self._first
        if first is not None:
            if name in first:
                self._repeats = True
            first[name] = value

    def replace_first(self, name: str, value: str) -> None:
        for i, (key, _) in enumerate(self._items):
            if key == name:
                self._items[i] = (name, value)
                if self._first is not None:
                    self._first[name] = value
                return

    def remove(self, name: str) -> None:
        name = name.lower()
        self._items = [(k, v) for k, v in self._items if k != name]
        self._first = None  # rebuilt on the next lookup

    def items(self) -> list[tuple[str, str]]:
        return list(self._items)

    def copy(self) -> Headers:
        return Headers(list(self._items))


@dataclass(slots=True)
class Message:
    headers: Headers = field(default_factory=Headers)
    body: bytes = b""
    via: object = None  # the parsed top Via, cached by whoever parses it first

    @property
    def call_id(self) -> str:
        return self.headers.get("call-id") or ""

    @property
    def cseq(self) -> tuple[int, str]:
        text = self.headers.get("cseq") or ""
        cached = _CSEQS.get(text)  # "1 REGISTER", "2 REGISTER"...: a handful of values
        if cached is None:
            number, _, method = text.partition(" ")
            cached = int(number), method.strip().upper()
            if len(_CSEQS) >= 1024:
                _CSEQS.clear()
            _CSEQS[text] = cached
        return cached

    def _encode(self, start: str) -> bytes:
        prefixes = _PREFIXES
        try:  # every name written before: one comprehension (content-length is never kept)
            lines = [prefixes[name] + value for name, value in self.headers._items]
        except KeyError:
            return self._encode_learning(start)
        lines.append(f"Content-Length: {len(self.body)}\r\n\r\n")
        return (start + "\r\n" + "\r\n".join(lines)).encode() + self.body

    def _encode_learning(self, start: str) -> bytes:
        prefixes = _PREFIXES
        lines = [start]
        append = lines.append
        for name, value in self.headers._items:
            prefix = prefixes.get(name)
            if prefix is None:
                if name == "content-length":
                    continue
                prefix = f"{canonical(name)}: "
                if len(prefixes) < 1000:
                    prefixes[name] = prefix
            append(prefix + value)
        append(f"Content-Length: {len(self.body)}\r\n\r\n")
        return "\r\n".join(lines).encode() + self.body


# "Name: " as written for each lower-case name (content-length is written from the body)
_PREFIXES: dict[str, str] = {}


@dataclass(slots=True)
class Request(Message):
    method: str = ""
    uri: str = ""

    def encode(self) -> bytes:
        return self._encode(f"{self.method} {self.uri} SIP/2.0")


@dataclass(slots=True)
class Response(Message):
    status: int = 0
    reason: str = ""

    def encode(self) -> bytes:
        return self._encode(f"SIP/2.0 {self.status} {self.reason}")


def _split_head(data: bytes) -> tuple[bytes, bytes] | None:
    head, sep, body = data.partition(b"\r\n\r\n")
    if sep:
        return head, body
    head, sep, body = data.partition(b"\n\n")  # bare-LF senders (RFC 3261 7.5 tolerance)
    return (head, body) if sep else None


def _parse_start(line: str) -> Message:
    if line.startswith("SIP/"):
        parts = line.split(" ", 2)
        if len(parts) < 2 or parts[0] != "SIP/2.0" or not parts[1].isdigit() or len(parts[1]) != 3:
            raise SipParseError("bad status line", None)
        return Response(status=int(parts[1]), reason=parts[2] if len(parts) > 2 else "")
    parts = line.split(" ")
    if len(parts) != 3 or parts[2] != "SIP/2.0" or not parts[0].isalpha() or ":" not in parts[1]:
        raise SipParseError("bad request line", None)
    return Request(method=parts[0].upper(), uri=parts[1])


def _parse_headers(lines: list[str], message: Message) -> None:
    """Line by line: folding, stray empty lines, and the wording of every error."""
    if len(lines) > MAX_HEADERS:
        raise SipParseError("too many headers")
    items = message.headers._items
    append = items.append
    compact, lists = COMPACT, COMMA_LISTS
    for line in lines:
        if not line:
            continue
        first = line[0]
        if first == " " or first == "\t":  # folded continuation (RFC 3261 7.3.1)
            if not items:
                raise SipParseError("continuation line before any header")
            name, value = items[-1]
            items[-1] = (name, f"{value} {line.strip()}")
            continue
        colon = line.find(":")
        name = line[:colon].rstrip().lower() if colon > 0 else ""
        if not name or " " in name or "\t" in name:
            raise SipParseError(f"malformed header line {line[:40]!r}")
        if len(line) > MAX_HEADER_LINE:
            raise SipParseError(f"header {name} too long")
        name = compact.get(name, name)
        value = line[colon + 1:].strip()
        if name in lists and "," in value:
            items.extend((name, part) for part in split_commas(value))
        else:
            append((name, value))
    if len(items) > MAX_HEADERS:
        raise SipParseError("too many headers")


# The usual header block (CRLF line ends, every line ``name: value``, no folding) takes
# the quick path: split and partition in C, names looked up in a cache of what phones
# send.  Anything else goes line by line above.  Both give the same items (a hypothesis
# test holds them to it).
_NAMES: dict[str, str] = {}  # name as sent -> lower-case full name ("" when malformed)
# Whole lines as sent -> (name, value): a phone repeats most of its lines in every
# REGISTER (To, Contact, Expires, User-Agent...), and a dict hit is cheaper than a parse.
_LINES: dict[str, tuple[str, str]] = {}
# Lines that differ in every request (a fresh branch, a fresh nonce count): not kept, so
# that they do not push the repeated ones out of the cache.
_NEVER_REPEATED = frozenset({"via", "authorization", "proxy-authorization"})


def _wire_name(raw: str) -> str:
    name = raw.rstrip().lower()
    if not name or " " in name or "\t" in name:
        name = ""
    name = COMPACT.get(name, name)
    if len(_NAMES) < 1000:  # names come from the wire: bound the cache
        _NAMES[raw] = name
    return name


def _fast_headers(block: str, message: Message) -> bool:
    """Parse a header block in the common shape into ``message``; False to go line by line."""
    if len(block) > MAX_HEADER_LINE:
        return False
    lines = block.split("\r\n")
    if len(lines) > MAX_HEADERS:
        return False
    seen = _LINES.get  # a line in here has no bare LF: _header_line let it in
    items = [seen(line) for line in lines]
    if None in items:  # lines not met before: read them, and keep the short ones
        for i, line in enumerate(lines):
            if items[i] is None:
                item = _header_line(line)
                if item is None:
                    return False  # folding, an empty line, a comma list: line by line
                items[i] = item
                if len(line) <= 200 and item[0] not in _NEVER_REPEATED:
                    if len(_LINES) >= 2048:  # lines come from the wire: bound the cache
                        _LINES.clear()
                    _LINES[line] = item
    headers = message.headers
    headers._items = items  # type: ignore[assignment]  # no None left
    headers._first = first = dict(reversed(items))  # type: ignore[arg-type]
    headers._repeats = len(first) != len(items)
    return True


def _header_line(line: str) -> tuple[str, str] | None:
    """One ``name: value`` line; None for what the line-by-line parser must see."""
    if "\n" in line:
        return None  # a bare LF line end: the line-by-line parser splits on those
    raw, colon, value = line.partition(":")
    name = _NAMES.get(raw)
    if name is None:
        name = _wire_name(raw)
    if not name or not colon:  # folding, an empty line, a malformed line
        return None
    value = value.strip()
    if name in COMMA_LISTS and "," in value:
        return None  # several values on one line
    return name, value


def _check(message: Message) -> None:
    headers = message.headers
    if not headers._lookup().keys() >= _MANDATORY:
        for name in MANDATORY:
            if name not in headers:
                raise SipParseError(f"missing {canonical(name)} header")
    try:
        number, method = message.cseq
    except ValueError:
        raise SipParseError("bad CSeq") from None
    if not 0 <= number < 2**31:
        raise SipParseError("CSeq out of range")
    if isinstance(message, Request) and method != message.method and message.method != "ACK":
        raise SipParseError("CSeq method does not match the request")


def parse_head(head: bytes) -> Message:
    """Parse a start line and headers (no body).  Raises :class:`SipParseError`."""
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        text = head.decode("utf-8", "replace")
        first = text.split("\n", 1)[0]
        if "\ufffd" in first:
            raise SipParseError("start line is not UTF-8", None) from None
        message = _parse_start(first.rstrip("\r"))
        raise SipParseError("headers are not UTF-8", 400, _salvage(message, text)) from None
    newline = text.find("\n")
    message = _parse_start((text[:newline] if newline >= 0 else text).strip())
    block = text[newline + 1:] if newline >= 0 else ""
    try:
        if not _fast_headers(block, message):
            _parse_headers(block.replace("\r\n", "\n").split("\n"), message)
        _check(message)
    except SipParseError as error:
        if isinstance(message, Request):
            error.partial = message
        else:
            error.status = None  # a bad response is dropped: nobody to answer
        raise
    return message


def _salvage(message: Message, text: str) -> Request | None:
    """Best effort headers of a request with bad bytes, so that a 400 can reach its sender."""
    if not isinstance(message, Request):
        return None
    good = [line for line in text.replace("\r\n", "\n").split("\n")[1:] if "\ufffd" not in line]
    try:
        _parse_headers(good, message)
    except SipParseError:
        return None
    return message


def content_length(message: Message) -> int | None:
    value = message.headers.get("content-length")
    if value is None:
        return None
    if not value.isdigit():
        partial = message if isinstance(message, Request) else None
        raise SipParseError("bad Content-Length", 400, partial)
    return int(value)


def parse_message(data: bytes) -> Message:
    """Parse one UDP datagram (RFC 3261 18.3)."""
    if len(data) > MAX_MESSAGE:
        raise SipParseError("message too large", None)
    parts = _split_head(data)
    if parts is None:
        raise SipParseError("no end of headers", None)
    head, body = parts
    message = parse_head(head)
    length = content_length(message)
    if length is not None:
        if length > len(body):
            if isinstance(message, Response):
                raise SipParseError("truncated response", None)
            raise SipParseError("body shorter than Content-Length", 400, message)
        body = body[:length]  # bytes past Content-Length are not part of this message
    message.body = body
    return message


class KeepAlive:
    """A CRLF keep-alive ping seen on a stream (RFC 5626 section 3.5.1)."""


class StreamParser:
    """Frames SIP messages out of a TCP byte stream; feed bytes, get messages."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[Message | KeepAlive | SipParseError]:
        """Returns the complete messages (and errors, in order).  An error with
        ``status`` None means the stream lost framing: the transport should close it."""
        self._buffer += data
        out: list[Message | KeepAlive | SipParseError] = []
        while True:
            item = self._next()
            if item is None:
                return out
            out.append(item)
            if isinstance(item, SipParseError) and item.status is None:
                self._buffer.clear()
                return out

    def _next(self) -> Message | KeepAlive | SipParseError | None:
        buf = self._buffer
        if buf[:4] == b"\r\n\r\n":
            del buf[:4]
            return KeepAlive()
        while buf[:2] == b"\r\n" and buf[2:4] != b"\r\n" and len(buf) >= 4:
            del buf[:2]  # stray CRLF between messages (RFC 3261 7.5)
        if buf[:2] == b"\r\n" and len(buf) < 4:
            return None
        end = buf.find(b"\r\n\r\n")
        if end < 0:
            if len(buf) > MAX_MESSAGE:
                return SipParseError("headers too long", None)
            return None
        head = bytes(buf[:end])
        try:
            message = parse_head(head)
            length = content_length(message)
        except SipParseError as error:
            # Framing is lost unless we know where the message ends: skip this head only.
            del buf[: end + 4]
            return error
        length = length or 0  # TCP requires Content-Length; absent means no body
        if length > MAX_MESSAGE:
            return SipParseError("body too large", None)
        if len(buf) < end + 4 + length:
            return None
        message.body = bytes(buf[end + 4 : end + 4 + length])
        del buf[: end + 4 + length]
        return message


def split_commas(value: str) -> list[str]:
    """Split a header value on commas outside quotes and angle brackets."""
    parts, depth, quoted, start, i = [], 0, False, 0, 0
    while i < len(value):
        ch = value[i]
        if quoted:
            if ch == "\\":
                i += 1
            elif ch == '"':
                quoted = False
        elif ch == '"':
            quoted = True
        elif ch == "<":
            depth += 1
        elif ch == ">":
            depth = max(0, depth - 1)
        elif ch == "," and depth == 0:
            parts.append(value[start:i].strip())
            start = i + 1
        i += 1
    parts.append(value[start:].strip())
    return [p for p in parts if p]
