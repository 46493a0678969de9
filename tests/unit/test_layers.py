"""The layer rules of DESIGN §1, as import-linter contracts (pyproject.toml), hold for the code."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def _lint(cwd: Path, pythonpath: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--no-logo"], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


def test_every_layer_contract_is_kept() -> None:
    result = _lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    verdicts = [line for line in result.stdout.splitlines() if line.endswith((" KEPT", " BROKEN"))]
    for layer in ("ocpp/", "services/", "store/", "gateway/", "api/ and web/"):
        [verdict] = [line for line in verdicts if line.startswith(layer)]
        assert verdict.endswith(" KEPT"), verdict


def test_a_service_speaking_ocpp_16_breaks_a_contract(tmp_path: Path) -> None:
    # The same contracts over a copy of the code in which a service reaches for the 1.6 wire
    # format: the checker must name the crossing.
    shutil.copytree(ROOT / "voltline", tmp_path / "voltline", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    (tmp_path / "voltline" / "services" / "reservations" / "wire.py").write_text(
        "from voltline.ocpp.v16 import outbound\n", encoding="utf-8"
    )
    result = _lint(tmp_path, pythonpath=tmp_path)
    assert result.returncode != 0
    assert "services/ are version-free and know no transport BROKEN" in result.stdout
    assert "voltline.services.reservations.wire -> voltline.ocpp.v16.outbound" in result.stdout


def test_the_simulators_handlers_reaching_back_for_the_charge_point_break_a_contract(tmp_path: Path) -> None:
    # As the handlers once did (for type checking only): the charge point imports the handlers,
    # so the handlers must not import it back; nor may one part of the station import another.
    shutil.copytree(ROOT / "voltline", tmp_path / "voltline", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    simulator = tmp_path / "voltline" / "simulator"
    handlers = simulator / "handlers.py"
    handlers.write_text(
        handlers.read_text(encoding="utf-8")
        + "\nfrom typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from voltline.simulator.station import SimulatedChargePoint\n",
        encoding="utf-8",
    )
    energy = simulator / "parts" / "energy.py"
    energy.write_text(
        energy.read_text(encoding="utf-8") + "\nfrom voltline.simulator.parts.transactions import TransactionsPart\n",
        encoding="utf-8",
    )
    result = _lint(tmp_path, pythonpath=tmp_path)
    assert result.returncode != 0
    assert "simulator/ charge point binds the handlers to its parts: imports point one way BROKEN" in result.stdout
    assert "voltline.simulator.handlers -> voltline.simulator.station" in result.stdout
    assert "simulator/ parts build on their shared state, never on each other BROKEN" in result.stdout
    assert "voltline.simulator.parts.energy -> voltline.simulator.parts.transactions" in result.stdout


def test_a_dashboard_page_reading_the_store_breaks_a_contract(tmp_path: Path) -> None:
    # The dashboard reads through the blocks' views; a page that writes its own SQL is the crossing.
    shutil.copytree(ROOT / "voltline", tmp_path / "voltline", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    (tmp_path / "voltline" / "web" / "own_sql.py").write_text("from voltline.store import tables\n", encoding="utf-8")
    result = _lint(tmp_path, pythonpath=tmp_path)
    assert result.returncode != 0
    assert "api/ and web/ read and act through services only BROKEN" in result.stdout
    assert "voltline.web.own_sql -> voltline.store.tables" in result.stdout
