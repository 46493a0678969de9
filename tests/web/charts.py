"""Reading a dashboard chart back from the page: what Chart.js drew, not what the server sent."""

from __future__ import annotations

from typing import Any

from playwright.async_api import Page, expect

from voltline.web.vendor import BUILD_COMMAND, bundle, charts_bundled

# The chart Chart.js holds for the canvas of [data-chart=ID]: its datasets and each axis's tick labels.
READ_CHART = """(id) => {
  const canvas = document.querySelector(`[data-chart="${id}"] canvas`);
  const chart = canvas && window.Chart && window.Chart.getChart(canvas);
  if (!chart) return null;
  return {
    type: chart.config.type,
    labels: chart.data.labels || [],
    datasets: chart.data.datasets.map((d) => ({ label: d.label, data: d.data })),
    ticks: Object.fromEntries(Object.entries(chart.scales).map(([k, s]) => [k, s.ticks.map((t) => t.label)])),
    width: canvas.width, height: canvas.height,
  };
}"""


async def drawn_chart(page: Page, chart_id: str) -> dict[str, Any]:
    """The chart on the page, once Chart.js has drawn it on a canvas of real size."""
    assert charts_bundled(), f"{bundle()} is missing: run {BUILD_COMMAND} first (scripts/test.sh does)"
    await expect(page.locator(f'[data-chart="{chart_id}"][data-drawn="true"] canvas')).to_be_visible()
    chart = await page.evaluate(READ_CHART, chart_id)
    assert chart is not None, f"no Chart.js chart on [data-chart={chart_id}]"
    assert chart["width"] > 0 and chart["height"] > 0
    return chart  # type: ignore[no-any-return]


def values(dataset: dict[str, Any]) -> list[float]:
    """A dataset's numbers, whether it holds plain values or {x, y} points."""
    return [p["y"] if isinstance(p, dict) else p for p in dataset["data"] if p is not None]
