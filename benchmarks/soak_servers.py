"""The soak's servers, started under unsock and kept for the whole run: nginx (the benchmark's
configuration, plus stub_status and no access log) and redis-server; what each counts of its
connections, and the errors it logged. Their counters are read over the socket file itself."""

from __future__ import annotations

import re
import shutil
import socket
from pathlib import Path

from .contenders import PRELOAD, Setting, Tcp, Unix
from .procs import Background, RunFailed
from .workloads import QUICK, NginxConnPerRequest, RunCtx

STATUS = "/nginx_status"
NGINX_ERRORS = re.compile(r"\[(error|crit|alert|emerg)\]")


def unix_request(path: Path, data: bytes, timeout: float = 10) -> bytes:
    """Send data on a fresh connection to the unix socket at path; everything it answers."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(str(path))
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        out = b""
        while chunk := s.recv(65536):
            out += chunk
    return out


def program(name: str) -> str:
    found = shutil.which(name) or next((p for p in (f"/usr/sbin/{name}", f"/sbin/{name}") if Path(p).exists()), None)
    if found is None:
        raise RunFailed(f"{name} is not installed (.ci/run installs it)")
    return found


class Server:
    name: str
    bg: Background
    path: Path  # where it really listens: SOCKDIR/PORT.sock

    def __init__(self, port: int, setting: Setting) -> None:
        self.port = port
        self.path = setting.sock_path(port)

    def start(self, argv: list[str], setting: Setting, scratch: Path) -> None:
        cmd, env = PRELOAD.command(argv, setting)
        self.bg = Background(self.name, cmd, env, scratch)
        self.bg.wait_listening(Unix(self.path))

    def counters(self) -> dict[str, int]:
        """Connections accepted and errors, as the server counts them."""
        raise NotImplementedError

    def stop(self) -> None:
        self.bg.stop()


class Nginx(Server):
    name = "nginx"

    def __init__(self, port: int, setting: Setting, scratch: Path) -> None:
        super().__init__(port, setting)
        self.scratch = scratch / "nginx"
        self.scratch.mkdir()
        argv = NginxConnPerRequest(QUICK).server(Tcp(port), RunCtx(scratch, self.scratch, QUICK))
        conf = self.scratch / "nginx.conf"
        text = conf.read_text()
        text, n = re.subn(r"(?m)^(\s*)access_log\s+.*;$", r"\g<1>access_log off;", text)
        status = f"\t\tlocation = {STATUS} {{\n\t\t\tstub_status;\n\t\t}}\n"
        text, m = re.subn(r"(?m)^(\t\tlocation / \{\n\t\t\}\n)", lambda mo: mo.group(1) + status, text)
        if n != 1 or m != 1:
            raise RunFailed("unexpected nginx configuration: cannot add stub_status")
        conf.write_text(text)
        self.start(argv, setting, self.scratch)

    def counters(self) -> dict[str, int]:
        reply = unix_request(self.path, f"GET {STATUS} HTTP/1.0\r\nHost: localhost\r\n\r\n".encode()).decode()
        m = re.search(r"accepts handled requests\s+(\d+) (\d+) (\d+)", reply)
        if not m:
            raise RunFailed(f"nginx: unexpected stub_status answer: {reply[-200:]!r}")
        accepts, handled, requests = map(int, m.groups())
        log = (self.scratch / "error.log").read_text(errors="replace") if (self.scratch / "error.log").exists() else ""
        return {"connections": accepts, "requests": requests, "dropped": accepts - handled,
                "logged errors": len(NGINX_ERRORS.findall(log))}


class Redis(Server):
    name = "redis"

    def __init__(self, port: int, setting: Setting, scratch: Path) -> None:
        super().__init__(port, setting)
        self.scratch = scratch / "redis"
        self.scratch.mkdir()
        argv = [program("redis-server"), "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly",
                "no", "--dir", str(self.scratch), "--daemonize", "no", "--logfile", ""]
        self.start(argv, setting, self.scratch)

    def counters(self) -> dict[str, int]:
        reply = unix_request(self.path, b"INFO stats\r\nQUIT\r\n").decode(errors="replace")
        info = dict(re.findall(r"(?m)^(\w+):(\d+)\r?$", reply))
        try:
            return {"connections": int(info["total_connections_received"]),
                    "requests": int(info["total_commands_processed"]),
                    "dropped": int(info["rejected_connections"]),
                    "logged errors": int(info.get("total_error_replies", 0))}
        except KeyError as e:
            raise RunFailed(f"redis: no {e} in INFO stats: {reply[-200:]!r}") from e
