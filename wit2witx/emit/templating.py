"""One Jinja environment for every back end: templates only format.

Imported lazily (jinja2 costs more start-up time than the rest of the CLI), created
once per process, with compiled templates cached by Jinja itself.
"""

from __future__ import annotations

from functools import lru_cache

from .._resources import templates_dir


@lru_cache(maxsize=1)
def environment():
    import jinja2  # noqa: PLC0415

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir())),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )


def render(template: str, **context) -> str:
    """Render `templates/<template>` (e.g. "docs/module.md.j2") with `context`."""
    return environment().get_template(template).render(**context)
