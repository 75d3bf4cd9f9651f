"""The one rule for shipped data files and the user's folder beside them (core/data_files.py)."""

from __future__ import annotations

from pathlib import Path

from biotrainer.core.data_files import SHIPPED, USER, data_files, shipped_dir, user_dir


def _write(folder: Path, *names: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / name).write_text(f"# {folder.name}/{name}\n", encoding="utf-8")


def test_a_user_file_replaces_the_shipped_file_of_its_name_and_others_are_added(tmp_path):
    shipped, user = tmp_path / "shipped", tmp_path / "user"
    _write(shipped, "a.toml", "b.toml", "notes.txt")
    _write(user, "b.toml", "c.toml")
    found = data_files(shipped, user)
    assert found == {"a": (SHIPPED, shipped / "a.toml"), "b": (USER, user / "b.toml"), "c": (USER, user / "c.toml")}


def test_missing_folders_contribute_nothing(tmp_path):
    _write(tmp_path / "shipped", "a.toml")
    assert data_files(tmp_path / "shipped", tmp_path / "nope") == {"a": (SHIPPED, tmp_path / "shipped" / "a.toml")}
    assert data_files(tmp_path / "nope", tmp_path / "nope2") == {}


def test_user_folder_is_the_environment_variable_else_the_per_user_config_folder(tmp_path, monkeypatch):
    import platformdirs

    monkeypatch.setenv("BIOTRAINER_TEST_FOLDER", str(tmp_path / "mine"))
    assert user_dir("things", "BIOTRAINER_TEST_FOLDER") == tmp_path / "mine"
    monkeypatch.delenv("BIOTRAINER_TEST_FOLDER")
    assert user_dir("things", "BIOTRAINER_TEST_FOLDER") == Path(platformdirs.user_config_dir("biotrainer")) / "things"


def test_shipped_folder_is_package_data_inside_the_package():
    import biotrainer.protocols

    folder = shipped_dir("biotrainer.protocols", "shipped")
    assert folder.parent == Path(biotrainer.protocols.__file__).parent
    assert (folder / "reset.toml").is_file()
