"""`make demo`: a real web server on a unix socket, reached two ways."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PORT = 8080
UNSOCK = [sys.executable, "-m", "unsock"]


def say(text: str) -> None:
    print(f"\033[1m==> {text}\033[0m" if sys.stdout.isatty() else f"==> {text}", flush=True)


def show(cmd: list[str], env: dict[str, str] | None = None) -> str:
    print("$ " + " ".join(cmd), flush=True)
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=30, check=True).stdout
    print(out.rstrip())
    return out


def tcp_port_open(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="unsock-demo-"))
    sockdir, site = work / "sockets", work / "site"
    site.mkdir()
    (site / "index.html").write_text("<h1>Hello from a TCP-only server, over a unix socket</h1>\n")
    sock = sockdir / f"{PORT}.sock"
    server = None
    try:
        say(f"starting python3 -m http.server on 127.0.0.1:{PORT} under unsock")
        server_cmd = [*UNSOCK, "run", "--dir", str(sockdir), "--addr", "127.0.0.1/8", "--mode", "660", "--",
                      sys.executable, "-m", "http.server", "--bind", "127.0.0.1", str(PORT), "--directory", str(site)]
        print("$ unsock run --dir", sockdir, "--addr 127.0.0.1/8 --mode 660 -- python3 -m http.server --bind",
              f"127.0.0.1 {PORT}", flush=True)
        server = subprocess.Popen(server_cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 15
        while not sock.exists():
            if server.poll() is not None or time.monotonic() > deadline:
                print("unsock: demo: the server did not start", file=sys.stderr)
                return 1
            time.sleep(0.05)

        st = sock.lstat()
        say(f"the server's socket: {sock}")
        print(f"   a {'unix socket' if stat.S_ISSOCK(st.st_mode) else 'FILE?'} with mode {stat.filemode(st.st_mode)}"
              f" ({stat.S_IMODE(st.st_mode):04o}), and TCP port {PORT} is "
              f"{'OPEN (unexpected)' if tcp_port_open(PORT) else 'not open'}")

        curl = shutil.which("curl")
        if curl:
            say("a native unix-socket client: curl --unix-socket")
            show([curl, "-s", "--unix-socket", str(sock), "http://localhost/"])
            say("an unmodified TCP client under unsock: curl http://127.0.0.1:8080/")
            show([*UNSOCK, "run", "--dir", str(sockdir), "--addr", "127.0.0.1/8", "--", curl, "-s",
                  f"http://127.0.0.1:{PORT}/"])
            say("the same with a rule instead of a directory, and the decision log (-v)")
            rule = f"out,tcp,port={PORT},path={sock}"
            cmd = [*UNSOCK, "run", "-v", "-r", rule, "--", curl, "-s", "-o", "/dev/null", f"http://127.0.0.1:{PORT}/"]
            print(f"$ unsock run -v -r {rule} -- curl -s -o /dev/null http://127.0.0.1:{PORT}/", flush=True)
            log = subprocess.run(cmd, capture_output=True, text=True, timeout=30, check=True).stderr
            print("\n".join(line for line in log.splitlines() if " fd " in line or "rule 1:" in line))
        else:
            say("curl is not installed; using Python's urllib as the TCP client under unsock")
            show([*UNSOCK, "run", "--dir", str(sockdir), "--addr", "127.0.0.1/8", "--", sys.executable, "-c",
                  f"import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:{PORT}/').read().decode())"])

        server.send_signal(signal.SIGINT)  # Ctrl-C: the server exits normally
        server.wait(10)
        server = None
        say("what happened")
        print(f"   the server believed it listened on TCP 127.0.0.1:{PORT}; unsock put it on {sock} (mode 0660)")
        print("   both clients reached it through the file system; no TCP port was opened, no proxy ran")
        left = "still there (unexpected)" if sock.exists() else "gone"
        print(f"   after the server stopped, its socket file is {left}")
        return 0
    finally:
        if server is not None:
            server.kill()
            server.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    os.environ.pop("LD_PRELOAD", None)
    sys.exit(main())
