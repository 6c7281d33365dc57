"""The relay supervisor of one published stream (多端推流): pushes it to the session's destinations.

nginx-rtmp starts it for every stream published to ``live`` (``exec_push``) and stops it (SIGTERM) when the
publish ends, so pushes never outlive their source. It runs as nginx's worker user with the standard library
only: what to push comes from the app (``GET relays/``), statuses go back to it (``POST relay-status/``),
both with the callback secret, so it needs neither Django nor database access.

Each destination gets its own ``ffmpeg -c copy`` relay (no re-encoding: ~1 % of a core each) with
``-rw_timeout`` on both ends, so a relay whose source or destination stalls exits instead of hanging. A relay
that exits is reported (``retrying`` with ffmpeg's last error, ``failed`` after several in a row) and started
again with a growing pause; the others and the member room are not touched. Pushes run only while the
session is live; a destination turned off, or the session ended, stops its relay within a couple of seconds.

    python media/relay.py --config <MEDIA_SERVER_DIR>/relay.json --name <stream name>
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import ctypes
import json
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request

PLAN_EVERY = 1.5  # seconds between asking the app what to push
FAILED_AFTER = 3  # exits in a row before a destination reads "failed" (it is still retried)
MAX_PAUSE = 30.0


def _die_with_parent() -> None:
    # The relays must not outlive this supervisor, even if it is killed outright.
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6").prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class Relay:
    def __init__(self, destination_id: int, target: str) -> None:
        self.id = destination_id
        self.target = target
        self.proc: subprocess.Popen | None = None
        self.status = "waiting"
        self.failures = 0
        self.next_try = 0.0
        self.errors: collections.deque[str] = collections.deque(maxlen=5)
        self.progressed = threading.Event()

    def start(self, *, ffmpeg: str, source: str, rw_timeout: int) -> None:
        timeout_us = str(rw_timeout * 1_000_000)
        command = [
            ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error", "-progress", "pipe:1",
            "-rw_timeout", timeout_us, "-i", source,
            "-c", "copy", "-f", "flv", "-rw_timeout", timeout_us, self.target,
        ]  # fmt: skip
        self.progressed.clear()
        self.errors.clear()
        self.proc = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=_die_with_parent,
        )
        threading.Thread(target=self._read_progress, args=(self.proc,), daemon=True).start()
        threading.Thread(target=self._read_errors, args=(self.proc,), daemon=True).start()

    def _read_progress(self, proc: subprocess.Popen) -> None:
        for line in proc.stdout:
            key, _, value = line.strip().partition("=")
            if key in ("out_time_us", "out_time_ms", "total_size") and value.isdigit() and int(value) > 0:
                self.progressed.set()

    def _read_errors(self, proc: subprocess.Popen) -> None:
        for line in proc.stderr:
            if line.strip():
                self.errors.append(line.strip()[:280])

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=3)
        except subprocess.TimeoutExpired:
            proc.kill()  # a relay ignores the first SIGTERM while it waits on the network
            proc.wait(timeout=3)

    def reason(self) -> str:
        # The target (with the destination's key) must not end up in the reason shown in the panel.
        text = self.errors[-1] if self.errors else ""
        return text.replace(self.target, "<destination>")


class Supervisor:
    def __init__(self, config: dict, name: str) -> None:
        self.config = config
        self.name = name
        self.relays: dict[int, Relay] = {}
        self.stopping = False
        self.log = open(config["log"], "a", buffering=1) if config.get("log") else sys.stderr  # noqa: SIM115

    def say(self, text: str) -> None:
        self.log.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} relay {self.name}: {text}\n")

    def _url(self, path: str, **query: str) -> str:
        query["secret"] = self.config["secret"]
        return f"{self.config['callback']}{path}?{urllib.parse.urlencode(query)}"

    def plan(self) -> dict | None:
        try:
            with urllib.request.urlopen(self._url("relays/", name=self.name), timeout=5) as response:
                return json.load(response)
        except Exception as exc:  # the app is restarting: keep what runs
            self.say(f"cannot ask the app what to push: {exc}")
            return None

    def report(self, relay: Relay, status: str, reason: str = "") -> None:
        if relay.status == status and status not in ("retrying", "failed"):
            return
        relay.status = status
        data = urllib.parse.urlencode({"destination": relay.id, "status": status, "reason": reason}).encode()
        try:
            urllib.request.urlopen(urllib.request.Request(self._url("relay-status/"), data=data), timeout=5).close()
        except Exception as exc:
            self.say(f"cannot report {status} of destination {relay.id}: {exc}")

    def step(self, plan: dict) -> None:
        wanted = {d["id"]: d["target"] for d in plan.get("destinations", [])} if plan.get("live") else {}
        source = plan.get("source") or self.config["source"] + self.name
        for destination_id in list(self.relays):
            relay = self.relays[destination_id]
            if wanted.get(destination_id) != relay.target:
                relay.stop()
                self.report(relay, "waiting")
                del self.relays[destination_id]
        now = time.monotonic()
        for destination_id, target in wanted.items():
            relay = self.relays.setdefault(destination_id, Relay(destination_id, target))
            if relay.proc is not None and relay.proc.poll() is not None:
                relay.proc.wait()
                relay.proc = None
                relay.failures += 1
                reason = relay.reason() or f"ffmpeg exited with {relay.failures and 'an error'}"
                self.say(f"destination {destination_id} stopped: {reason}")
                relay.next_try = now + min(MAX_PAUSE, 2.0 ** min(relay.failures, 5))
                self.report(relay, "failed" if relay.failures >= FAILED_AFTER else "retrying", reason)
            elif relay.proc is None and now >= relay.next_try:
                relay.start(ffmpeg=self.config["ffmpeg"], source=source, rw_timeout=int(self.config["rw_timeout"]))
                self.say(f"destination {destination_id}: pushing")
                self.report(relay, "connecting")
            elif relay.proc is not None and relay.status != "live" and relay.progressed.is_set():
                relay.failures = 0
                self.report(relay, "live")

    def stop_all(self) -> None:
        for relay in self.relays.values():
            relay.stop()
            self.report(relay, "waiting")
        self.relays.clear()

    def run(self) -> None:
        plan: dict = {"live": False, "destinations": []}
        next_plan = 0.0
        while not self.stopping:
            if time.monotonic() >= next_plan:
                plan = self.plan() or plan
                next_plan = time.monotonic() + PLAN_EVERY
            self.step(plan)
            time.sleep(0.25)
        self.stop_all()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True)
    parser.add_argument("--name", required=True)
    args = parser.parse_args(argv)
    with open(args.config) as f:
        config = json.load(f)
    supervisor = Supervisor(config, args.name)

    def stop(signum, frame):
        supervisor.stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    supervisor.say("started")
    supervisor.run()
    supervisor.say("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
