"""atomig timed as installed: byte-compiled, as ``pip install`` leaves a package.

The development install is editable, and with ``PYTHONDONTWRITEBYTECODE`` set (as on the
machines these benchmarks run on) no ``.pyc`` is ever written for it, so every command would
compile atomig's sources again (about 50 ms). Benchmarks that time whole commands call
:func:`compile_atomig` first unless asked not to (``--no-compile``).
"""

from __future__ import annotations

from pathlib import Path


def compile_atomig() -> None:
    """Write atomig's bytecode (``__pycache__``, git-ignored), as ``pip install`` does."""
    import compileall

    import atomig

    compileall.compile_dir(Path(atomig.__file__).parent, quiet=1)
