"""The JSON writer: `pretty` is `json.dumps(indent=2, ensure_ascii=False)`, faster.

The resolve JSON itself is checked byte for byte against wasm-tools elsewhere
(test_wit_conformance, test_wit_encoded); this pins the writer to the standard
library's output on any JSON value, odd strings and keys included.
"""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from wit2witx.emit.json import pretty

_leaves = (st.none() | st.booleans() | st.integers(min_value=-2**70, max_value=2**70)
           | st.floats(allow_nan=False) | st.text())
_values = st.recursive(
    _leaves,
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.text() | st.integers(), inner, max_size=4),
    max_leaves=25)


@settings(max_examples=200, deadline=None, derandomize=True, database=None)
@given(_values)
def test_pretty_is_the_standard_encoder_indented_by_two(value) -> None:
    assert pretty(value) == json.dumps(value, indent=2, ensure_ascii=False)


def test_pretty_escapes_like_the_standard_encoder() -> None:
    value = {"quote\"back\\slash": ["\x00\x1f\x7f", "\u2028\u2029", "é😀", "\n\t\r"], "": {}}
    assert pretty(value) == json.dumps(value, indent=2, ensure_ascii=False)
