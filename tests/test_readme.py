"""The newcomer's test: README.md's commands, verbatim, on a clean clone, against the demo.

The working tree's HEAD is cloned into a temporary folder (uncommitted changes are not in it; in
CI the checkout is a clean clone already), which gets the virtual environment of this test run as
its `.venv` rather than a second install. Then every ```sh block of the README runs in README
order, as a newcomer would type it: commands of one block after another in one shell (variables
such as TOKEN carry over), with `VOLTLINE_PORT` / `VOLTLINE_OCPP_PORT` exported as the README
says, pointing at free ports. The demo (what `scripts/demo.sh` starts) is started before the
first block that says "against the demo". Commands that run until Ctrl-C (the server, a
simulator "in a third terminal") run in the background and get Ctrl-C at the end. Each command
must exit 0 and answer what the README says it does; a command this test does not know fails
it, so a new README command gets its expectation here.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.newcomer

REPO = Path(__file__).resolve().parents[1]
SH_BLOCK = re.compile(r"^```sh\n(.*?)^```", re.M | re.S)
HEREDOC = re.compile(r"<<-?\s*'?(\w+)'?")
AGAINST_THE_DEMO = "# against the demo"
STEP_TIMEOUT_S = 90.0  # a bound for a loaded CI machine, not a measure
SCREENSHOTS = REPO / "test-artifacts" / "screenshots"

# Commands that cannot sensibly run here, and why.
SKIPPED = {
    r"^scripts/test\.sh\b": "runs the whole test suite, this test included (CI runs it: .ci/run)",
    r"^scripts/demo\.sh\b": (
        "its install step would install into the test run's own venv; the test starts what it then "
        "runs, `.venv/bin/voltline serve --demo`, in the clone"
    ),
    r"^python3 -m venv \.venv && \.venv/bin/pip install -e \.": "the clone's .venv is the test run's, installed already",
}


@dataclass
class Done:
    command: str
    rc: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


def sh_blocks(readme: str) -> list[str]:
    return SH_BLOCK.findall(readme)


def commands_of(block: str) -> list[str]:
    """A block's commands: continued lines (trailing backslash) and here-documents stay with
    their command; blank and comment-only lines are dropped."""
    lines = block.splitlines()
    commands: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        parts = [line]
        while parts[-1].endswith("\\") and i < len(lines):
            parts.append(lines[i])
            i += 1
        heredoc = HEREDOC.search(parts[-1])
        if heredoc:
            while i < len(lines):
                parts.append(lines[i])
                i += 1
                if parts[-1].strip() == heredoc.group(1):
                    break
        commands.append("\n".join(parts))
    return commands


def one_line(command: str) -> str:
    return re.sub(r"\\\n\s*", "", command)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(what: str, check: Callable[[], Any], timeout: float = STEP_TIMEOUT_S) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = check()
        except (httpx.HTTPError, OSError, ValueError) as exc:
            last = exc
        else:
            if last:
                return last
        time.sleep(0.3)
    pytest.fail(f"{what}: not within {timeout:.0f} s (last: {last!r})")


class Terminal:
    """A second terminal: one bash, commands one after another, each with its own output."""

    def __init__(self, cwd: Path, env: dict[str, str], scratch: Path) -> None:
        self.scratch = scratch
        self.n = 0
        self.proc = subprocess.Popen(
            ["bash", "--noprofile", "--norc"], stdin=subprocess.PIPE, cwd=cwd, env=env, text=True,
            start_new_session=True,
        )
        self._send("set -o pipefail\n")

    def _send(self, text: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(text)
        self.proc.stdin.flush()

    def run(self, command: str, timeout: float = STEP_TIMEOUT_S) -> Done:
        self.n += 1
        out, err, rc = (self.scratch / f"{self.n}.{kind}" for kind in ("out", "err", "rc"))
        # Standard input is not the script's: a command that reads it gets end of file.
        self._send(f"{{\n{command}\n}} </dev/null >{out} 2>{err}\necho $? >{rc}.part && mv {rc}.part {rc}\n")
        deadline = time.monotonic() + timeout
        while not rc.exists():
            if self.proc.poll() is not None:
                pytest.fail(f"the shell ended during {command!r}")
            if time.monotonic() > deadline:
                pytest.fail(f"{command!r} did not finish within {timeout:.0f} s")
            time.sleep(0.1)
        return Done(command, int(rc.read_text()), out.read_text(), err.read_text())

    def value_of(self, variable: str) -> str:
        return self.run(f'printf "%s" "${variable}"').out

    def close(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            self.proc.wait(10)


class Background:
    """A command typed into a terminal of its own, running until Ctrl-C."""

    def __init__(self, command: str, cwd: Path, env: dict[str, str], log: Path) -> None:
        self.command = command
        self.log = log
        with log.open("w") as out:
            self.proc = subprocess.Popen(["bash", "-c", command], cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                                         stdout=out, stderr=subprocess.STDOUT, start_new_session=True)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def ctrl_c(self, timeout: float = 30.0) -> int:
        """Ctrl-C as a terminal sends it (SIGINT to the foreground process group); the exit code."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGINT)
        return self.proc.wait(timeout)

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)


@pytest.fixture
def clone(tmp_path: Path) -> Path:
    """The working tree's HEAD, cloned, with this test run's venv as its `.venv`."""
    if shutil.which("git") is None or not (REPO / ".git").exists():
        if os.environ.get("CI"):
            pytest.fail("the README test needs git and a git checkout in CI")
        pytest.skip("not a git checkout")
    head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "HEAD"], check=True, capture_output=True,
                          text=True).stdout.strip()
    target = tmp_path / "voltline"
    subprocess.run(["git", "clone", "--quiet", "--no-checkout", str(REPO), str(target)], check=True)
    subprocess.run(["git", "-C", str(target), "checkout", "--quiet", head], check=True)
    venv = Path(sys.prefix)
    if not (venv / "bin" / "voltline").exists():
        pytest.skip(f"no voltline command in this test run's environment ({venv})")
    (target / ".venv").symlink_to(venv, target_is_directory=True)
    return target


@pytest.fixture
def processes() -> Iterator[list[Background]]:
    started: list[Background] = []
    yield started
    for process in started:
        process.kill()


def test_readme_commands_work_verbatim_on_a_clean_clone(clone: Path, tmp_path: Path,
                                                         processes: list[Background]) -> None:
    readme = (clone / "README.md").read_text()
    blocks = sh_blocks(readme)
    assert len(blocks) >= 6, "the README's ```sh blocks were not found"

    http_port, ocpp_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("VOLTLINE_")}
    env.update(
        # The clone's code, not the one the shared venv was installed from (the same in CI).
        PYTHONPATH=str(clone),
        # As the README says: the demo and the examples read these two.
        VOLTLINE_PORT=str(http_port),
        VOLTLINE_OCPP_PORT=str(ocpp_port),
        # The documented alternative to typing the new operator's password.
        VOLTLINE_USER_PASSWORD="a long operator password",
        COLUMNS="200",
    )
    base = f"http://127.0.0.1:{http_port}"
    scratch = tmp_path / "terminal"
    scratch.mkdir()
    terminal = Terminal(clone, env, scratch)
    demo: Background | None = None
    demo_token = ""
    ran, skipped = 0, []
    background: list[Background] = []

    def api(path: str) -> Any:
        response = httpx.get(base + path, headers={"Authorization": f"Bearer {demo_token}"}, timeout=10)
        response.raise_for_status()
        return response.json()

    def charge_points(prefix: str) -> list[dict[str, Any]]:
        return [cp for cp in api("/api/v1/charge-points?limit=200")["items"] if cp["id"].startswith(prefix)]

    try:
        for block in blocks:
            if block.startswith(AGAINST_THE_DEMO) and demo is None:
                demo = Background(".venv/bin/voltline serve --demo", clone, env, tmp_path / "demo.log")
                processes.append(demo)
                printed = wait_for("the demo's commands printed", lambda: "--mean-idle" in demo.output() and demo.output())
                demo_token = re.search(r"token\s+(vl_\S+)", printed).group(1)  # type: ignore[union-attr]
                check_printed_commands(printed, readme, http_port, ocpp_port)

            for command in commands_of(block):
                line = one_line(command)
                reason = next((why for pattern, why in SKIPPED.items() if re.search(pattern, line)), None)
                if reason:
                    skipped.append((line, reason))
                    continue
                ran += 1
                if re.search(r"voltline serve$", line.split("#")[0].strip()):
                    # Until Ctrl-C: it answers on the documented port, then stops.
                    server = Background(command, clone, env, tmp_path / f"serve-{ran}.log")
                    processes.append(server)
                    wait_for("voltline serve answering /health", lambda: httpx.get(base + "/health").status_code == 200)
                    assert server.ctrl_c() == 0, server.output()
                    continue
                if "voltline simulate" in line and "--duration" not in line:
                    sim = Background(command, clone, env, tmp_path / f"simulate-{ran}.log")
                    processes.append(sim)
                    background.append(sim)
                    expect_simulator(line, charge_points, sim)
                    continue
                done = terminal.run(command)
                assert done.rc == 0, f"{line}\nexit {done.rc}\n{done.out}\n{done.err}"
                expect_answer(done, terminal, clone)

        assert demo is not None, f"no block starts with {AGAINST_THE_DEMO!r}"
        assert ran >= 12 and len(skipped) <= 4, (ran, skipped)

        # The demo gives every connector a driver's card of its own, so none waits in Preparing
        # for a card that is busy elsewhere.
        tags = api("/api/v1/id-tags?limit=200")["items"]
        drivers = [t for t in tags if t["id_tag"].startswith("DEMO-TAG-") and t["status"] == "Accepted"]
        demo_connectors = [c for cp in charge_points("DEMO-") for c in cp["connectors"] if c["connector_id"] > 0]
        assert len(demo_connectors) == 8
        assert len(drivers) >= len(demo_connectors)
        assert next(t for t in tags if t["id_tag"] == "DEMO-FLEET")["max_active_transactions"] == 0

        screenshot_dashboard(base, demo.output())

        for sim in background:
            assert sim.ctrl_c() == 0, sim.output()
            assert re.search(r"\d+ charge points · \d+ sessions", sim.output()), sim.output()
        assert demo.ctrl_c() == 0, demo.output()
    finally:
        terminal.close()


def check_printed_commands(printed: str, readme: str, http_port: int, ocpp_port: int) -> None:
    """What the demo prints to try it is what the README says, with the ports filled in."""
    readme_lines = {
        one_line(c).replace("${VOLTLINE_PORT:-8000}", str(http_port)).replace("${VOLTLINE_OCPP_PORT:-9000}", str(ocpp_port))
        for block in sh_blocks(readme)
        for c in commands_of(block)
    }
    shown = [line.strip() for line in printed.splitlines() if line.startswith("  ")]
    assert f"export VOLTLINE_PORT={http_port} VOLTLINE_OCPP_PORT={ocpp_port}" in shown
    token_line = next(line for line in shown if line.startswith("TOKEN="))
    simulate_line = next(line for line in shown if "voltline simulate" in line)
    assert token_line in readme_lines, token_line
    assert simulate_line in readme_lines, simulate_line


def expect_answer(done: Done, terminal: Terminal, clone: Path) -> None:
    """What the README says the command does."""
    line = one_line(done.command)
    if "voltline migrate" in line:
        assert "up to date" in done.out
    elif "token create --name my-app" in line:
        assert re.fullmatch(r"vl_\S{20,}", done.out.strip().splitlines()[-1]), done.out
    elif line.startswith("TOKEN="):
        assert re.fullmatch(r"vl_\S{20,}", terminal.value_of("TOKEN"))
    elif line.startswith("API="):
        assert terminal.value_of("API").endswith("/api/v1")
    elif "voltline user create alice" in line:
        assert "created user alice" in done.out
    elif "-X POST $API/charge-points " in line + " " and '"id": "CP-1"' in line:
        assert done.json()["id"] == "CP-1"
    elif "$API/id-tags" in line:
        assert (done.json()["id_tag"], done.json()["status"]) == ("TAG-1", "Accepted")
    elif "/remote-start" in line:
        answer = done.json()
        assert answer["status"] == "Accepted" and isinstance(answer["transaction_id"], int), answer
    elif "/commands/GetConfiguration" in line:
        assert done.json()["configurationKey"], done.out
    elif line.startswith("cat > my-scenario.yaml"):
        assert "plug_in" in (clone / "my-scenario.yaml").read_text()
    elif "voltline simulate" in line and "--scenario" in line:
        assert "1 charge points · 1 sessions" in done.out, done.out
        assert "0 errors" in done.out, done.out
    else:
        pytest.fail(f"a README command this test does not know; say here what it answers:\n{line}")


def expect_simulator(line: str, charge_points: Callable[[str], list[dict[str, Any]]], sim: Background) -> None:
    """A simulator left running: its charge points come online (and charge, with traffic)."""
    if "--no-traffic" in line and "--charge-points 1" in line:
        # Online and booted: its connectors reported Available after BootNotification was accepted.
        wait_for(f"CP-1 online ({sim.output()[-500:]})", lambda: any(
            cp["id"] == "CP-1" and cp["connected"] and any(c["status"] == "Available" for c in cp["connectors"])
            for cp in charge_points("CP-1")
        ))
    elif "--prefix SIM-" in line:
        count = int(re.search(r"--charge-points (\d+)", line).group(1))  # type: ignore[union-attr]
        # "connects and charges within a minute"
        wait_for(f"{count} SIM- charge points online, one charging ({sim.output()[-500:]})", lambda: (
            len([cp for cp in charge_points("SIM-") if cp["connected"]]) == count
            and any(c["status"] == "Charging" for cp in charge_points("SIM-") for c in cp["connectors"])
        ))
    elif "--prefix MIX-" in line and "--ocpp-version mixed" in line:
        count = int(re.search(r"--charge-points (\d+)", line).group(1))  # type: ignore[union-attr]

        def busy(version: str, status: str) -> bool:
            return any(c["status"] == status for cp in charge_points("MIX-") if cp["ocpp_version"] == version
                       for c in cp["connectors"])

        # "every second station on 2.0.1"; both kinds charge (a 2.0.1 connector in use is Occupied).
        wait_for(f"{count} MIX- charge points online, every second on 2.0.1, both charging ({sim.output()[-500:]})",
                 lambda: (
            [cp["ocpp_version"] for cp in sorted(charge_points("MIX-"), key=lambda cp: int(cp["id"][4:]))
             if cp["connected"]] == ["1.6", "2.0.1"] * (count // 2)
            and busy("1.6", "Charging") and busy("2.0.1", "Occupied")
        ))
    else:
        pytest.fail(f"a README simulator this test does not know; say here what it does:\n{line}")


def screenshot_dashboard(base: str, demo_output: str) -> None:
    """The demo's overview after the README's commands, when Chromium is there (not a check)."""
    chromium = os.environ.get("VOLTLINE_TEST_CHROMIUM", "/usr/bin/chromium")
    try:
        from playwright import sync_api
    except ImportError:
        return
    if not Path(chromium).exists():
        return
    password = re.search(r"login admin / (\S+)", demo_output).group(1)  # type: ignore[union-attr]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--headless", "--no-sandbox", "--disable-gpu"])
        try:
            for name, viewport in (("desktop", {"width": 1280, "height": 900}), ("phone", {"width": 390, "height": 844})):
                page = browser.new_page(viewport=viewport)
                page.goto(base + "/login")
                page.get_by_label("Username").fill("admin")
                page.get_by_label("Password").fill(password)
                page.get_by_role("button", name="Log in").click()
                page.wait_for_url(base + "/")
                page.wait_for_timeout(1500)  # let live updates settle for the picture
                page.screenshot(path=str(SCREENSHOTS / f"readme-demo-dashboard-{name}.png"), full_page=True)
                page.close()
        finally:
            browser.close()
