"""One Jinja environment for every back end: templates only format.

Imported lazily (jinja2 costs more start-up time than the rest of the CLI), created
once per process, with compiled templates cached by Jinja itself.
"""

from __future__ import annotations

import os
from functools import lru_cache

from .._resources import cache_dir, templates_dir


def _bytecode_cache():
    """Compiled templates on disk: a new process skips Jinja's compile step (tens of ms
    for the host-glue templates). Keyed by template source; best effort."""
    import jinja2  # noqa: PLC0415

    folder = cache_dir() / "jinja"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    if not os.access(folder, os.W_OK | os.X_OK):
        return None
    return jinja2.FileSystemBytecodeCache(str(folder))


@lru_cache(maxsize=1)
def environment():
    import jinja2  # noqa: PLC0415

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir())),
        bytecode_cache=_bytecode_cache(),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )


def render(template: str, **context) -> str:
    """Render `templates/<template>` (e.g. "docs/module.md.j2") with `context`."""
    return environment().get_template(template).render(**context)
