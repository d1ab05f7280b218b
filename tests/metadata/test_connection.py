"""Store names (babyweight/metadata/connection.py) and the faults of a MySQL store, against a
real MariaDB server started by the tests (tests/mariadb.py)."""

from __future__ import annotations

import subprocess
import sys

from babyweight.errors import UsageError
from babyweight.metadata import connection
from babyweight.metadata import store as mlmd

import pytest
from helpers import REPO
from mariadb import PASSWORD, free_port
from ml_metadata.proto import metadata_store_pb2 as pb


def test_a_path_is_sqlite_and_a_url_is_mysql_with_its_password_masked():
    assert connection.parse("out/metadata.sqlite").connection_config().sqlite.filename_uri == (
        "out/metadata.sqlite"
    )
    name = connection.parse("mysql://team:s3cret@db.example:3307/mlmd")
    config = name.connection_config()
    assert (config.mysql.host, config.mysql.port, config.mysql.database) == (
        "db.example",
        3307,
        "mlmd",
    )
    assert (config.mysql.user, config.mysql.password) == ("team", "s3cret")
    assert name.display == "mysql://team:***@db.example:3307/mlmd"
    assert "s3cret" not in repr(name)


def test_the_password_comes_from_a_file_or_the_environment(tmp_path, monkeypatch):
    secret = tmp_path / "pw"
    secret.write_text("from-file\n")
    url = f"mysql://team@db:3306/mlmd?password_file={secret}"
    assert connection.parse(url).password == "from-file"
    monkeypatch.setenv(connection.PASSWORD_FILE_ENV, str(secret))
    assert connection.parse("mysql://team@db/mlmd").password == "from-file"
    monkeypatch.delenv(connection.PASSWORD_FILE_ENV)
    monkeypatch.setenv(connection.PASSWORD_ENV, "from-env")
    assert connection.parse("mysql://team@db/mlmd").password == "from-env"


@pytest.mark.parametrize(
    "url, words",
    [
        ("postgres://u@h:5432/d", "unknown scheme 'postgres'"),
        ("mysql://u@h:99999/d", "the port must be 1-65535"),
        ("mysql://u@h:abc/d", "the port must be 1-65535"),
        ("mysql://u@h:0/d", "the port must be 1-65535"),
        ("mysql://u@h:3306/", "no database"),
    ],
)
def test_a_bad_url_is_one_line(url, words):
    with pytest.raises(UsageError) as e:
        connection.parse(url)
    assert words in str(e.value) and "\n" not in str(e.value)


@pytest.mark.parametrize("command", [["lineage", "runs"], ["report"]])
def test_a_bad_url_is_one_line_on_the_real_cli(command, tmp_path):
    bad = {"postgres://u@h:5432/d": "unknown scheme", "mysql://u@h:0/d": "port must be 1-65535"}
    for url, words in bad.items():
        result = subprocess.run(
            [sys.executable, "-m", "babyweight", *command, "--output", str(tmp_path / "out"),
             "--metadata", url],
            cwd=REPO, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
        assert words in result.stderr and result.stderr.startswith(f"babyweight {command[0]}: ")
    assert not (tmp_path / "out").exists()


def run_runner(tiny_data, output, url) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(REPO / "local_runner.py"), "--data", str(tiny_data),
         "--output", str(output), "--metadata", url],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def test_a_server_that_is_down_is_named_by_host_and_port_and_nothing_is_written(
    tmp_path, tiny_data
):
    port = free_port()
    output = tmp_path / "out"
    result = run_runner(tiny_data, output, f"mysql://root:{PASSWORD}@127.0.0.1:{port}/x")
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and f"127.0.0.1:{port}" in lines[0], lines
    assert PASSWORD not in result.stderr and "***" in lines[0]
    assert not output.exists()


def test_wrong_credentials_are_one_line_without_the_password(mariadb_server):
    url = mariadb_server.url("bw_creds", password="not-the-password")
    with pytest.raises(mlmd.StoreError) as e:
        mlmd.open_store(url)
    assert "refused" in str(e.value) and "not-the-password" not in str(e.value)


def test_a_missing_database_is_created_when_the_user_may(mariadb_server):
    mariadb_server.sql("DROP DATABASE IF EXISTS bw_new")
    store = mlmd.open_store(mariadb_server.url("bw_new"))
    store.put_artifact_type(pb.ArtifactType(name="X"))
    assert "bw_new" in mariadb_server.sql("SHOW DATABASES")


def test_a_missing_database_the_user_may_not_create_is_one_line(mariadb_server):
    mariadb_server.sql(
        "CREATE USER IF NOT EXISTS 'reader'@'127.0.0.1' IDENTIFIED BY 'r';"
        "DROP DATABASE IF EXISTS bw_forbidden"
    )
    url = f"mysql://reader:r@127.0.0.1:{mariadb_server.port}/bw_forbidden"
    with pytest.raises(mlmd.StoreError) as e:
        mlmd.open_store(url)
    assert "\n" not in str(e.value) and "bw_forbidden" in str(e.value)


OPEN_STORE = (
    "import sys; from babyweight.metadata import store; "
    "store.open_store(sys.argv[1]).get_artifact_types()"
)


def test_commands_started_at_once_on_a_new_database_all_open_it(mariadb_server):
    """MLMD creates a new database's tables on the first connection; one that comes meanwhile
    sees some of them (or no schema version) and fails unless retried (15 of 20 did here)."""
    for i in range(3):
        url = mariadb_server.url(f"bw_at_once_{i}")
        mariadb_server.sql(f"DROP DATABASE IF EXISTS bw_at_once_{i}")
        opening = [
            subprocess.Popen(
                [sys.executable, "-c", OPEN_STORE, url],
                cwd=REPO,
                stderr=subprocess.PIPE,
                text=True,
            )  # fmt: skip
            for _ in range(4)
        ]
        errors = [p.communicate(timeout=120)[1] for p in opening]
        assert [p.returncode for p in opening] == [0] * 4, errors


def test_a_store_of_a_newer_mlmd_schema_is_refused_by_name_and_left_alone(mariadb_server):
    mariadb_server.sql("DROP DATABASE IF EXISTS bw_newer")
    mlmd.open_store(mariadb_server.url("bw_newer")).get_artifact_types()
    mariadb_server.sql("UPDATE bw_newer.MLMDEnv SET schema_version = 100")
    with pytest.raises(mlmd.StoreError) as e:
        mlmd.open_store(mariadb_server.url("bw_newer"))
    assert "newer ML Metadata (schema version 100" in str(e.value)
    assert mariadb_server.sql("SELECT schema_version FROM bw_newer.MLMDEnv").strip() == "100"


def test_the_runner_refuses_wrong_credentials_in_one_line_before_writing(
    mariadb_server, tmp_path, tiny_data
):
    output = tmp_path / "out"
    result = run_runner(tiny_data, output, mariadb_server.url("bw_x", password="nope-pw"))
    assert result.returncode == 2, result.stderr
    lines = result.stderr.splitlines()  # MLMD's C++ log line too would make it two
    assert len(lines) == 1 and lines[0].startswith("local_runner: "), lines
    assert "refused" in lines[0] and "nope-pw" not in result.stderr
    assert not output.exists()


@pytest.mark.parametrize("fault", ["wrong password", "a database the user may not create"])
def test_a_command_refused_by_the_server_says_one_line_on_stderr(mariadb_server, tmp_path, fault):
    """The real CLI's stderr, whole: MLMD's C++ client logs its own `E... mysql_metadata_source`
    line unless babyweight quiets glog before MLMD loads (babyweight/__init__.py)."""
    mariadb_server.sql(
        "CREATE USER IF NOT EXISTS 'reader'@'127.0.0.1' IDENTIFIED BY 'r';"
        "DROP DATABASE IF EXISTS bw_forbidden"
    )
    if fault == "wrong password":
        url = mariadb_server.url("bw_creds", password="not-the-password")
    else:
        url = f"mysql://reader:r@127.0.0.1:{mariadb_server.port}/bw_forbidden"
    result = subprocess.run(
        [sys.executable, "-m", "babyweight", "lineage", "runs", "--output", str(tmp_path),
         "--metadata", url],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("babyweight lineage: mysql://") and "refused" in result.stderr
    if fault != "wrong password":
        assert "refused to create database 'bw_forbidden'" in result.stderr, result.stderr
    assert f":{mariadb_server.port}/" in result.stderr and "not-the-password" not in result.stderr


def test_log_lines_never_show_a_password(caplog):
    import logging

    connection.mask_passwords_in_logs(logging.getLogger())
    absl = logging.getLogger("absl")
    # The absl logger's own level too: a command run in-process earlier quiets it to errors.
    with caplog.at_level(logging.INFO), caplog.at_level(logging.INFO, logger="absl"):
        absl.info('Using connection config:\n mysql {\n  password: "s3cr\\"et"\n}')
        absl.info("store %s", "mysql://team:s3cret@db:3306/mlmd")
    assert "s3cr" not in caplog.text
    assert 'password: "***"' in caplog.text and "mysql://team:***@db" in caplog.text
