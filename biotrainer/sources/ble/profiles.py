"""Device profiles: what a strap model offers and its quirks, as data in ``devices/*.toml``.

Profiles are shipped as package data (``biotrainer/sources/ble/devices/``, found with :mod:`importlib.resources`);
the user device folder (``$BIOTRAINER_DEVICES`` if set, else ``platformdirs.user_config_dir("biotrainer")/devices``)
sits beside it: a user file with a shipped file's name replaces that profile, other user files add models
(the one rule of :mod:`biotrainer.core.data_files`, as for protocols).

A profile is picked for a strap found by its Heart Rate Service (0x180D): the advertised name is matched against
each profile's ``name_patterns`` (case-insensitive regular expressions, ``re.search``); a strap no pattern matches
gets the ``generic`` profile. Names are used only to pick a profile, never to decide whether a device is a strap.
Adding a model is adding a file::

    id = "polar_h10"                 # unique, [a-z0-9_]+, the file name without .toml
    model = "Polar H10"
    vendor = "Polar"
    kind = "chest strap"             # chest strap | arm band | generic
    name_patterns = ["^Polar H10\\b"]
    capabilities = ["hr", "rr", "ecg", "acc", "battery"]
    pmd_streams = ["ecg", "acc"]     # PMD streams biotrainer starts when the strap offers the PMD service
    verified_with_hardware = false   # whether this profile was checked against a real strap
    [quirks]
    min_mtu = 232                    # ATT MTU needed for full PMD frames (smaller MTU truncates them)
    rr_missing = "text"              # when the strap sends no RR values
    notes = ["free text", "..."]

:func:`load_profiles` checks every file against this schema and raises
:class:`~biotrainer.core.errors.DeviceError` with a one-line message naming the file and field.
"""

from __future__ import annotations

import dataclasses
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from biotrainer.core.data_files import SHIPPED, USER, data_files, shipped_dir, user_dir
from biotrainer.core.errors import DeviceError, DeviceErrorReason

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


class ProfileError(DeviceError):
    """A device profile file is missing or invalid, or a profile id is unknown (reason ``PROFILE``)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, DeviceErrorReason.PROFILE)


CAPABILITIES = ("hr", "rr", "ecg", "acc", "battery")
PMD_STREAMS = ("ecg", "acc")
KINDS = ("chest strap", "arm band", "generic")
GENERIC_ID = "generic"
ENV_USER_DEVICES = "BIOTRAINER_DEVICES"

_REQUIRED: dict[str, type | tuple[type, ...]] = {
    "id": str, "model": str, "vendor": str, "kind": str, "name_patterns": list, "capabilities": list,
}
_OPTIONAL: dict[str, type | tuple[type, ...]] = {
    "pmd_streams": list, "verified_with_hardware": bool, "quirks": dict, "description": str,
}
_QUIRKS: dict[str, type | tuple[type, ...]] = {
    "min_mtu": int, "rr_missing": str, "max_connections": int, "notes": list,
}
_ID_RE = re.compile(r"^[a-z0-9_]+$")


@dataclass(frozen=True)
class DeviceProfile:
    """One strap model. ``name_patterns`` are compiled case-insensitive regular expressions."""

    id: str
    model: str
    vendor: str
    kind: str
    name_patterns: tuple[re.Pattern[str], ...]
    capabilities: frozenset[str]
    pmd_streams: tuple[str, ...] = ()
    verified_with_hardware: bool = False
    min_mtu: int | None = None
    rr_missing: str = ""
    max_connections: int | None = None
    notes: tuple[str, ...] = ()
    description: str = ""
    path: str = ""
    origin: str = SHIPPED  # "shipped" (package data) or "user" (the user device folder, or a folder given)

    def has(self, capability: str) -> bool:
        """True when the model offers ``capability`` (one of :data:`CAPABILITIES`)."""
        return capability in self.capabilities

    def matches(self, name: str | None) -> bool:
        """True when the advertised ``name`` matches one of the profile's patterns."""
        return bool(name) and any(p.search(name) for p in self.name_patterns)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready description (for ``biotrainer devices --json`` and the GUI)."""
        return {
            "id": self.id, "model": self.model, "vendor": self.vendor, "kind": self.kind,
            "name_patterns": [p.pattern for p in self.name_patterns],
            "capabilities": [c for c in CAPABILITIES if c in self.capabilities],
            "pmd_streams": list(self.pmd_streams), "verified_with_hardware": self.verified_with_hardware,
            "quirks": {"min_mtu": self.min_mtu, "rr_missing": self.rr_missing,
                       "max_connections": self.max_connections, "notes": list(self.notes)},
            "description": self.description, "path": self.path, "origin": self.origin,
        }


@dataclass
class ProfileSet:
    """All loaded profiles, in match order (file name order, ``generic`` last)."""

    profiles: list[DeviceProfile] = field(default_factory=list)

    def get(self, profile_id: str) -> DeviceProfile:
        """The profile with ``profile_id``; raises DeviceError naming the known ids."""
        for p in self.profiles:
            if p.id == profile_id:
                return p
        known = ", ".join(p.id for p in self.profiles)
        raise ProfileError(f"unknown device profile {profile_id!r} (known: {known})")

    @property
    def generic(self) -> DeviceProfile:
        return self.get(GENERIC_ID)

    def match(self, name: str | None) -> DeviceProfile:
        """The first profile whose name patterns match ``name``, else the generic profile."""
        for p in self.profiles:
            if p.id != GENERIC_ID and p.matches(name):
                return p
        return self.generic


def shipped_devices_dir() -> Path:
    """The profiles shipped as package data: ``biotrainer/sources/ble/devices/``."""
    return shipped_dir("biotrainer.sources.ble", "devices")


def user_devices_dir() -> Path:
    """``$BIOTRAINER_DEVICES``, else the per-user config folder's ``devices`` (may not exist)."""
    return user_dir("devices", ENV_USER_DEVICES)


def _check_type(path: Path, key: str, value: Any, typ: type | tuple[type, ...]) -> None:
    if isinstance(value, bool) and typ is int:
        raise ProfileError(f"{path}: field {key!r} must be an integer, not a boolean")
    if not isinstance(value, typ):
        name = typ.__name__ if isinstance(typ, type) else "/".join(t.__name__ for t in typ)
        raise ProfileError(f"{path}: field {key!r} must be {name}, got {type(value).__name__} {value!r}")


def _str_list(path: Path, key: str, value: list, allowed: tuple[str, ...] | None = None) -> tuple[str, ...]:
    for item in value:
        if not isinstance(item, str):
            raise ProfileError(f"{path}: field {key!r} must be a list of strings, got {item!r}")
        if allowed is not None and item not in allowed:
            raise ProfileError(f"{path}: field {key!r} has unknown value {item!r} (allowed: {', '.join(allowed)})")
    return tuple(value)


def parse_profile(path: Path, data: dict[str, Any]) -> DeviceProfile:
    """Check one profile's table against the schema and build it. Raises DeviceError naming the field."""
    for key in data:
        if key not in _REQUIRED and key not in _OPTIONAL:
            raise ProfileError(f"{path}: unknown field {key!r} (allowed: {', '.join([*_REQUIRED, *_OPTIONAL])})")
    for key, typ in _REQUIRED.items():
        if key not in data:
            raise ProfileError(f"{path}: missing required field {key!r}")
        _check_type(path, key, data[key], typ)
    for key, typ in _OPTIONAL.items():
        if key in data:
            _check_type(path, key, data[key], typ)
    pid = data["id"]
    if not _ID_RE.match(pid):
        raise ProfileError(f"{path}: field 'id' must match [a-z0-9_]+, got {pid!r}")
    if path.suffix == ".toml" and path.stem != pid:
        raise ProfileError(f"{path}: field 'id' is {pid!r} but the file is named {path.name!r}")
    if data["kind"] not in KINDS:
        raise ProfileError(f"{path}: field 'kind' must be one of {', '.join(KINDS)}, got {data['kind']!r}")
    patterns = []
    for pat in _str_list(path, "name_patterns", data["name_patterns"]):
        try:
            patterns.append(re.compile(pat, re.IGNORECASE))
        except re.error as exc:
            raise ProfileError(f"{path}: field 'name_patterns' has an invalid regular expression {pat!r}: {exc}") from None
    caps = frozenset(_str_list(path, "capabilities", data["capabilities"], CAPABILITIES))
    if "hr" not in caps:
        raise ProfileError(f"{path}: field 'capabilities' must include 'hr' (every Heart Rate Service strap sends it)")
    streams = _str_list(path, "pmd_streams", data.get("pmd_streams", []), PMD_STREAMS)
    quirks = data.get("quirks", {})
    for key, value in quirks.items():
        if key not in _QUIRKS:
            raise ProfileError(f"{path}: unknown field 'quirks.{key}' (allowed: {', '.join(_QUIRKS)})")
        _check_type(path, f"quirks.{key}", value, _QUIRKS[key])
    notes = _str_list(path, "quirks.notes", quirks.get("notes", []))
    min_mtu = quirks.get("min_mtu")
    if min_mtu is not None and not 23 <= min_mtu <= 517:
        raise ProfileError(f"{path}: field 'quirks.min_mtu' must be within 23..517, got {min_mtu}")
    return DeviceProfile(
        id=pid, model=data["model"], vendor=data["vendor"], kind=data["kind"], name_patterns=tuple(patterns),
        capabilities=caps, pmd_streams=streams, verified_with_hardware=data.get("verified_with_hardware", False),
        min_mtu=min_mtu, rr_missing=quirks.get("rr_missing", ""), max_connections=quirks.get("max_connections"),
        notes=notes, description=data.get("description", ""), path=str(path),
    )


def load_profile_file(path: Path, origin: str = SHIPPED) -> DeviceProfile:
    """Read and check one ``devices/*.toml`` file."""
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except OSError as exc:
        raise ProfileError(f"{path}: cannot read device profile: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(f"{path}: not valid TOML: {exc}") from None
    return dataclasses.replace(parse_profile(path, data), origin=origin)


_CACHE: dict[tuple[tuple[str, Path, int], ...], ProfileSet] = {}


def _profile_files(devices_dir: str | Path | None) -> dict[str, tuple[str, Path]]:
    """``{name: (origin, path)}``: one explicit folder, else the shipped folder with the user folder beside it."""
    if devices_dir is not None:
        folder = Path(devices_dir).expanduser()
        if not folder.is_dir():
            raise ProfileError(f"{folder}: device profile folder not found")
        origin = SHIPPED if folder.resolve() == shipped_devices_dir().resolve() else USER
        return {p.stem: (origin, p) for p in sorted(folder.glob("*.toml"))}
    shipped = shipped_devices_dir()
    if not shipped.is_dir():
        raise ProfileError(f"{shipped}: shipped device profile folder not found (a broken installation: "
                           "reinstall biotrainer)")
    return data_files(shipped, user_devices_dir())


def load_profiles(devices_dir: str | Path | None = None, *, use_cache: bool = True) -> ProfileSet:
    """Load every ``*.toml`` profile: of ``devices_dir`` alone if given, else the shipped and the user ones.

    A user file named like a shipped one replaces it (:mod:`biotrainer.core.data_files`). Raises DeviceError if
    the folder is missing, a file is invalid (its id must be its file name), or there is no ``generic`` profile.
    """
    files = _profile_files(devices_dir)
    key = tuple((origin, path.resolve(), path.stat().st_mtime_ns) for origin, path in files.values())  # edits too
    if use_cache and key in _CACHE:
        return _CACHE[key]
    profiles = [load_profile_file(path, origin) for origin, path in files.values()]  # id == file name: unique
    if GENERIC_ID not in files:
        where = devices_dir if devices_dir is not None else shipped_devices_dir()
        raise ProfileError(f"{where}: no '{GENERIC_ID}.toml' profile (needed for unknown straps)")
    profiles.sort(key=lambda p: (p.id == GENERIC_ID, p.id))
    result = ProfileSet(profiles)
    _CACHE[key] = result
    return result
