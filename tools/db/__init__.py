"""The deployment's database, on either engine: where it is (``urls``), how SQL written for SQLite runs on
PostgreSQL (``postgres``), and the one versioned schema of every table the product shares (``migrations``).

SQLite is the embedded default (one file per role: the store's, the checkpoints'); PostgreSQL holds everything in
one database that any number of service replicas share. Code above this layer writes SQLite-flavoured SQL with
``?`` parameters, portable statements (``ON CONFLICT``, ``RETURNING``) and plain column names; the PostgreSQL
connection adapts the rest.
"""

from tools.db.urls import Engine, UnsupportedDatabaseError, database_engine, database_exists, sqlite_path

__all__ = ["Engine", "UnsupportedDatabaseError", "database_engine", "database_exists", "sqlite_path"]
