"""The reference deployment started on this machine, each part a process of its own on a free
port: a PostgreSQL primary and its streaming replica, PgBouncer, Redis, two `travelhub serve`
instances and HAProxy in front (`python -m deploy.local`; the failover test starts the same)."""

from __future__ import annotations

import argparse
import base64
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import string
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import httpx
import psycopg

DEPLOY = Path(__file__).resolve().parent
ROOT = DEPLOY.parent
DATABASE = "travelhub"
INSTANCES = ("app1", "app2")
"""The instances' names: haproxy.cfg's server lines and the values of its SERVERID cookie."""
INSTALL = {
    "haproxy": "apt-get install haproxy",
    "pgbouncer": "apt-get install pgbouncer",
    "redis-server": "apt-get install redis-server",
}
PG_HBA = """\
local all all trust
host all postgres 127.0.0.1/32 trust
host replication postgres 127.0.0.1/32 trust
host all travelhub_app 127.0.0.1/32 scram-sha-256
"""
"""The owner logs in from this machine only; the app's role with its password, via PgBouncer."""
LEFT_OVER = re.compile(r"^[^;#\n]*\$\{(\w+)\}", re.MULTILINE)


class MissingProgram(RuntimeError):
    """A program the deployment runs is not installed; the message says which and how."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def program(name: str) -> str:
    """Where `name` is installed (Debian puts daemons in /usr/sbin, often not on PATH)."""
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin")
    if found is None:
        raise MissingProgram(f"{name} is not installed: {INSTALL[name]}.")
    return found


def postgres_binaries() -> Path:
    """The newest PostgreSQL server programs installed here."""
    for folder in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if all((folder / name).exists() for name in ("initdb", "pg_ctl", "pg_basebackup")):
            return folder
    raise MissingProgram(
        "PostgreSQL's server programs are not installed: apt-get install postgresql."
    )


def installed() -> dict[str, str]:
    """Where each program the deployment runs is, else MissingProgram saying what to install."""
    postgres_binaries()
    return {name: program(name) for name in INSTALL}


def rendered(template: Path, values: Mapping[str, str]) -> str:
    """`template` with its ${NAME} values filled in, as `envsubst` would."""
    text = string.Template(template.read_text()).safe_substitute(values)
    if left := LEFT_OVER.findall(text):
        raise ValueError(f"{template.name}: no value for {', '.join(left)}")
    return text


class Runner:
    """Starts programs as this user, or as `postgres` when this is root: PostgreSQL and
    PgBouncer refuse to run as root."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.user: dict[str, Any] = {}
        if os.geteuid() == 0:
            try:
                account = pwd.getpwnam("postgres")
            except KeyError:
                raise MissingProgram(
                    "Running as root, but there is no `postgres` user to run PostgreSQL as."
                ) from None
            self.user = {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}
            shutil.chown(folder, account.pw_uid, account.pw_gid)

    def run(self, *command: str | Path) -> None:
        done = subprocess.run(
            [str(part) for part in command], capture_output=True, text=True, timeout=120,
            check=False, cwd=self.folder, **self.user,
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"{Path(command[0]).name} failed: {done.stderr.strip()}")

    def start(self, *command: str | Path, log: IO[bytes]) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [str(part) for part in command], stdout=log, stderr=subprocess.STDOUT,
            cwd=self.folder, **self.user,
        )  # fmt: skip


class Cluster:
    """A PostgreSQL server of the deployment's own: `initdb`, or `pg_basebackup -R` of a
    primary (then a hot standby that streams the primary's WAL)."""

    def __init__(self, runner: Runner, name: str, *, primary: Cluster | None = None) -> None:
        self._runner, self._bin = runner, postgres_binaries()
        self.data = runner.folder / name
        self.log = runner.folder / f"{name}.log"
        self.port = free_port()
        if primary is None:
            runner.run(self._bin / "initdb", "-D", self.data, "--auth=trust", "-U", "postgres")
            (self.data / "pg_hba.conf").write_text(PG_HBA)
        else:
            runner.run(
                self._bin / "pg_basebackup", "-h", "127.0.0.1", "-p", str(primary.port),
                "-U", "postgres", "-D", self.data, "-R", "-X", "stream", "--checkpoint=fast",
            )  # fmt: skip
        settings = {
            "port": str(self.port),
            "listen_addresses": "'127.0.0.1'",
            "unix_socket_directories": f"'{runner.folder}'",
        }
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.writelines(f"{key} = {value}\n" for key, value in settings.items())

    def url(self, database: str = DATABASE) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        self._runner.run(self._bin / "pg_ctl", "-D", self.data, "-l", self.log, "-w", "start")

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._runner.run(self._bin / "pg_ctl", "-D", self.data, "-m", "fast", "-w", "stop")


class Deployment:
    """Everything, started in order and waited for; `stop` (or leaving the `with`) ends it."""

    def __init__(
        self,
        folder: Path | None = None,
        *,
        port: int | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self._made_folder = folder is None
        self.folder = (
            Path(tempfile.mkdtemp(prefix="travelhub-deploy-")) if folder is None else folder
        )
        self.folder.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._environ = dict(os.environ if environ is None else environ)
        self._processes: dict[str, subprocess.Popen[bytes]] = {}
        self._logs: list[IO[bytes]] = []
        self._clusters: list[Cluster] = []
        self.instance_ports = {name: free_port() for name in INSTANCES}
        self.settings: dict[str, str] = {}
        self._since = time.monotonic()
        self.took: dict[str, float] = {}
        """Seconds each step of `start` took, by step."""

    def __enter__(self) -> Deployment:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        binaries = installed()
        runner = Runner(self.folder)
        self._step("start")
        primary = Cluster(runner, "primary")
        self._clusters.append(primary)
        primary.start()
        with psycopg.connect(primary.url("postgres"), autocommit=True) as admin:
            admin.execute(f"CREATE DATABASE {DATABASE}")
        self._step("primary")
        replica = Cluster(runner, "replica", primary=primary)
        self._clusters.insert(0, replica)  # stopped first
        replica.start()
        self._step("replica")

        redis_port, bouncer_port, password = free_port(), free_port(), secrets.token_urlsafe(24)
        self._start("redis", runner, binaries["redis-server"], "--port", str(redis_port),
                    "--bind", "127.0.0.1", "--save", "", "--appendonly", "no")  # fmt: skip
        self.settings = {
            "TRAVELHUB_ENV": "production",
            "DATABASE_URL": primary.url(),
            "APP_DATABASE_URL": (
                f"postgresql://travelhub_app:{password}@127.0.0.1:{bouncer_port}/{DATABASE}"
            ),
            "TRAVELHUB_APP_DB_PASSWORD": password,
            "ANALYTICS_DATABASE_URL": replica.url(),
            "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
            "CHAINLIT_AUTH_SECRET": secrets.token_urlsafe(48),
            "TRAVELHUB_TOKEN_KEYS": base64.urlsafe_b64encode(os.urandom(32)).decode(),
            "TRAVELHUB_TRUSTED_PROXIES": "127.0.0.1",
        }
        env_file = self.folder / "travelhub.env"
        env_file.write_text("".join(f"{key}={value}\n" for key, value in self.settings.items()))
        env_file.chmod(0o600)
        self._travelhub("db", "upgrade")
        self._step("migrations")

        (self.folder / "userlist.txt").write_text(f'"travelhub_app" "{password}"\n')
        values = {"DATABASE": DATABASE, "PRIMARY_HOST": "127.0.0.1",
                  "PRIMARY_PORT": str(primary.port), "BOUNCER_ADDR": "127.0.0.1",
                  "BOUNCER_PORT": str(bouncer_port), "BOUNCER_RUN": str(self.folder)}  # fmt: skip
        bouncer_ini = self.folder / "pgbouncer.ini"
        bouncer_ini.write_text(rendered(DEPLOY / "pgbouncer.ini", values))
        if runner.user:
            for path in (self.folder / "userlist.txt", bouncer_ini):
                shutil.chown(path, runner.user["user"], runner.user["group"])
        self._start("pgbouncer", runner, binaries["pgbouncer"], bouncer_ini)

        for name, instance_port in self.instance_ports.items():
            self._start(name, None, sys.executable, "-m", "cli", "serve", env={
                **self._environ, **self.settings, "TRAVELHUB_HOST": "127.0.0.1",
                "TRAVELHUB_PORT": str(instance_port),
                "TRAVELHUB_DATA_DIR": str(self.folder / name),
            })  # fmt: skip
        for name, instance_port in self.instance_ports.items():
            self._wait_healthy(name, f"http://127.0.0.1:{instance_port}")
        self._step("instances")

        lb_env = {"TRAVELHUB_LB_BIND": f"127.0.0.1:{self.port}",
                  "TRAVELHUB_LB_RUN": str(self.folder),
                  **{f"TRAVELHUB_{name.upper()}": f"127.0.0.1:{instance_port}"
                     for name, instance_port in self.instance_ports.items()}}  # fmt: skip
        self._start("haproxy", None, binaries["haproxy"], "-db", "-f", DEPLOY / "haproxy.cfg",
                    env={**self._environ, **lb_env})  # fmt: skip
        self._wait_healthy("haproxy", self.url)
        self._step("balancer")

    def log(self, name: str) -> str:
        """What process `name` (an instance, `haproxy`, `pgbouncer`, `redis`) wrote so far."""
        return (self.folder / f"{name}.out").read_text(errors="replace")

    def kill(self, name: str) -> None:
        """SIGKILL to process `name`, as a crashed machine would end it: nothing is finished."""
        process = self._processes[name]
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)

    def stop(self) -> None:
        """Every process ended (SIGTERM, then SIGKILL after 20 s), the balancer first."""
        for name in reversed(list(self._processes)):
            process = self._processes.pop(name)
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        for cluster in self._clusters:
            try:
                cluster.stop()
            except RuntimeError as error:
                print(f"deploy: {error}", file=sys.stderr)
        self._clusters.clear()
        for log in self._logs:
            log.close()
        self._logs.clear()
        if self._made_folder:
            shutil.rmtree(self.folder, ignore_errors=True)

    def _start(
        self,
        name: str,
        runner: Runner | None,
        *command: str | Path,
        env: Mapping[str, str] | None = None,
    ) -> None:
        log = (self.folder / f"{name}.out").open("wb")
        self._logs.append(log)
        if runner is not None:
            self._processes[name] = runner.start(*command, log=log)
        else:
            self._processes[name] = subprocess.Popen(
                [str(part) for part in command], stdout=log, stderr=subprocess.STDOUT,
                env=dict(env) if env is not None else None, cwd=ROOT,
            )  # fmt: skip

    def _step(self, name: str) -> None:
        now = time.monotonic()
        self.took[name] = now - self._since if self.took else 0.0
        self._since = now

    def _travelhub(self, *arguments: str) -> None:
        done = subprocess.run(
            [sys.executable, "-m", "cli", *arguments], env={**self._environ, **self.settings},
            cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"travelhub {' '.join(arguments)} failed: {done.stderr.strip()}")

    def _wait_healthy(self, name: str, url: str, within: float = 90.0) -> None:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if self._processes[name].poll() is not None:
                break
            try:
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"{name} did not become healthy:\n{self.log(name)[-3000:]}")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m deploy.local", description=__doc__)
    parser.add_argument("--port", type=int, default=8080, help="the balancer's port (8080)")
    parser.add_argument(
        "--dir",
        type=Path,
        help="keep data and logs here (default: a temporary folder, removed at exit)",
    )
    options = parser.parse_args()
    stopping = False

    def stop_on(_signal: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop_on)
    signal.signal(signal.SIGINT, stop_on)
    deployment = Deployment(options.dir, port=options.port)
    try:
        print("Starting: primary, replica, Redis, PgBouncer, two instances, HAProxy ...")
        deployment.start()
        print(f"Open {deployment.url} and create an account (the balancer; Ctrl-C stops all).")
        print(f"Logs and settings are in {deployment.folder} (travelhub.env: the instances').")
        while not stopping:
            time.sleep(0.5)
    except (MissingProgram, RuntimeError) as error:
        print(f"deploy: {error}", file=sys.stderr)
        sys.exit(1)
    finally:
        deployment.stop()


if __name__ == "__main__":
    main()
