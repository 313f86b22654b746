"""Where a database is: a SQLite file path, a ``sqlite:///`` URL or a ``postgresql://`` URL."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

Engine = Literal["sqlite", "postgres"]

_POSTGRES_SCHEMES = ("postgresql", "postgres", "postgresql+psycopg")


class UnsupportedDatabaseError(ValueError):
    """A database URL this build cannot open."""


def _split_url(text: str) -> tuple[str, str] | None:
    """(scheme, rest) when ``text`` is a URL, else None. "C:/x" (one letter) is a Windows drive; ``file:`` URIs
    (SQLite's own) have no slash after the colon."""
    scheme, colon, rest = text.partition(":")
    is_url = bool(colon) and len(scheme) > 1 and scheme[0].isalpha() and scheme.replace("+", "").isalnum() \
        and rest.startswith("/")
    return (scheme.lower(), rest) if is_url else None


def database_engine(location: str | Path) -> Engine:
    """Which engine a location names; ``UnsupportedDatabaseError`` for other URLs (mysql://, a mangled URL)."""
    text = str(location)
    url = _split_url(text)
    if url is None or url[0] == "sqlite":
        sqlite_path(text)  # raises for a malformed sqlite: URL
        return "sqlite"
    scheme, rest = url
    if scheme in _POSTGRES_SCHEMES:
        if not rest.startswith("//"):
            # A URL that went through pathlib.Path lost a slash ("postgresql:/host"): never make it a folder.
            raise UnsupportedDatabaseError(f"{text!r}: write a PostgreSQL URL as postgresql://user@host/db "
                                           "(as a string: a Path drops a slash)")
        return "postgres"
    raise UnsupportedDatabaseError(f"cannot open {scheme}:// databases: use a SQLite file path, sqlite:///path or "
                                   "postgresql://user@host/db")


def sqlite_path(location: str | Path) -> str:
    """The SQLite file a location names: a path as it is, a ``sqlite:///`` URL's path; other URLs raise
    ``UnsupportedDatabaseError``."""
    text = str(location)
    url = _split_url(text)
    if url is None:
        return text
    scheme, rest = url
    if scheme == "sqlite" and rest.startswith("///") and len(rest) > 3:
        return rest[3:]  # sqlite:///var/x.db -> var/x.db ; sqlite:////abs/x.db -> /abs/x.db
    if scheme == "sqlite":
        raise UnsupportedDatabaseError(f"{text!r}: write a SQLite URL as sqlite:///relative/path or "
                                       "sqlite:////absolute/path (as a string: a Path drops a slash)")
    raise UnsupportedDatabaseError(f"{text!r} is not a SQLite database (a file path or sqlite:///path)")


def database_exists(location: str | Path) -> bool:
    """Whether there is a database to open without creating one: a SQLite file that is there, or any PostgreSQL URL
    (its server says whether it is reachable)."""
    return database_engine(location) == "postgres" or Path(sqlite_path(location)).exists()


def postgres_url(location: str | Path) -> str:
    """The URL psycopg connects with (``postgresql+psycopg://`` is SQLAlchemy's spelling of the same)."""
    text = str(location)
    scheme, _, rest = text.partition(":")
    return "postgresql:" + rest if scheme.lower() in _POSTGRES_SCHEMES else text


#: Seconds libpq waits for a new connection unless the URL says otherwise. Without a limit, a server cut off by the
#: network (nothing refuses, nothing answers) holds every connection attempt for the kernel's TCP timeout: minutes.
CONNECT_TIMEOUT_SECONDS = 10


def connect_options(url: str) -> dict[str, int]:
    """What every deskgraph connection to the PostgreSQL ``url`` adds to it: a connect timeout, unless the URL has
    its own."""
    from psycopg.conninfo import conninfo_to_dict

    return {} if "connect_timeout" in conninfo_to_dict(url) else {"connect_timeout": CONNECT_TIMEOUT_SECONDS}


def redacted(location: str | Path) -> str:
    """A location for logs and terminals: a URL's password left out."""
    text = str(location)
    if "://" in text and "@" in text:
        scheme, rest = text.split("://", 1)
        credentials, host = rest.rsplit("@", 1)
        return f"{scheme}://{credentials.split(':', 1)[0]}@{host}"
    return text
