"""The templates of every back end: `templates/<backend>/<file>.py`; templates only format.

A template is a small Python module with a `render(view...) -> str` function: it turns
the view model its back end computed (every name, type and line already decided) into
text, one small formatting function per construct, and decides nothing. Templates are
Python rather than Jinja for speed (DESIGN.md, "Performance budgets"): for all of WASI
0.2 with every back end, Jinja took ~16 ms to render the 2.8 MB (these take ~6 ms), and
`import jinja2` cost every run another ~17 ms.

Each template is loaded by path, once per process, with its bytecode cached like any
module's (`templates/<backend>/__pycache__/`).
"""

from __future__ import annotations

import importlib.util
from functools import lru_cache
from types import ModuleType

from .._resources import templates_dir


@lru_cache(maxsize=None)
def template(name: str) -> ModuleType:
    """The template module `templates/<name>` (e.g. "c/header_h.py"), loaded once."""
    path = templates_dir() / name
    module_name = "wit2witx.templates." + name.removesuffix(".py").replace("/", ".")
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:  # pragma: no cover - a broken installation
        raise FileNotFoundError(f"wit2witx installation is missing the template `{name}`")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def render(name: str, /, *args, **kwargs) -> str:
    """`templates/<name>`'s `render(*args, **kwargs)`."""
    return template(name).render(*args, **kwargs)
