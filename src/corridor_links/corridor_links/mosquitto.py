"""Run a mosquitto broker for the corridor: loopback, free port, passwords and an ACL.

No anonymous access. Each truck's account may publish only its own ``state``, ``connection``,
``visualization`` and ``factsheet`` and read only its own ``order`` and ``instantActions``
(user name = VDA 5050 serial number); the controller's account reads and writes all of ``uagv/``.

Persistent MQTT sessions and their queued QoS 1 messages survive a broker restart: persistence is
on and the in-memory database is saved every ``autosave_interval_s`` and on shutdown (SIGTERM).
With ``tls=True`` the listener speaks only TLS (>= 1.2) with certificates from a private CA
(:mod:`corridor_links.tls`); passwords and the ACL still apply. See docs/broker.md.
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from corridor_core.errors import CorridorError
from corridor_links.tls import CertPair, TlsFiles, make_tls_files

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
        run_dir: folder for the config, password, ACL, persistence and log files, and (with
            ``tls``) the certificates under ``run_dir/tls``.
        manufacturer: VDA 5050 manufacturer of the fleet.
        truck_serials: one account per truck.
        port: TCP port on 127.0.0.1; 0 picks a free one at start. Kept across restarts.
        passwords: user -> password; missing ones are generated at start, then kept.
        tls: listen with TLS only (no plain MQTT on ``port``); clients trust :attr:`ca_path`.
        require_client_certs: with ``tls``, also require a client certificate signed by the CA
            (one is made per account, see :meth:`client_cert`); passwords are still required.
        autosave_interval_s: seconds between saves of the persistence database, so that a
            crash (SIGKILL) loses about that much at most; 0 saves only at shutdown. A SIGTERM
            always saves.
        max_queued_messages: QoS 1/2 messages queued per offline persistent session; once
            full, mosquitto drops further messages for that session (and logs it).
    """

    run_dir: Path
    manufacturer: str
    truck_serials: list[str]
    port: int = 0
    passwords: dict[str, str] = field(default_factory=dict)
    tls: bool = False
    require_client_certs: bool = False
    autosave_interval_s: int = 1
    max_queued_messages: int = 1000
    _proc: subprocess.Popen[bytes] | None = None
    _broker_dir: Path | None = None
    _tls_files: TlsFiles | None = field(default=None, init=False, repr=False)

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

    @property
    def ca_path(self) -> Path | None:
        """The CA certificate clients must trust; None unless ``tls`` (made at first start)."""
        return self._tls_files.ca_cert if self._tls_files is not None else None

    def client_cert(self, user: str) -> CertPair:
        """The client certificate and key of ``user`` (needs ``require_client_certs``, started).

        Raises:
            BrokerError: no such certificate.
        """
        if self._tls_files is None or user not in self._tls_files.clients:
            raise BrokerError(
                f"no client certificate for {user!r}: start the broker with tls=True and "
                "require_client_certs=True first"
            )
        return self._tls_files.clients[user]

    def _tls_config(self, home: Path) -> tuple[list[str], list[Path]]:
        """Config lines of the TLS listener and the broker-side files to hand over."""
        if not self.tls:
            return [], []
        if self._tls_files is None:
            # Made once and kept, so that a restart keeps the certificates clients trust.
            users = [CONTROLLER_USER, *self.truck_serials] if self.require_client_certs else []
            self._tls_files = make_tls_files(self.run_dir / "tls", users)
        files = self._tls_files
        wanted = [files.ca_cert, files.server.cert, files.server.key]
        handed: list[Path] = []
        if home != self.run_dir:
            # The broker's user cannot read run_dir: give it its own copies (no CA key).
            folder = home / "tls"
            folder.mkdir(exist_ok=True)
            copies = [folder / p.name for p in wanted]
            for src, dst in zip(wanted, copies, strict=True):
                shutil.copyfile(src, dst)
            wanted, handed = copies, [*copies, folder]
        ca, cert, key = wanted
        lines = [
            f"cafile {ca}",
            f"certfile {cert}",
            f"keyfile {key}",
            "tls_version tlsv1.2",  # the minimum; TLS 1.3 is accepted too
            f"require_certificate {'true' if self.require_client_certs else 'false'}",
            "use_identity_as_username false",  # the password stays the identity
        ]
        return lines, handed

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
        tls_lines, tls_paths = self._tls_config(home)
        conf = home / "mosquitto.conf"
        conf.write_text(
            "\n".join(
                [
                    f"listener {self.port} 127.0.0.1",
                    *tls_lines,
                    "allow_anonymous false",
                    f"password_file {passwd}",
                    f"acl_file {acl}",
                    "persistence true",
                    f"persistence_location {data}/",
                    f"autosave_interval {self.autosave_interval_s}",
                    # Sessions: queue QoS 1/2 for offline persistent clients, not QoS 0
                    # (state is QoS 0 and stale by the time a client returns).
                    f"max_queued_messages {self.max_queued_messages}",
                    "queue_qos0_messages false",
                    "max_inflight_messages 20",
                    "log_dest stderr",
                    "log_type error",
                    "log_type warning",
                    "log_type notice",
                    "",
                ]
            )
        )
        self._give_to_broker_user([passwd, acl, data, *tls_paths, conf, home])
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
        """Start the broker and wait until it accepts connections. Returns the port.

        With ``tls``, "accepts" means a TLS handshake against :attr:`ca_path` succeeds.

        Raises:
            BrokerError: already running, or not listening within ``timeout_s`` (the broker
                exited or the port is taken; ``run_dir/mosquitto.log`` says why).
        """
        if self.running:
            raise BrokerError(f"mosquitto is already running on 127.0.0.1:{self.port}")
        conf = self.write_config()
        with (self.run_dir / "mosquitto.log").open("ab") as log:
            self._proc = subprocess.Popen(
                [_binary("mosquitto"), "-c", str(conf)], stdout=log, stderr=log
            )
        deadline = time.monotonic() + timeout_s
        while not self._accepts():
            if self._proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise BrokerError(
                    f"mosquitto did not listen on 127.0.0.1:{self.port}; "
                    f"see {self.run_dir / 'mosquitto.log'}"
                )
        return self.port

    def _accepts(self) -> bool:
        """One probe: TCP connect, and with ``tls`` a full handshake against :attr:`ca_path`.

        The handshake also proves the broker loaded its certificate (and keeps the log free of
        "unexpected eof" errors that a bare TCP probe of a TLS port causes).
        """
        if self.ca_path is None:
            return wait_for_port("127.0.0.1", self.port, 0.2)
        context = ssl.create_default_context(cafile=str(self.ca_path))
        if self.require_client_certs:
            pair = self.client_cert(CONTROLLER_USER)
            context.load_cert_chain(str(pair.cert), str(pair.key))
        try:
            with (
                socket.create_connection(("127.0.0.1", self.port), timeout=1.0) as raw,
                context.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
            ):
                tls.unwrap()  # close_notify: a clean TLS close
                return True
        except OSError:  # ssl.SSLError is an OSError
            time.sleep(0.05)
            return False

    def restart(self, timeout_s: float = 10.0) -> None:
        """Stop (SIGTERM, which saves the database) and start again.

        Keeps the port, the passwords, the TLS certificates and the persistence database, so
        persistent sessions, their queued QoS 1 messages and retained messages survive.
        """
        self.stop()
        self.start(timeout_s)

    def kill(self) -> None:
        """SIGKILL the broker, as a crash would: changes since the last autosave are lost."""
        if self._proc is None:
            return
        self._proc.kill()
        self._proc.wait()
        self._proc = None

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
