"""Run a mosquitto broker for the corridor: loopback, free port, passwords and an ACL.

No anonymous access. Each truck's account may publish only its own ``state``, ``connection``,
``visualization`` and ``factsheet`` and read only its own ``order`` and ``instantActions``
(user name = VDA 5050 serial number); the controller's account reads and writes all of ``uagv/``.
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from corridor_core.errors import CorridorError

CONTROLLER_USER = "corridor-controller"


class BrokerError(CorridorError):
    """The broker could not be configured or started."""


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free on ``host`` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def wait_for_port(host: str, port: int, timeout_s: float) -> bool:
    """True once a TCP connect to host:port succeeds within ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.2):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def _broker_user() -> pwd.struct_passwd | None:
    try:
        return pwd.getpwnam("mosquitto")
    except KeyError:
        return None


def _binary(name: str) -> str:
    found = shutil.which(name) or next(
        (p for p in (f"/usr/sbin/{name}", f"/usr/bin/{name}") if os.access(p, os.X_OK)), None
    )
    if not found:
        raise BrokerError(f"{name} is not installed (run `make test` or `make run` to set up)")
    return found


def acl_text(manufacturer: str, truck_serials: list[str]) -> str:
    """The mosquitto ACL for the controller and the given trucks."""
    lines = [f"user {CONTROLLER_USER}", "topic readwrite uagv/#", ""]
    for serial in sorted(truck_serials):
        base = f"uagv/v2/{manufacturer}/{serial}"
        lines.append(f"user {serial}")
        lines += [
            f"topic write {base}/{t}" for t in ("state", "connection", "visualization", "factsheet")
        ]
        lines += [f"topic read {base}/{t}" for t in ("order", "instantActions")]
        lines.append("")
    return "\n".join(lines)


@dataclass
class Mosquitto:
    """A mosquitto process configured in ``run_dir``.

    Attributes:
        run_dir: folder for the config, password, ACL, persistence and log files.
        manufacturer: VDA 5050 manufacturer of the fleet.
        truck_serials: one account per truck.
        port: TCP port on 127.0.0.1; 0 picks a free one at start.
    """

    run_dir: Path
    manufacturer: str
    truck_serials: list[str]
    port: int = 0
    passwords: dict[str, str] = field(default_factory=dict)
    _proc: subprocess.Popen[bytes] | None = None
    _broker_dir: Path | None = None

    @property
    def broker_dir(self) -> Path:
        """Where the broker's files live.

        ``run_dir`` normally; when we are root, mosquitto drops to user ``mosquitto``, which may
        not be able to traverse ``run_dir``'s parents, so its files go to a private folder under
        the system temp dir instead (see :attr:`run_dir`/broker-dir.txt).
        """
        if self._broker_dir is None:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            if os.geteuid() == 0 and _broker_user() is not None:
                self._broker_dir = Path(tempfile.mkdtemp(prefix="corridor-mosquitto-"))
                (self.run_dir / "broker-dir.txt").write_text(f"{self._broker_dir}\n")
            else:
                self._broker_dir = self.run_dir
        return self._broker_dir

    def write_config(self) -> Path:
        """Write config, password file and ACL; returns the config path."""
        home = self.broker_dir
        if not self.port:
            self.port = free_port()
        users = [CONTROLLER_USER, *self.truck_serials]
        self.passwords = {u: self.passwords.get(u) or secrets.token_urlsafe(16) for u in users}
        passwd = home / "mosquitto.passwd"
        passwd.write_text("")
        tool = _binary("mosquitto_passwd")
        for user, password in self.passwords.items():
            subprocess.run(
                [tool, "-b", str(passwd), user, password], check=True, capture_output=True
            )
        acl = home / "mosquitto.acl"
        acl.write_text(acl_text(self.manufacturer, self.truck_serials))
        data = home / "mosquitto-data"
        data.mkdir(exist_ok=True)
        conf = home / "mosquitto.conf"
        conf.write_text(
            "\n".join(
                [
                    f"listener {self.port} 127.0.0.1",
                    "allow_anonymous false",
                    f"password_file {passwd}",
                    f"acl_file {acl}",
                    "persistence true",
                    f"persistence_location {data}/",
                    "log_dest stderr",
                    "log_type error",
                    "log_type warning",
                    "log_type notice",
                    "",
                ]
            )
        )
        self._give_to_broker_user([passwd, acl, data, conf, home])
        return conf

    @staticmethod
    def _give_to_broker_user(paths: list[Path]) -> None:
        # Started as root, mosquitto drops to user "mosquitto"; it must read and write its files.
        entry = _broker_user()
        if os.geteuid() != 0 or entry is None:
            return
        for path in paths:
            os.chown(path, entry.pw_uid, entry.pw_gid)
            path.chmod(0o700 if path.is_dir() else 0o600)

    def start(self, timeout_s: float = 10.0) -> int:
        """Start the broker and wait until it accepts connections. Returns the port."""
        conf = self.write_config()
        log = (self.run_dir / "mosquitto.log").open("ab")
        self._proc = subprocess.Popen(
            [_binary("mosquitto"), "-c", str(conf)], stdout=log, stderr=log
        )
        if not wait_for_port("127.0.0.1", self.port, timeout_s):
            self.stop()
            raise BrokerError(
                f"mosquitto did not listen on 127.0.0.1:{self.port}; "
                f"see {self.run_dir / 'mosquitto.log'}"
            )
        return self.port

    def restart(self, timeout_s: float = 10.0) -> None:
        """Stop and start the broker on the same port with the same accounts."""
        self.stop()
        self.start(timeout_s)

    def stop(self) -> None:
        """Terminate the broker (SIGTERM, then SIGKILL after 5 s)."""
        if self._proc is None:
            return
        self._proc.terminate()
        try:
            self._proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        self._proc = None

    def cleanup(self) -> None:
        """Stop the broker and remove a private broker folder, if one was made."""
        self.stop()
        if self._broker_dir is not None and self._broker_dir != self.run_dir:
            shutil.rmtree(self._broker_dir, ignore_errors=True)
            self._broker_dir = None

    @property
    def running(self) -> bool:
        """True while the broker process lives."""
        return self._proc is not None and self._proc.poll() is None
