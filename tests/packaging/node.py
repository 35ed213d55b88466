"""A Gatehouse process started the way a container would start it: the image's environment
under the orchestrator's, paths inside the container mapped to directories here, the program
found on the image's PATH, as the image's user when this runs as root."""

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Node:
    def __init__(self, image_env, env, argv, bin_dir, paths, cwd, user, port):
        self.port = free_port()
        merged = {**image_env, **env}
        for inside, here in paths.items():
            merged = {k: v.replace(inside, str(here)) for k, v in merged.items()}
        bind = merged["GATEHOUSE_BIND"]
        assert bind.endswith(f":{port}"), f"GATEHOUSE_BIND {bind} is not on the exposed port {port}"
        merged["GATEHOUSE_BIND"] = bind[: -len(str(port))] + str(self.port)
        self.env = {"PATH": f"{bin_dir}:/usr/bin:/bin", **merged}
        self.argv, self.cwd, self.user = argv, cwd, user
        self.log_path = Path(cwd) / "node.log" if user is None else Path(bin_dir) / "node.log"
        self.process = None

    def _command(self, argv):
        if self.user is None:
            return argv
        uid, gid = self.user
        return ["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups", "--", *argv]

    def __enter__(self):
        self.log = open(self.log_path, "w")
        program = [str(Path(self.env["PATH"].split(":")[0]) / self.argv[0]), *self.argv[1:]]
        self.process = subprocess.Popen(self._command(program), env=self.env, cwd=self.cwd,
                                        stdout=self.log, stderr=subprocess.STDOUT)
        return self

    def __exit__(self, *exc):
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.log.close()
        if exc[0] is not None:
            print(f"-- the node's log:\n{self.logs()[-4000:]}")

    def logs(self):
        return self.log_path.read_text(errors="replace")

    def request(self, method, path, body=None, headers=None):
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", data=data, method=method,
                                         headers={"content-type": "application/json", **(headers or {})})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                raw = response.read()
                return response.status, json.loads(raw) if raw else None
        except urllib.error.HTTPError as err:
            raw = err.read()
            return err.code, json.loads(raw) if raw else None

    def wait_ready(self, path, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"the node exited ({self.process.returncode}):\n{self.logs()}"
            with contextlib.suppress(OSError):
                if self.request("GET", path)[0] == 200:
                    return
            time.sleep(0.1)
        raise AssertionError(f"{path} not 200 within {timeout}s:\n{self.logs()}")

    def exec(self, argv, timeout=10):
        """A command run inside the running container (`docker exec`, `kubectl exec`)."""
        program = [str(Path(self.env["PATH"].split(":")[0]) / argv[0]), *argv[1:]]
        return subprocess.run(self._command(program), env=self.env, cwd=self.cwd, capture_output=True,
                              text=True, timeout=timeout)

    def expect_json_logs(self):
        lines = [line for line in self.logs().splitlines() if line.strip()]
        assert lines, "the node wrote no log"
        for line in lines:
            entry = json.loads(line)
            assert "level" in entry and "fields" in entry, line

    def stop(self, signal_name, within):
        """Sends the stop signal: /ready turns 503 at once, and the node exits 0 in time."""
        self.process.send_signal(getattr(signal, signal_name))
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and self.process.poll() is None:
            with contextlib.suppress(OSError):
                status, body = self.request("GET", "/ready")
                if status == 503:
                    assert body["code"] == "draining", body
                    break
            time.sleep(0.05)
        code = self.process.wait(timeout=within)
        assert code == 0, f"the node exited {code} after {signal_name}:\n{self.logs()}"


def postgres_database():
    """A factory of fresh PostgreSQL databases (a context manager giving each one's URL), or None
    when the server is not reachable."""
    admin = os.environ.get("GATEHOUSE_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    probe = subprocess.run(["psql", admin, "-tAc", "select 1"], capture_output=True, text=True)
    if probe.returncode != 0:
        return None

    @contextlib.contextmanager
    def database():
        name = f"gh_packaging_{os.getpid()}_{time.monotonic_ns()}"
        subprocess.run(["psql", admin, "-qc", f'CREATE DATABASE "{name}"'], check=True)
        try:
            yield urllib.parse.urlunsplit(urllib.parse.urlsplit(admin)._replace(path=f"/{name}"))
        finally:
            subprocess.run(["psql", admin, "-qc", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'],
                           check=True)

    return database
