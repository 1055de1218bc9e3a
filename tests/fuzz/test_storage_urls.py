"""Random storage URLs and paths through ``get_storage``: a storage, or a ``StorageError``
(or ``ValueError``) with a message; misspelt SQLite and PostgreSQL URLs get a "did you
mean". Run in a scratch folder, and no generated URL names a reachable server."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from honed.errors import StorageError
from honed.storage import Storage, get_storage
from tests.fuzz._settings import fuzz

# Relative names only ("/" never leads), no "?" (SQLAlchemy warns about query arguments).
tails = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="/\\?"),
    max_size=10,
)
schemes = st.sampled_from(
    [
        "sqlite",
        "SQLite",
        "sqlite3",
        "sqlit",
        "sqllite",
        "sqlite+pysqlite",
        "postgres",
        "postgre",
        "pgsql",
        "mysql",
        "http",
        "file",
        "x",
        "",
        "C",
        "a.b",
    ]
)
separators = st.sampled_from(["://", ":///", ":/", ":", "//", "", ":////"[:4]])
suffixes = st.sampled_from(["", ".db", ".sqlite", ".txt", ".db\x00", "/x.db"])


@st.composite
def urls(draw: st.DrawFn) -> str:
    if draw(st.booleans()):
        return draw(tails) + draw(suffixes)
    return draw(schemes) + draw(separators) + draw(tails) + draw(suffixes)


def _open(url: str) -> None:
    try:
        storage = get_storage(url)
    except (StorageError, ValueError) as e:
        assert str(e).strip(), repr(url)
        return
    assert isinstance(storage, Storage)
    storage.close()


@pytest.mark.slow
@fuzz(400)
@given(urls())
def test_random_storage_urls_open_or_say_why(tmp_path, monkeypatch, url) -> None:
    monkeypatch.chdir(tmp_path)
    _open(url)


@fuzz(200)
@given(st.text(max_size=40).filter(lambda s: not s.startswith(("/", "postgresql"))))
def test_random_text_opens_or_says_why(tmp_path, monkeypatch, url) -> None:
    monkeypatch.chdir(tmp_path)
    _open(url.replace("/", "_"))


@pytest.mark.parametrize(
    ("typo", "meant"),
    [
        ("sqlite:/x.db", "sqlite:///x.db"),
        ("sqlite:x.db", "sqlite:///x.db"),
        ("sqlite//x.db", "sqlite:///x.db"),
        ("sqlite://x.db", "sqlite:///x.db"),
        ("SQLite:///x.db", "sqlite:///x.db"),
        ("sqlite3:///x.db", "sqlite:///x.db"),
        ("sqlite3:////abs/x.db", "sqlite:////abs/x.db"),
        ("sqllite:///x.db", "sqlite:///x.db"),
        ("postgres://u@h/db", "postgresql://u@h/db"),
        ("postgre://u@h/db", "postgresql://u@h/db"),
        ("postgres+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgresql:/u@h/db", "postgresql://u@h/db"),
        ("pgsql://u@h/db", "postgresql://u@h/db"),
    ],
)
def test_typos_get_a_did_you_mean(tmp_path, monkeypatch, typo, meant) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(StorageError, match=f"did you mean '{meant.replace('+', '[+]')}'"):
        get_storage(typo)
    assert list(tmp_path.iterdir()) == []  # no file or folder named "sqlite:" left behind


def test_plain_paths_with_colons_stay_paths(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    for path in ("a:b.db", "run:3.db", "my.sqlite:x.db"):
        storage = get_storage(path)
        storage.close()
        assert (tmp_path / path).is_file()
