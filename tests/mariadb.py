"""A real MariaDB server for the tests (Debian's mariadb-server, 10.11): its own process on a
temporary data directory, a free loopback port and a socket in the same directory, with `root`
and a password set when the data directory is made. Not a double: MLMD's MySQL client talks to
it as to a team's server.

Settings beyond the defaults: none for MLMD itself; `--skip-networking=0 --bind-address
127.0.0.1` (loopback only), `--innodb-buffer-pool-size=64M` and `--skip-log-bin` keep it small.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import time
from pathlib import Path

PASSWORD = "babyweight-test-pw"
SERVER_BINARIES = ("/usr/sbin/mariadbd", "/usr/sbin/mysqld")


def server_binary() -> str | None:
    for path in SERVER_BINARIES:
        if Path(path).is_file():
            return path
    return shutil.which("mariadbd") or shutil.which("mysqld")


def free_port() -> int:
    with contextlib.closing(socket.socket()) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class MariaDB:
    """One server process; `url(database)` names a database on it for --metadata."""

    def __init__(self, base: Path):
        self.base = Path(base)
        self.base.mkdir(parents=True, exist_ok=True)
        self.datadir = self.base / "data"
        self.socket = self.base / "mysqld.sock"
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    def url(self, database: str, *, password: str | None = PASSWORD) -> str:
        secret = f":{password}" if password else ""
        return f"mysql://root{secret}@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        init = (
            f"ALTER USER 'root'@'localhost' IDENTIFIED BY '{PASSWORD}';\n"
            f"CREATE USER 'root'@'127.0.0.1' IDENTIFIED BY '{PASSWORD}';\n"
            "GRANT ALL ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;\n"
        )
        (self.base / "init.sql").write_text(init)
        subprocess.run(
            [
                "mariadb-install-db",
                f"--datadir={self.datadir}",
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
                f"--user={_user()}",
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
        self.serve(init=self.base / "init.sql")

    def serve(self, init: Path | None = None) -> None:
        """Start the server on the data directory made by start(): again after stop(), on the
        same port and data (a server that went away and is back)."""
        self.process = subprocess.Popen(
            [
                server_binary(),
                "--no-defaults",
                f"--datadir={self.datadir}",
                f"--socket={self.socket}",
                f"--port={self.port}",
                "--bind-address=127.0.0.1",
                f"--pid-file={self.base / 'mysqld.pid'}",
                *([f"--init-file={init}"] if init else []),
                "--innodb-buffer-pool-size=64M",
                "--skip-log-bin",
                f"--user={_user()}",
                f"--log-error={self.base / 'error.log'}",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError((self.base / "error.log").read_text()[-2000:])
            with contextlib.closing(socket.socket()) as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.3)
        raise RuntimeError("MariaDB did not start in 60 s")

    def sql(self, statement: str) -> str:
        """Run one statement as root over the socket (the `mariadb` client)."""
        result = subprocess.run(
            [
                "mariadb",
                f"--socket={self.socket}",
                "-uroot",
                f"-p{PASSWORD}",
                "-N",
                "-e",
                statement,
            ],
            check=True,
            capture_output=True,
            text=True,
            timeout=60,
        )
        return result.stdout

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _user() -> str:
    import getpass

    return getpass.getuser()
