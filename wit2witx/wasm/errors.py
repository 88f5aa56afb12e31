"""The one error the wasm readers raise; `wit/decode.py` turns it into a diagnostic."""

from __future__ import annotations


class WasmError(Exception):
    """Malformed or unsupported wasm input at `pos` (byte or character offsets)."""

    def __init__(self, message: str, pos: tuple[int, int] | None) -> None:
        super().__init__(message)
        self.message = message
        self.pos = pos
