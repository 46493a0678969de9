"""Scripted runs: what happens to which charge point when, in simulated seconds from the start.

    - at: 5
      charge_point: CP-1
      connector: 1
      plug_in: {id_tag: TAG1, energy_kwh: 20}
    - at: 60
      charge_point: CP-2
      drop_connection: {reconnect_after: 30}

A step names one action with its arguments (a mapping, or nothing). `charge_point: "*"` applies
the step to every charge point. The same steps can be built in Python with `Step`.

Actions: plug_in, present_tag, stop, unplug (need `connector`; arguments as the methods of
SimulatedChargePoint take them), fault / clear_fault (a connector, or the station without one),
drop_connection {reconnect_after}, go_silent {duration}, resume, and
inject {firmware: DownloadFailed|InstallationFailed, upload: true} to make the next update or
upload fail.
"""

from __future__ import annotations

import asyncio
import inspect
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    from voltline.simulator.simulator import Simulator
    from voltline.simulator.station import SimulatedChargePoint


class ScenarioError(ValueError):
    pass


# action → (method of SimulatedChargePoint, how it takes the connector)
_METHODS: dict[str, tuple[str, str]] = {
    "plug_in": ("plug_in", "required"),
    "present_tag": ("present_tag", "required"),
    "stop": ("stop_charging", "required"),
    "unplug": ("unplug", "required"),
    "fault": ("fault", "station-if-absent"),
    "clear_fault": ("clear_fault", "station-if-absent"),
    "drop_connection": ("drop_connection", "none"),
    "go_silent": ("go_silent", "none"),
    "resume": ("resume", "none"),
}
ACTIONS = frozenset({*_METHODS, "inject"})


def _positional(action: str, connector: int | None) -> list[int]:
    mode = _METHODS[action][1]
    if mode == "required":
        if connector is None:
            raise ScenarioError(f"{action} needs a connector")
        return [connector]
    if mode == "station-if-absent":
        return [0 if connector is None else connector]
    return []


def _check_inject(args: dict[str, Any]) -> None:
    unknown = set(args) - {"firmware", "upload"}
    if unknown:
        raise ScenarioError(f"inject knows firmware and upload, not {sorted(unknown)}")
    if "firmware" in args and args["firmware"] not in ("DownloadFailed", "InstallationFailed"):
        raise ScenarioError("inject firmware is DownloadFailed or InstallationFailed")


async def _perform(cp: SimulatedChargePoint, step: Step) -> None:
    if step.action == "inject":
        # Make the next firmware update or upload fail: {firmware: DownloadFailed, upload: true}.
        if "firmware" in step.args:
            cp.maintenance.firmware_failure = step.args["firmware"]
        if step.args.get("upload"):
            cp.maintenance.upload_failure = True
        return
    method = getattr(cp, _METHODS[step.action][0])
    await method(*_positional(step.action, step.connector), **step.args)


@dataclass(slots=True)
class Step:
    at: float
    charge_point: str
    action: str
    connector: int | None = None
    args: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise ScenarioError(f"unknown action {self.action!r}; known: {', '.join(sorted(ACTIONS))}")
        if self.at < 0:
            raise ScenarioError("`at` must not be negative")
        if self.action == "inject":
            _check_inject(self.args)
            return
        # Bad arguments are reported when the scenario is read, not minutes into the run.
        from voltline.simulator.station import SimulatedChargePoint

        signature = inspect.signature(getattr(SimulatedChargePoint, _METHODS[self.action][0]))
        try:
            signature.bind(None, *_positional(self.action, self.connector), **self.args)
        except TypeError as exc:
            raise ScenarioError(f"{self.action}: {exc}") from None


def _step(raw: Any, index: int) -> Step:
    where = f"step {index + 1}"
    if not isinstance(raw, dict):
        raise ScenarioError(f"{where}: a step is a mapping")
    raw = dict(raw)
    try:
        at = float(raw.pop("at"))
        charge_point = str(raw.pop("charge_point"))
    except KeyError as exc:
        raise ScenarioError(f"{where}: missing {exc.args[0]!r}") from None
    except (TypeError, ValueError):
        raise ScenarioError(f"{where}: `at` must be a number of seconds") from None
    connector = raw.pop("connector", None)
    if connector is not None and not isinstance(connector, int):
        raise ScenarioError(f"{where}: `connector` must be an integer")
    if len(raw) != 1:
        raise ScenarioError(f"{where}: name exactly one action, got {sorted(raw) or 'none'}")
    ((action, args),) = raw.items()
    if args is None:
        args = {}
    if not isinstance(args, dict):
        raise ScenarioError(f"{where}: the arguments of {action} must be a mapping")
    try:
        return Step(at, charge_point, action, connector, args)
    except ScenarioError as exc:
        raise ScenarioError(f"{where}: {exc}") from None


class Scenario:
    def __init__(self, steps: list[Step]) -> None:
        # Stable sort: steps at the same time run in the order written.
        self.steps = sorted(steps, key=lambda s: s.at)

    @classmethod
    def from_yaml(cls, text: str) -> Scenario:
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ScenarioError(f"not valid YAML: {exc}") from None
        if isinstance(data, dict) and "steps" in data:
            data = data["steps"]
        if data is None:
            data = []
        if not isinstance(data, list):
            raise ScenarioError("a scenario is a list of steps (or a mapping with `steps`)")
        return cls([_step(raw, i) for i, raw in enumerate(data)])

    @classmethod
    def load(cls, path: str | Path) -> Scenario:
        return cls.from_yaml(Path(path).read_text(encoding="utf-8"))

    @property
    def duration(self) -> float:
        return self.steps[-1].at if self.steps else 0.0

    def check(self, simulator: Simulator) -> None:
        known = set(simulator.charge_points)
        for step in self.steps:
            if step.charge_point != "*" and step.charge_point not in known:
                raise ScenarioError(f"no charge point {step.charge_point!r} in this simulation")

    async def run(self, simulator: Simulator) -> None:
        """Play the steps at their times; steps run one after the other, so a step that takes
        long (an Authorize) delays the next one rather than overlapping it."""
        self.check(simulator)
        clock = simulator.clock
        started = clock.elapsed()
        for step in self.steps:
            await clock.sleep(step.at - (clock.elapsed() - started))
            targets = list(simulator) if step.charge_point == "*" else [simulator[step.charge_point]]
            await asyncio.gather(*(_perform(cp, step) for cp in targets))
