"""Naming an ML Metadata store: a path (SQLite) or `mysql://user[:password]@host:port/database`
(MLMD's MySQL backend, e.g. a team's server), turned into MLMD's ConnectionConfig in one place.

Every command takes the name from `--metadata` or BABYWEIGHT_METADATA (OutputLayout.store()).
The password may be in the URL, in a file (`?password_file=FILE` or
BABYWEIGHT_METADATA_PASSWORD_FILE) or in BABYWEIGHT_METADATA_PASSWORD; it is never shown:
`StoreName.display` masks it, and that is what logs, summaries and lineage print.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import re
import socket
import urllib.parse

from babyweight.errors import UsageError

from ml_metadata.proto import metadata_store_pb2

PASSWORD_FILE_ENV = "BABYWEIGHT_METADATA_PASSWORD_FILE"
PASSWORD_ENV = "BABYWEIGHT_METADATA_PASSWORD"
MYSQL_PORT = 3306


@dataclasses.dataclass(frozen=True)
class StoreName:
    """One store: SQLite at `path`, or a MySQL database (`password` never printed)."""

    path: str = ""
    host: str = ""
    port: int = MYSQL_PORT
    database: str = ""
    user: str = ""
    password: str = dataclasses.field(default="", repr=False)

    @property
    def is_mysql(self) -> bool:
        return bool(self.host)

    @property
    def display(self) -> str:
        """The name to print: the path, or the URL with the password masked."""
        if not self.is_mysql:
            return self.path
        secret = ":***" if self.password else ""
        return f"mysql://{self.user}{secret}@{self.host}:{self.port}/{self.database}"

    def exists(self) -> bool:
        """Whether there is a store to read: a server is always asked (it answers at open)."""
        return self.is_mysql or os.path.isfile(self.path)

    def connection_config(self, *, readonly: bool = False) -> metadata_store_pb2.ConnectionConfig:
        config = metadata_store_pb2.ConnectionConfig()
        if self.is_mysql:  # MySQL has no read-only mode in MLMD: readers only read
            config.mysql.host, config.mysql.port = self.host, self.port
            config.mysql.database, config.mysql.user = self.database, self.user
            config.mysql.password = self.password
            return config
        modes = metadata_store_pb2.SqliteMetadataSourceConfig
        config.sqlite.filename_uri = self.path
        config.sqlite.connection_mode = modes.READONLY if readonly else modes.READWRITE_OPENCREATE
        return config


def parse(name) -> StoreName:
    """A store name (path or mysql:// URL) as a StoreName; UsageError in one line when the URL
    has a scheme other than mysql, a bad port, or no user, host or database."""
    text = str(name)
    if "://" not in text:
        return StoreName(path=text)
    url = urllib.parse.urlsplit(text)
    if url.scheme != "mysql":
        raise UsageError(
            f"--metadata {url.scheme}://...: unknown scheme {url.scheme!r}; use a path (SQLite) "
            "or mysql://user[:password]@host:port/database"
        )
    shown = f"mysql://{url.username or ''}@{url.hostname or ''}"
    try:
        port = MYSQL_PORT if url.port is None else url.port
    except ValueError:
        port = -1
    if not 0 < port < 65536:  # urllib takes :0 (and 3306 is no default for it)
        port_text = url.netloc.rsplit(":", 1)[-1]
        raise UsageError(f"--metadata {shown}:{port_text}: the port must be 1-65535")
    database = url.path.lstrip("/")
    missing = [
        n
        for n, v in (("user", url.username), ("host", url.hostname), ("database", database))
        if not v
    ]
    if missing:
        raise UsageError(
            f"--metadata {shown}:{port}/{database}: no {', '.join(missing)}; write "
            "mysql://user[:password]@host:port/database"
        )
    query = urllib.parse.parse_qs(url.query)
    password = urllib.parse.unquote(url.password or "") or _password(query)
    user = urllib.parse.unquote(url.username)
    return StoreName(host=url.hostname, port=port, database=database, user=user, password=password)


def _password(query: dict) -> str:
    """The password from ?password_file=, BABYWEIGHT_METADATA_PASSWORD_FILE or
    BABYWEIGHT_METADATA_PASSWORD (in that order); "" when none."""
    path = (query.get("password_file") or [""])[0] or os.environ.get(PASSWORD_FILE_ENV, "")
    if path:
        try:
            with open(path, encoding="utf-8") as f:
                return f.read().strip()
        except OSError as e:
            raise UsageError(f"password file {path}: {e.strerror}") from None
    return os.environ.get(PASSWORD_ENV, "")


def connection_config(name, *, readonly: bool = False) -> metadata_store_pb2.ConnectionConfig:
    """MLMD's ConnectionConfig for a store name: the one place every command builds it."""
    return parse(name).connection_config(readonly=readonly)


def check_reachable(name: StoreName, timeout: float = 5.0) -> None:
    """UsageError naming host and port when nothing answers there (MLMD's own message says
    only "mysql_real_connect failed"), before anything is written."""
    try:
        socket.create_connection((name.host, name.port), timeout=timeout).close()
    except OSError as e:
        why = e.strerror or type(e).__name__
        raise UsageError(
            f"--metadata {name.display}: no MySQL server answers at {name.host}:{name.port} ({why})"
        ) from None


_PASSWORD_FIELD = re.compile(r'(password:\s*)"(?:[^"\\]|\\.)*"')
_URL_PASSWORD = re.compile(r"(mysql://[^:/@\s]+:)[^@\s]+@")


class MaskPasswords(logging.Filter):
    """Masks MySQL passwords in log records: TFX logs the whole ConnectionConfig (text proto)
    when a component starts, and the pipeline IR with it."""

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        masked = _URL_PASSWORD.sub(r"\1***@", _PASSWORD_FIELD.sub(r'\1"***"', text))
        if masked != text:
            record.msg, record.args = masked, ()
        return True


def mask_passwords_in_logs(logger: logging.Logger | None = None) -> None:
    """Every handler of `logger` (default: the root) masks passwords, and so does the `absl`
    logger (TFX's), whatever handlers are added later."""
    for where in [*(logger or logging.getLogger()).handlers, logging.getLogger("absl")]:
        if not any(isinstance(f, MaskPasswords) for f in where.filters):
            where.addFilter(MaskPasswords())
