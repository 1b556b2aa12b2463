// The control panel's front end: a plain ES module for anywidget, no build step, no library.
// It only draws the model's traits and sends {action} messages; every decision (which buttons
// are enabled, what the state is) is made in Python, so all panels on a simulation agree.

const PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"];
const SVG = "http://www.w3.org/2000/svg";
// How many states the head shows, the current one last; the whole history is in its tooltip.
const HISTORY_SHOWN = 6;
// Camera images are small (64×48 and the like): drawn at least this wide, in whole pixels.
const IMAGE_MIN_WIDTH = 320;
const IMAGE_MAX_WIDTH = 640;
const LINK_TEXT = { connecting: "connecting…", live: "live", reconnecting: "offline, reconnecting", ended: "",
                    replay: "replay of a recorded run" };

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function svgElement(tag, attributes) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, String(value));
  return node;
}

function clock(seconds) {
  if (!Number.isFinite(seconds) || seconds < 0) return "–";
  const whole = Math.floor(seconds);
  const h = Math.floor(whole / 3600), m = Math.floor((whole % 3600) / 60), s = whole % 60;
  const tenths = Math.floor((seconds - whole) * 10);
  const pad = (n) => String(n).padStart(2, "0");
  return `${pad(h)}:${pad(m)}:${pad(s)}.${tenths}`;
}

// Axis ticks at 1, 2 or 5 times a power of ten, about `count` of them over [low, high], and the
// decimals that step needs: labels read 0, 0.5, 1 or 0.002, never 1.34e-4.
function ticks(low, high, count) {
  const raw = (high - low) / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((k) => k * power).find((candidate) => candidate >= raw);
  const decimals = Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
  const values = [];
  for (let value = Math.ceil(low / step - 1e-9) * step; value <= high + step * 1e-9; value += step) values.push(value);
  return { values, text: (value) => (Math.abs(value) < step / 2 ? 0 : value).toFixed(decimals) };
}

function valueText(value) {
  const size = Math.abs(value);
  if (value === 0) return "0";
  if (size >= 1e5 || size < 1e-3) return value.toExponential(2);
  return value.toPrecision(4).replace(/(\.\d*?)0+$/, "$1").replace(/\.$/, "");
}

function drawPlot(datapack, bySeries) {
  const width = 600, height = 180, left = 56, right = 12, top = 8, bottom = 36;
  const figure = element("figure", "nrp-plot");
  figure.append(element("figcaption", "", datapack));
  let tMin = Infinity, tMax = -Infinity, vMin = Infinity, vMax = -Infinity;
  for (const { t, v } of Object.values(bySeries)) {
    for (const x of t) { tMin = Math.min(tMin, x); tMax = Math.max(tMax, x); }
    for (const y of v) { vMin = Math.min(vMin, y); vMax = Math.max(vMax, y); }
  }
  if (!Number.isFinite(tMin)) return figure;
  if (tMax - tMin < 1e-6) tMax = tMin + 1;
  if (vMax - vMin < 1e-9) { vMax += 0.5; vMin -= 0.5; }
  const x = (t) => left + ((t - tMin) / (tMax - tMin)) * (width - left - right);
  const y = (v) => top + (1 - (v - vMin) / (vMax - vMin)) * (height - top - bottom);
  const svg = svgElement("svg", { viewBox: `0 0 ${width} ${height}`, class: "nrp-plot-area" });
  svg.append(svgElement("rect", { x: left, y: top, width: width - left - right, height: height - top - bottom,
                                   class: "nrp-plot-frame" }));
  const label = (text, attributes) => { const node = svgElement("text", attributes); node.textContent = text; return node; };
  const xTicks = ticks(tMin, tMax, 6), yTicks = ticks(vMin, vMax, 4);
  for (const value of xTicks.values) {
    svg.append(svgElement("line", { x1: x(value), x2: x(value), y1: height - bottom, y2: height - bottom + 4,
                                     class: "nrp-plot-tick" }));
    svg.append(label(xTicks.text(value), { x: x(value), y: height - bottom + 14, "text-anchor": "middle" }));
  }
  for (const value of yTicks.values) {
    svg.append(svgElement("line", { x1: left, x2: width - right, y1: y(value), y2: y(value), class: "nrp-plot-grid" }));
    svg.append(label(yTicks.text(value), { x: left - 4, y: y(value) + 3, "text-anchor": "end" }));
  }
  svg.append(label("simulation time (s)", { x: (left + width - right) / 2, y: height - 4, "text-anchor": "middle",
                                             class: "nrp-plot-axis" }));
  const legend = element("div", "nrp-legend");
  Object.entries(bySeries).forEach(([name, { t, v }], index) => {
    const color = PALETTE[index % PALETTE.length];
    const points = t.map((time, i) => `${x(time).toFixed(1)},${y(v[i]).toFixed(1)}`).join(" ");
    svg.append(svgElement("polyline", { points, fill: "none", stroke: color, "stroke-width": 1.5 }));
    // A lone sample makes no line: a dot shows it.
    if (t.length === 1) svg.append(svgElement("circle", { cx: x(t[0]), cy: y(v[0]), r: 3, fill: color }));
    const key = element("span", "nrp-legend-key", `${name} = ${v.length ? valueText(v[v.length - 1]) : "–"}`);
    key.style.setProperty("--nrp-series-color", color);
    legend.append(key);
  });
  figure.append(svg, legend);
  return figure;
}

function drawImage(datapack, image) {
  const figure = element("figure", "nrp-image");
  figure.append(element("figcaption", "", `${datapack} (${image.width}×${image.height} ${image.encoding})`));
  const canvas = element("canvas");
  canvas.width = image.width;
  canvas.height = image.height;
  const raw = atob(image.data);
  const channels = image.encoding === "rgb8" ? 3 : 1;
  const pixels = new ImageData(image.width, image.height);
  for (let p = 0; p < image.width * image.height; p++) {
    const r = raw.charCodeAt(p * channels);
    pixels.data[p * 4] = r;
    pixels.data[p * 4 + 1] = channels === 3 ? raw.charCodeAt(p * 3 + 1) : r;
    pixels.data[p * 4 + 2] = channels === 3 ? raw.charCodeAt(p * 3 + 2) : r;
    pixels.data[p * 4 + 3] = 255;
  }
  canvas.getContext("2d").putImageData(pixels, 0, 0);
  // Whole multiples of the image's pixels, so that a small camera image is readable and sharp.
  const scale = Math.max(1, Math.min(Math.ceil(IMAGE_MIN_WIDTH / image.width), Math.floor(IMAGE_MAX_WIDTH / image.width)));
  canvas.style.width = `${image.width * scale}px`;
  canvas.style.height = `${image.height * scale}px`;
  figure.append(canvas);
  return figure;
}

function render({ model, el }) {
  const root = element("div", "nrp-panel");
  const head = element("div", "nrp-head");
  const title = element("span", "nrp-title");
  const badge = element("span", "nrp-badge");
  const history = element("span", "nrp-history");
  const link = element("span", "nrp-link");
  head.append(title, badge, history, link);

  const buttons = element("div", "nrp-buttons");
  const values = element("div", "nrp-controls");
  const times = element("div", "nrp-times");
  const bar = element("div", "nrp-progress");
  const fill = element("div", "nrp-progress-fill");
  bar.append(fill);
  const task = element("div", "nrp-task");
  const notice = element("div", "nrp-notice");
  const error = element("div", "nrp-error");
  const plots = element("div", "nrp-plots");
  const images = element("div", "nrp-images");
  const logs = element("details", "nrp-logs");
  const logsSummary = element("summary", "", "Logs");
  const logsBody = element("div", "nrp-logs-body");
  logs.append(logsSummary, logsBody);
  root.append(head, buttons, values, times, bar, task, notice, error, plots, images, logs);
  el.append(root);

  function drawHead() {
    const experiment = model.get("experiment_id");
    title.textContent = `Simulation ${model.get("simulation_id")}${experiment ? ` · ${experiment}` : ""}`;
    const state = model.get("state");
    badge.textContent = state || "connecting…";
    badge.className = `nrp-badge nrp-state-${state || "unknown"}`;
    // Every state seen, the current one last: a pause and resume between two writes still show.
    const seen = model.get("history") || [];
    history.textContent = seen.length > 1 ? `History: ${seen.slice(-HISTORY_SHOWN).join(" → ")}` : "";
    history.title = seen.join(" → ");
    const linkState = model.get("link");
    link.textContent = LINK_TEXT[linkState] ?? linkState;
    link.className = `nrp-link nrp-link-${linkState}`;
  }

  // The controls are drawn from the `controls` trait: whatever Python lists, in its order.
  // Buttons go in one row; value controls (kind slider, toggle, number: steering, a replay's
  // position and speed) each in a row of their own below, updated in place, so that a value
  // pushed while the user holds a slider does not take it from under the pointer.
  let countdown = null;
  let valueRows = new Map();
  function sendValue(control, value) {
    model.send({ action: control.action, ...(control.control !== undefined ? { control: control.control } : {}),
                 value });
  }
  function drawButton(control) {
    const button = element("button", `nrp-button nrp-action-${control.action}`, control.label);
    button.disabled = !control.enabled;
    if (!control.input) {
      button.addEventListener("click", () => model.send({ action: control.action }));
    } else {
      // A button with a number beside it (Step N): the number goes with the click.
      const input = element("input", "nrp-button-input");
      Object.assign(input, { type: "number", min: control.input.min, value: control.input.value, step: 1 });
      input.title = control.input.label;
      input.disabled = !control.enabled;
      button.addEventListener("click", () => model.send({ action: control.action, value: Number(input.value) }));
      const group = element("span", "nrp-button-group");
      group.append(button, input);
      return group;
    }
    if (control.seconds > 0) {
      // An action waiting out its undo window: the time left shows on the button.
      const ends = Date.now() + control.seconds * 1000;
      const tick = () => {
        const left = Math.max(0, Math.ceil((ends - Date.now()) / 1000));
        button.textContent = `${control.label} (${left} s)`;
      };
      tick();
      countdown = setInterval(tick, 250);
      button.title = "Click to take it back before it is sent";
    }
    return button;
  }
  function valueRow(control) {
    const row = element("label", `nrp-control nrp-control-${control.kind}`);
    const input = element("input", "nrp-control-input");
    input.type = { slider: "range", toggle: "checkbox", number: "number" }[control.kind];
    const shown = element("span", "nrp-control-value");
    const note = element("span", "nrp-control-note");
    row.append(element("span", "nrp-control-label", control.label), input, shown, note);
    // Sent when the user lets go (change), not on every pixel of a drag.
    input.addEventListener("change", () => sendValue(row.current,
      row.current.kind === "toggle" ? input.checked : Number(input.value)));
    input.addEventListener("input", () => { shown.textContent = input.value; });
    return Object.assign(row, { input, shown, note });
  }
  function updateRow(row, control) {
    row.current = control;
    const { input } = row;
    input.disabled = !control.enabled;
    if (control.kind !== "toggle") {
      if (control.min !== undefined) input.min = control.min;
      if (control.max !== undefined) input.max = control.max;
      input.step = control.step ?? "any";
    }
    if (document.activeElement !== input || control.kind === "toggle") {
      if (control.kind === "toggle") input.checked = Boolean(control.value);
      else input.value = control.value;
      row.shown.textContent = control.kind === "toggle" ? "" : String(control.value);
    }
    row.note.textContent = control.note || "";
    row.dataset.key = `${control.action}:${control.control ?? ""}`;
  }
  function drawControls() {
    clearInterval(countdown);
    const listed = model.get("controls");
    buttons.replaceChildren(...listed.filter((control) => !control.kind || control.kind === "button").map(drawButton));
    const rows = new Map();
    for (const control of listed.filter((c) => c.kind && c.kind !== "button")) {
      const key = `${control.action}:${control.control ?? ""}:${control.kind}`;
      const row = valueRows.get(key) || valueRow(control);
      updateRow(row, control);
      rows.set(key, row);
    }
    valueRows = rows;
    values.replaceChildren(...rows.values());
    const steeredAt = model.get("steered_at");
    values.title = steeredAt >= 0 ? `The last change took effect at simulation time ${steeredAt.toFixed(3)} s` : "";
  }

  function drawTimes() {
    times.replaceChildren(...[
      ["Simulation time", model.get("sim_time"), "The simulation's own clock"],
      ["Wall time since start", model.get("wall_time"), "The wall clock since the simulation was started, pauses included"],
      ["Time in run_loop", model.get("real_time"), "NRP's realTime: the wall time spent stepping the simulation (inside nrp.run_loop)"],
      ["Simulation time left", model.get("time_left"), "Until the experiment's SimulationTimeout"],
    ].flatMap(([name, seconds, help], index) => {
      const item = element("span", "nrp-time");
      item.title = help;
      item.append(element("span", "nrp-time-name", `${name} `), element("span", "nrp-time-value", clock(seconds)));
      return index ? [element("span", "nrp-time-separator", " · "), item] : [item];
    }));
    const progress = model.get("progress");
    bar.classList.toggle("nrp-unknown", progress < 0);
    fill.style.width = `${Math.round(Math.max(0, progress) * 1000) / 10}%`;
  }

  function drawMessages() {
    task.textContent = model.get("task");
    notice.textContent = model.get("notice");
    const failure = model.get("error");
    error.replaceChildren();
    error.hidden = !failure || !failure.msg;
    if (error.hidden) return;
    error.append(element("strong", "", `${failure.error_type || "Runtime"} error: `), element("span", "", failure.msg));
    if (failure.fileName) {
      const where = failure.line_number > 0 ? `${failure.fileName}, line ${failure.line_number}` : failure.fileName;
      error.append(element("div", "nrp-error-where", where));
    }
    if (failure.line_text) error.append(element("pre", "nrp-error-line", failure.line_text));
  }

  function drawLogs() {
    const files = model.get("log_files");
    logsSummary.textContent = `Logs (${files.length} file${files.length === 1 ? "" : "s"})`;
    logsBody.replaceChildren(...files.map(({ name, lines }) => {
      const block = element("div", "nrp-log");
      block.append(element("div", "nrp-log-name", name));
      const text = element("pre", "nrp-log-text", lines);
      block.append(text);
      return block;
    }));
    for (const text of logsBody.querySelectorAll("pre")) text.scrollTop = text.scrollHeight;
  }

  function drawPlots() {
    plots.replaceChildren(...Object.entries(model.get("series")).map(([name, bySeries]) => drawPlot(name, bySeries)));
  }

  function drawImages() {
    images.replaceChildren(...Object.entries(model.get("images")).map(([name, image]) => drawImage(name, image)));
  }

  const drawers = {
    "change:simulation_id change:experiment_id change:state change:history change:link": drawHead,
    "change:controls change:steered_at": drawControls,
    "change:sim_time change:real_time change:wall_time change:time_left change:progress": drawTimes,
    "change:task change:notice change:error": drawMessages,
    "change:log_files": drawLogs,
    "change:series": drawPlots,
    "change:images": drawImages,
  };
  for (const [events, draw] of Object.entries(drawers)) {
    model.on(events, draw);
    draw();
  }
  return () => {
    clearInterval(countdown);
    for (const [events, draw] of Object.entries(drawers)) model.off(events, draw);
  };
}

export default { render };
