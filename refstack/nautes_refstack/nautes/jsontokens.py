"""A JSON token reader that fails like Go protobuf's ``internal/encoding/json`` decoder.

kratos decodes request bodies with ``protojson``, whose tokenizer reports malformed JSON with its own
texts and ``(line L:C)`` positions (``syntax error (line 1:9): unexpected token }``). The emulated server
sends those texts back in ``400 CODEC body unmarshal ...``, so this module ports the tokenizer's
sequencing rules and messages (protobuf-go v1.31 ``decode.go``/``decode_string.go``) instead of relying on
Python's ``json`` module, whose errors read differently.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass


class TokenKind(enum.Flag):
    EOF = enum.auto()
    NULL = enum.auto()
    BOOL = enum.auto()
    NUMBER = enum.auto()
    STRING = enum.auto()
    NAME = enum.auto()
    OBJECT_OPEN = enum.auto()
    OBJECT_CLOSE = enum.auto()
    ARRAY_OPEN = enum.auto()
    ARRAY_CLOSE = enum.auto()
    COMMA = enum.auto()
    NONE = 0


SCALAR = TokenKind.NULL | TokenKind.BOOL | TokenKind.NUMBER | TokenKind.STRING


@dataclass(frozen=True)
class Token:
    kind: TokenKind
    raw: bytes
    pos: int
    text: str = ""
    flag: bool = False

    def raw_string(self) -> str:
        return self.raw.decode("utf-8", errors="replace")


class JsonSyntaxError(ValueError):
    """A decoding failure; ``str()`` is the Go error text including the ``proto: `` prefix."""


_NUMBER = re.compile(rb"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_NON_DELIMITER = re.compile(rb"[-+._a-zA-Z0-9]")
_ERROR_SNIPPET = re.compile(rb"[-+._a-zA-Z0-9]{1,32}|.", re.DOTALL)
_WHITESPACE = b" \n\r\t"
_ESCAPES = {
    ord('"'): '"',
    ord("\\"): "\\",
    ord("/"): "/",
    ord("b"): "\b",
    ord("f"): "\f",
    ord("n"): "\n",
    ord("r"): "\r",
    ord("t"): "\t",
}


def proto_error(text: str) -> JsonSyntaxError:
    return JsonSyntaxError("proto: " + text)


class TokenReader:
    """Reads one JSON document token by token, enforcing JSON's grammar as protobuf-go does."""

    def __init__(self, data: bytes) -> None:
        self.orig = data
        self.offset = 0
        self.open_stack: list[TokenKind] = []
        self.last = TokenKind.NONE
        self._skip_space()

    def position(self, index: int) -> tuple[int, int]:
        """1-based line and column (in runes) of a byte offset, like ``Decoder.Position``."""
        before = self.orig[:index]
        line = before.count(b"\n") + 1
        last_newline = before.rfind(b"\n")
        if last_newline >= 0:
            before = before[last_newline + 1 :]
        return line, len(before.decode("utf-8", errors="replace")) + 1

    def syntax_error(self, pos: int, text: str) -> JsonSyntaxError:
        line, column = self.position(pos)
        return proto_error(f"syntax error (line {line}:{column}): {text}")

    def error_at(self, pos: int, text: str) -> JsonSyntaxError:
        """A decoding (not grammar) error, e.g. a value of the wrong type (``decoder.newError``)."""
        line, column = self.position(pos)
        return proto_error(f"(line {line}:{column}): {text}")

    def unexpected(self, token: Token) -> JsonSyntaxError:
        return self.syntax_error(token.pos, f"unexpected token {token.raw_string()}")

    def read(self) -> Token:
        while True:
            token = self._check_sequence(self._next_token())
            self.last = token.kind
            if token.kind is not TokenKind.COMMA:
                return token

    def _remaining(self) -> bytes:
        return self.orig[self.offset :]

    def _skip_space(self) -> None:
        while self.offset < len(self.orig) and self.orig[self.offset] in _WHITESPACE:
            self.offset += 1

    def _consume(self, kind: TokenKind, size: int, text: str = "", flag: bool = False) -> Token:
        token = Token(kind, self.orig[self.offset : self.offset + size], self.offset, text, flag)
        self.offset += size
        self._skip_space()
        return token

    def _literal(self, word: bytes) -> int:
        rest = self._remaining()
        if not rest.startswith(word):
            return 0
        if len(rest) > len(word) and _NON_DELIMITER.match(rest, len(word)):
            return 0
        return len(word)

    def _next_token(self) -> Token:
        rest = self._remaining()
        if not rest:
            return Token(TokenKind.EOF, b"", self.offset)
        first = rest[:1]
        if first == b"n" and (size := self._literal(b"null")):
            return self._consume(TokenKind.NULL, size)
        if first == b"t" and (size := self._literal(b"true")):
            return self._consume(TokenKind.BOOL, size, flag=True)
        if first == b"f" and (size := self._literal(b"false")):
            return self._consume(TokenKind.BOOL, size, flag=False)
        if first in b"-0123456789" and first:
            match = _NUMBER.match(rest)
            if match and not (len(rest) > match.end() and _NON_DELIMITER.match(rest, match.end())):
                return self._consume(TokenKind.NUMBER, match.end())
        if first == b'"':
            text, size = self._parse_string(rest)
            return self._consume(TokenKind.STRING, size, text)
        single = {
            b"{": TokenKind.OBJECT_OPEN,
            b"}": TokenKind.OBJECT_CLOSE,
            b"[": TokenKind.ARRAY_OPEN,
            b"]": TokenKind.ARRAY_CLOSE,
            b",": TokenKind.COMMA,
        }
        if first in single:
            return self._consume(single[first], 1)
        snippet = _ERROR_SNIPPET.match(rest)
        shown = snippet.group(0).decode("utf-8", errors="replace") if snippet else ""
        raise self.syntax_error(self.offset, f"invalid value {shown}")

    def _parse_string(self, rest: bytes) -> tuple[str, int]:
        """Decode the string literal at the start of ``rest``; returns the text and the literal's size."""
        out = bytearray()
        index = 1
        while index < len(rest):
            char = rest[index]
            if char == ord('"'):
                try:
                    return out.decode("utf-8"), index + 1
                except UnicodeDecodeError:
                    raise self.syntax_error(self.offset, "invalid UTF-8 in string") from None
            if char < 0x20:
                raise self.syntax_error(self.offset, f"invalid character {chr(char)!r} in string")
            if char != ord("\\"):
                out.append(char)
                index += 1
                continue
            decoded, index = self._unescape(rest, index)
            out += decoded
        raise proto_error("unexpected EOF")

    def _unescape(self, rest: bytes, index: int) -> tuple[bytes, int]:
        """Decode the escape at ``rest[index]`` (a backslash); returns its bytes and the next index."""
        if index + 1 >= len(rest):
            raise proto_error("unexpected EOF")
        escape = rest[index + 1]
        if escape in _ESCAPES:
            return _ESCAPES[escape].encode(), index + 2
        if escape != ord("u"):
            raise self._bad_escape(rest[index : index + 2])
        code = self._hex4(rest, index)
        index += 6
        if 0xD800 <= code <= 0xDFFF:
            low = self._hex4(rest, index) if rest[index : index + 2] == b"\\u" else -1
            if not 0xDC00 <= low <= 0xDFFF:
                raise self._bad_escape(rest[index : index + 6])
            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
            index += 6
        return chr(code).encode("utf-8"), index

    def _hex4(self, rest: bytes, index: int) -> int:
        if index + 6 > len(rest):
            raise proto_error("unexpected EOF")
        try:
            return int(rest[index + 2 : index + 6], 16)
        except ValueError:
            raise self._bad_escape(rest[index : index + 6]) from None

    def _bad_escape(self, sequence: bytes) -> JsonSyntaxError:
        shown = sequence.decode("utf-8", errors="replace")
        return self.syntax_error(self.offset, f'invalid escape code "{shown}" in string')

    def _value_expected(self) -> bool:
        if not self.open_stack:
            return self.last is TokenKind.NONE
        if self.open_stack[-1] is TokenKind.OBJECT_OPEN:
            return self.last is TokenKind.NAME
        return self.last in (TokenKind.ARRAY_OPEN, TokenKind.COMMA)

    def _check_sequence(self, token: Token) -> Token:
        """Reject a token that cannot follow the previous one; a string in key position becomes a NAME."""
        kind = token.kind
        if kind is TokenKind.EOF:
            if self.open_stack or not (self.last & (SCALAR | TokenKind.OBJECT_CLOSE | TokenKind.ARRAY_CLOSE)):
                raise proto_error("unexpected EOF")
        elif kind in (TokenKind.NULL, TokenKind.BOOL, TokenKind.NUMBER):
            if not self._value_expected():
                raise self.unexpected(token)
        elif kind is TokenKind.STRING:
            if not self._value_expected():
                return self._as_field_name(token)
        elif kind in (TokenKind.OBJECT_OPEN, TokenKind.ARRAY_OPEN):
            if not self._value_expected():
                raise self.unexpected(token)
            self.open_stack.append(kind)
        elif kind in (TokenKind.OBJECT_CLOSE, TokenKind.ARRAY_CLOSE):
            opener = TokenKind.OBJECT_OPEN if kind is TokenKind.OBJECT_CLOSE else TokenKind.ARRAY_OPEN
            if not self.open_stack or self.last is TokenKind.COMMA or self.open_stack[-1] is not opener:
                raise self.unexpected(token)
            self.open_stack.pop()
        elif kind is TokenKind.COMMA and (
            not self.open_stack or not (self.last & (SCALAR | TokenKind.OBJECT_CLOSE | TokenKind.ARRAY_CLOSE))
        ):
            raise self.unexpected(token)
        return token

    def _as_field_name(self, token: Token) -> Token:
        """A string where no value is expected must be an object key followed by ``:``."""
        if not (self.last & (TokenKind.OBJECT_OPEN | TokenKind.COMMA)) or not self.open_stack:
            raise self.unexpected(token)
        if self.open_stack[-1] is not TokenKind.OBJECT_OPEN:
            raise self.unexpected(token)
        rest = self._remaining()
        if not rest:
            raise proto_error("unexpected EOF")
        if rest[:1] != b":":
            shown = rest[:1].decode(errors="replace")
            raise self.syntax_error(
                self.offset, f'unexpected character {shown}, missing ":" after field name'
            )
        self.offset += 1
        self._skip_space()
        return Token(TokenKind.NAME, token.raw, token.pos, token.text)
