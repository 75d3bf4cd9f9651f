"""biotrainer: breath practice with physiological feedback.

A practice and research tool, not a medical device. See README.md.

``biotrainer.__version__`` is the installed distribution's version (:mod:`importlib.metadata`; a wheel, pipx, an
editable install or a frozen bundle that carries the metadata); run from a checkout that is not installed, it is
the version in the checkout's ``pyproject.toml``. It is looked up on first use.
"""

from __future__ import annotations

__all__ = ["__version__"]

UNKNOWN_VERSION = "0+unknown"


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("biotrainer")
    except PackageNotFoundError:
        return _checkout_version()


def _checkout_version() -> str:
    """The ``[project] version`` of the ``pyproject.toml`` beside this package (a checkout run via PYTHONPATH)."""
    import sys
    from pathlib import Path

    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
    pyproject = Path(__file__).resolve().parent.parent / "pyproject.toml"
    try:
        with open(pyproject, "rb") as fh:
            project = tomllib.load(fh).get("project", {})
    except (OSError, tomllib.TOMLDecodeError):
        return UNKNOWN_VERSION
    if project.get("name") != "biotrainer" or not isinstance(project.get("version"), str):
        return UNKNOWN_VERSION
    return project["version"]


def __getattr__(name: str) -> str:
    if name == "__version__":
        value = _version()
        globals()["__version__"] = value
        return value
    raise AttributeError(f"module 'biotrainer' has no attribute {name!r}")
