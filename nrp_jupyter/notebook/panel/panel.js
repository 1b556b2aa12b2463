// The control panel's front end: a plain ES module for anywidget, no build step, no library.
// It only draws the model's traits and sends {action} messages; every decision (which buttons
// are enabled, what the state is) is made in Python, so all panels on a simulation agree.

const PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"];
const SVG = "http://www.w3.org/2000/svg";
// Stop cannot be undone: the first click arms it, a second one within this time sends it.
const STOP_CONFIRM_MS = 3000;
// How many earlier states the head shows; the whole history is in its tooltip.
const HISTORY_SHOWN = 5;

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

function shortNumber(value) {
  if (value === 0) return "0";
  const size = Math.abs(value);
  return size >= 1e4 || size < 1e-2 ? value.toExponential(2) : value.toPrecision(4).replace(/\.?0+$/, "");
}

function drawPlot(datapack, bySeries) {
  const width = 600, height = 160, left = 56, right = 8, top = 8, bottom = 20;
  const figure = element("figure", "nrp-plot");
  figure.append(element("figcaption", "", datapack));
  let tMin = Infinity, tMax = -Infinity, vMin = Infinity, vMax = -Infinity;
  for (const { t, v } of Object.values(bySeries)) {
    for (const x of t) { tMin = Math.min(tMin, x); tMax = Math.max(tMax, x); }
    for (const y of v) { vMin = Math.min(vMin, y); vMax = Math.max(vMax, y); }
  }
  if (!Number.isFinite(tMin)) return figure;
  if (tMax === tMin) tMax = tMin + 1;
  if (vMax === vMin) { vMax += 0.5; vMin -= 0.5; }
  const x = (t) => left + ((t - tMin) / (tMax - tMin)) * (width - left - right);
  const y = (v) => top + (1 - (v - vMin) / (vMax - vMin)) * (height - top - bottom);
  const svg = svgElement("svg", { viewBox: `0 0 ${width} ${height}`, class: "nrp-plot-area" });
  svg.append(svgElement("rect", { x: left, y: top, width: width - left - right, height: height - top - bottom,
                                   class: "nrp-plot-frame" }));
  const label = (text, attributes) => { const node = svgElement("text", attributes); node.textContent = text; return node; };
  svg.append(label(shortNumber(vMax), { x: left - 4, y: top + 10, "text-anchor": "end" }));
  svg.append(label(shortNumber(vMin), { x: left - 4, y: height - bottom, "text-anchor": "end" }));
  svg.append(label(`${shortNumber(tMin)} s`, { x: left, y: height - 4, "text-anchor": "start" }));
  svg.append(label(`${shortNumber(tMax)} s`, { x: width - right, y: height - 4, "text-anchor": "end" }));
  const legend = element("div", "nrp-legend");
  Object.entries(bySeries).forEach(([name, { t, v }], index) => {
    const color = PALETTE[index % PALETTE.length];
    const points = t.map((time, i) => `${x(time).toFixed(1)},${y(v[i]).toFixed(1)}`).join(" ");
    svg.append(svgElement("polyline", { points, fill: "none", stroke: color, "stroke-width": 1.5 }));
    const key = element("span", "nrp-legend-key", `${name} = ${v.length ? shortNumber(v[v.length - 1]) : "–"}`);
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
  const run = element("button", "nrp-button", "Start");
  const pause = element("button", "nrp-button", "Pause");
  const stop = element("button", "nrp-button nrp-stop", "Stop");
  buttons.append(run, pause, stop);

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
  root.append(head, buttons, times, bar, task, notice, error, plots, images, logs);
  el.append(root);

  let stopArmedUntil = 0;
  const send = (action) => model.send({ action });
  run.addEventListener("click", () => send(model.get("actions").includes("resume") ? "resume" : "start"));
  pause.addEventListener("click", () => send("pause"));
  stop.addEventListener("click", () => {
    if (Date.now() < stopArmedUntil) { stopArmedUntil = 0; send("stop"); drawButtons(); return; }
    stopArmedUntil = Date.now() + STOP_CONFIRM_MS;
    drawButtons();
    setTimeout(drawButtons, STOP_CONFIRM_MS + 50);
  });

  function drawHead() {
    const experiment = model.get("experiment_id");
    title.textContent = `Simulation ${model.get("simulation_id")}${experiment ? ` · ${experiment}` : ""}`;
    const state = model.get("state") || "unknown";
    badge.textContent = state;
    badge.className = `nrp-badge nrp-state-${state}`;
    // The states before this one, newest last: a pause and resume between two writes still show.
    const seen = model.get("history") || [];
    history.textContent = seen.slice(-HISTORY_SHOWN - 1, -1).join(" → ");
    history.title = seen.join(" → ");
    link.textContent = model.get("connected") ? "live" : "offline";
    link.className = `nrp-link ${model.get("connected") ? "nrp-live" : "nrp-offline"}`;
  }

  function drawButtons() {
    const actions = model.get("actions");
    const pending = model.get("pending");
    run.textContent = actions.includes("resume") ? "Resume" : "Start";
    run.disabled = Boolean(pending) || !(actions.includes("start") || actions.includes("resume"));
    pause.disabled = Boolean(pending) || !actions.includes("pause");
    stop.disabled = Boolean(pending) || !actions.includes("stop");
    const armed = Date.now() < stopArmedUntil && !stop.disabled;
    stop.textContent = pending === "stop" ? "Stopping…" : armed ? "Confirm stop" : "Stop";
    stop.classList.toggle("nrp-armed", armed);
  }

  function drawTimes() {
    times.textContent = `Simulation time ${clock(model.get("sim_time"))} · Real time ${clock(model.get("real_time"))}`
      + ` · Time left ${clock(model.get("time_left"))}`;
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
    "change:simulation_id change:experiment_id change:state change:history change:connected": drawHead,
    "change:actions change:pending": drawButtons,
    "change:sim_time change:real_time change:time_left change:progress": drawTimes,
    "change:task change:notice change:error": drawMessages,
    "change:log_files": drawLogs,
    "change:series": drawPlots,
    "change:images": drawImages,
  };
  for (const [events, draw] of Object.entries(drawers)) {
    model.on(events, draw);
    draw();
  }
  return () => { for (const [events, draw] of Object.entries(drawers)) model.off(events, draw); };
}

export default { render };
