// Voltline dashboard charts, drawn by Chart.js (static/vendor/, bundled by scripts/build-web.sh).
// Each chart is a <canvas> inside [data-chart=ID] and its spec, written by the server as JSON in
// [data-chart-spec=ID]. Times read in the operator's zone (the page's data-time-zone), as the
// server writes them; the server has already cut days, weeks and months in that zone.
(function () {
  "use strict";

  const $$ = (selector, root) => Array.from((root || document).querySelectorAll(selector));
  if (!window.Chart) {
    $$("[data-chart] canvas").forEach((canvas) => {
      const note = document.createElement("p");
      note.className = "chart-missing";
      note.textContent = "The charting library did not load: the figures are in the CSV.";
      canvas.replaceWith(note);
    });
    return;
  }
  const Chart = window.Chart;
  const css = getComputedStyle(document.documentElement);
  const cssColor = (name, fallback) => (css.getPropertyValue(name) || "").trim() || fallback;

  // One colour per meaning, the badges' own: a status looks the same in a chart and in a table.
  const TONES = {
    energy: cssColor("--accent", "#0f766e"),
    power: cssColor("--charge", "#6d28d9"),
    Charging: cssColor("--charge", "#6d28d9"),
    Occupied: "#3b82f6",
    Available: "#22c55e",
    Unavailable: "#94a3b8",
    Faulted: cssColor("--bad", "#b91c1c"),
    "No status yet": "#e2e8f0",
    connected: "#22c55e",
    offline: "#94a3b8",
    sessions: "#0ea5e9",
    idle: "#f59e0b",
    bad: cssColor("--bad", "#b91c1c"),
    warn: "#f59e0b",
    blocked: "#475569",
  };
  const PALETTE = ["#0f766e", "#6d28d9", "#0ea5e9", "#f59e0b", "#db2777", "#65a30d", "#64748b", "#b91c1c"];
  const tone = (name, i) => TONES[name] || PALETTE[i % PALETTE.length];
  const alpha = (hex, a) => hex + Math.round(a * 255).toString(16).padStart(2, "0");

  Chart.defaults.font.family = css.fontFamily;
  Chart.defaults.font.size = 12;
  Chart.defaults.color = cssColor("--muted", "#5b6675");
  Chart.defaults.borderColor = cssColor("--line", "#dde3ea");
  Chart.defaults.maintainAspectRatio = false;
  Chart.defaults.plugins.legend.labels.boxWidth = 12;
  Chart.defaults.plugins.legend.labels.boxHeight = 12;

  const number = (value, digits) =>
    value == null ? "—" : Number(value).toLocaleString("en", { minimumFractionDigits: digits, maximumFractionDigits: digits });

  // -- time in the operator's zone -----------------------------------------------------------

  const zone = document.body.dataset.timeZone || "UTC";
  const PARTS = new Intl.DateTimeFormat("en-US", {
    timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit",
    second: "2-digit", hourCycle: "h23", timeZoneName: "longOffset",
  });
  function parts(ms) {
    const p = {};
    PARTS.formatToParts(new Date(ms)).forEach((part) => { p[part.type] = part.value; });
    if (p.hour === "24") p.hour = "00";
    const m = /^GMT(?:([+-])(\d+)(?::(\d\d))?)?$/.exec(p.timeZoneName) || [];
    p.offsetMs = (m[1] === "-" ? -1 : 1) * ((Number(m[2] || 0) * 60) + Number(m[3] || 0)) * 60000;
    return p;
  }
  const clock = (ms) => { const p = parts(ms); return `${p.hour}:${p.minute}:${p.second}`; };
  const stamp = (ms) => { const p = parts(ms); return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}:${p.second}`; };

  // Ticks at round times of the zone's clock (a whole minute, quarter hour, hour…), with the first
  // and last sample at the ends: the axis starts where the session starts.
  const STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400].map((s) => s * 1000);
  function timeTicks(scale) {
    const min = scale.min, max = scale.max, span = max - min;
    const room = Math.max(2, Math.floor((scale.chart.width || 600) / 130));
    const step = STEPS.find((s) => span / s <= room) || STEPS[STEPS.length - 1];
    const ticks = [{ value: min }];
    const off = parts(min).offsetMs;
    for (let t = Math.ceil((min + off) / step) * step - off; t < max - step * 0.45; t += step) {
      if (t - min > step * 0.45) ticks.push({ value: t });
    }
    ticks.push({ value: max });
    // Two ticks that read the same (the last sample within the last round second): keep the end.
    scale.ticks = ticks.filter((tick, i) => i === ticks.length - 1 || clock(tick.value) !== clock(ticks[i + 1].value));
  }

  // -- the session chart: energy (kWh, left axis) and power (kW, right axis) over time ---------

  function sessionChart(canvas, spec) {
    const points = (rows, offset) => rows.map(([t, v]) => ({ x: Date.parse(t), y: (v - offset) / 1000 }));
    const energy = points(spec.energy, 0);
    const power = points(spec.power, 0);
    const chart = new Chart(canvas, {
      type: "line",
      data: {
        datasets: [
          { label: "Energy delivered (kWh)", data: energy, yAxisID: "energy", borderColor: TONES.energy,
            backgroundColor: alpha(TONES.energy, 0.1), fill: "origin", borderWidth: 2.5, pointRadius: 0, tension: 0 },
          // Power holds its value until the next sample: a step line.
          { label: "Power (kW)", data: power, yAxisID: "power", borderColor: TONES.power, backgroundColor: TONES.power,
            stepped: true, borderWidth: 2, pointRadius: 0 },
        ],
      },
      options: {
        animation: false,
        parsing: false,
        interaction: { mode: "nearest", axis: "x", intersect: false },
        scales: {
          x: { type: "linear", afterBuildTicks: timeTicks, ticks: { callback: (v) => clock(v), maxRotation: 0 },
               grid: { display: false } },
          energy: { type: "linear", position: "left", beginAtZero: true, title: { display: true, text: "kWh" } },
          power: { type: "linear", position: "right", beginAtZero: true, title: { display: true, text: "kW" },
                   grid: { drawOnChartArea: false } },
        },
        plugins: {
          legend: { position: "bottom" },
          tooltip: { callbacks: {
            title: (items) => (items.length ? stamp(items[0].parsed.x) : ""),
            label: (item) => item.dataset.label.replace(/ \(.*\)$/, "") + ": " +
              number(item.parsed.y, item.dataset.yAxisID === "energy" ? 2 : 1) + (item.dataset.yAxisID === "energy" ? " kWh" : " kW"),
          } },
        },
      },
    });
    fitTimeAxis(chart);
    return chart;
  }

  // A session that just began (one sample) still gets an axis ten seconds wide.
  function fitTimeAxis(chart) {
    const xs = chart.data.datasets.flatMap((d) => d.data.map((p) => p.x));
    const x = chart.options.scales.x;
    if (!xs.length) { x.min = undefined; x.max = undefined; chart.update("none"); return; }
    const t0 = Math.min(...xs);
    x.min = t0;
    const t1 = Math.max(...xs);
    x.max = t1 - t0 < 1000 ? t0 + 10000 : t1;
    chart.update("none");
  }

  // A running session's chart grows with each MeterValues the page hears of (app.js tells).
  document.addEventListener("voltline:meter-values", (event) => {
    const { reading, at } = event.detail;
    const canvas = document.querySelector('[data-chart="session-chart"] canvas');
    const chart = canvas && Chart.getChart(canvas);
    if (!chart || chart.$spec.transaction_id !== reading.transaction_id) return;
    const x = Date.parse(at || new Date().toISOString());
    if (reading.energy_wh != null) chart.data.datasets[0].data.push({ x, y: (reading.energy_wh - chart.$spec.meter_start) / 1000 });
    if (reading.power_w != null) chart.data.datasets[1].data.push({ x, y: reading.power_w / 1000 });
    fitTimeAxis(chart);
  });

  // -- report charts: bars over labels the server wrote ----------------------------------------
  // spec: {kind: "bar"|"line", labels, datasets: [{label, data, tone?}], unit, digits?, stacked?,
  //        percent?, horizontal?}

  function reportChart(canvas, spec) {
    const horizontal = !!spec.horizontal;
    const unit = spec.unit || "";
    const digits = spec.digits == null ? 1 : spec.digits;
    const valueAxis = {
      beginAtZero: true, stacked: !!spec.stacked,
      max: spec.percent ? 100 : undefined,
      title: { display: !!unit, text: unit },
      // Whole numbers for counts; tenths and hundredths only where the scale needs them.
      ticks: { precision: spec.digits === 0 ? 0 : undefined,
               callback: (v) => Number(v).toLocaleString("en", { maximumFractionDigits: 2 }) + (spec.percent ? " %" : "") },
    };
    const labelAxis = { stacked: !!spec.stacked, grid: { display: false },
                        ticks: { autoSkip: !horizontal, maxRotation: horizontal ? 0 : 45 } };
    const line = spec.kind === "line";
    return new Chart(canvas, {
      type: line ? "line" : "bar",
      data: {
        labels: spec.labels,
        datasets: spec.datasets.map((d, i) => {
          const color = tone(d.tone || d.label, i);
          return {
            label: d.label, data: d.data, borderColor: color,
            backgroundColor: line ? alpha(color, 0.12) : color,
            borderWidth: line ? 2 : 0, borderRadius: spec.stacked ? 0 : 3, fill: line ? "origin" : undefined,
            pointRadius: line ? (spec.labels.length > 60 ? 0 : 2.5) : undefined, tension: 0,
            maxBarThickness: horizontal ? 30 : 48,
          };
        }),
      },
      options: {
        animation: false,
        indexAxis: horizontal ? "y" : "x",
        interaction: { mode: "index", intersect: false },
        scales: horizontal ? { x: valueAxis, y: labelAxis } : { x: labelAxis, y: valueAxis },
        plugins: {
          legend: { display: spec.datasets.length > 1, position: "bottom" },
          tooltip: { callbacks: {
            label: (item) => `${item.dataset.label}: ${number(horizontal ? item.parsed.x : item.parsed.y, digits)}${spec.percent ? " %" : unit ? " " + unit : ""}`,
          } },
        },
      },
    });
  }

  // The shares of a whole (spec.percent), one slice per label, coloured by meaning.
  function doughnutChart(canvas, spec) {
    const data = spec.datasets[0];
    return new Chart(canvas, {
      type: "doughnut",
      data: { labels: spec.labels, datasets: [{ label: data.label, data: data.data, borderWidth: 1,
        backgroundColor: spec.labels.map((label, i) => tone(label, i)) }] },
      options: {
        animation: false, cutout: "55%",
        plugins: {
          legend: { position: "bottom" },
          tooltip: { callbacks: { label: (item) => `${item.label}: ${number(item.parsed, spec.digits == null ? 1 : spec.digits)} %` } },
        },
      },
    });
  }

  const KINDS = { session: sessionChart, doughnut: doughnutChart };

  function draw() {
    $$("[data-chart]").forEach((box) => {
      const canvas = box.querySelector("canvas");
      const source = document.querySelector(`[data-chart-spec="${box.dataset.chart}"]`);
      if (!canvas || !source) return;
      const spec = JSON.parse(source.textContent);
      const chart = (KINDS[spec.kind] || reportChart)(canvas, spec);
      chart.$spec = spec;
      box.dataset.drawn = "true";
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", draw);
  else draw();
})();
