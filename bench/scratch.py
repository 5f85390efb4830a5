"""The scratch PostgreSQL database a benchmark seeds (never point a benchmark at real data)."""

from __future__ import annotations

from urllib.parse import urlparse


def _connect_maintenance(url: str):
    import psycopg

    parsed = urlparse(url)
    maintenance = parsed._replace(path="/postgres").geturl()
    return psycopg.connect(maintenance.replace("postgres://", "postgresql://", 1), autocommit=True)


def ensure_postgres_database(url: str) -> None:
    """Create the database named in `url` if it does not exist."""
    from psycopg import sql

    name = urlparse(url).path.lstrip("/")
    with _connect_maintenance(url) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def recreate_postgres_database(url: str) -> None:
    """Drop (forcibly) and create the database named in `url`: a fresh, empty scratch database."""
    from psycopg import sql

    name = sql.Identifier(urlparse(url).path.lstrip("/"))
    with _connect_maintenance(url) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(name))
