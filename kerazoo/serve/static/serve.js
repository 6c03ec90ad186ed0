// The page of `kerazoo serve`: reads the model's card, shows the panel its task needs and
// talks to the same JSON API a client uses (POST /v1/models/NAME:predict). No framework,
// no build step; server data is only ever set as text, never as HTML.
"use strict";

const $ = (id) => document.getElementById(id);
const SCALE = 10; // canvas pixels per model pixel
let card = null;

function showError(message) {
  const box = $("error");
  box.textContent = message || "";
  box.hidden = !message;
}

async function api(path, options) {
  const response = await fetch(path, options);
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(body.error || `${response.status} ${response.statusText}`);
  return body;
}

function predict(instance) {
  return api(card.predict, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ instances: [instance] }),
  }).then((body) => body.predictions[0]);
}

// --- results: the top classes as bars --------------------------------------------------

function ranked(probabilities) {
  let p = Array.isArray(probabilities) ? probabilities : [probabilities];
  if (p.length === 1) p = [1 - p[0], p[0]]; // one sigmoid unit: P(class 1)
  const names = card.class_names || p.map((_, i) => String(i));
  return p
    .map((probability, i) => ({ label: names[i] ?? String(i), probability }))
    .sort((a, b) => b.probability - a.probability);
}

function showResult(rows, seq) {
  const result = $("result");
  result.hidden = false;
  $("top-label").textContent = rows[0].label;
  $("top-prob").textContent = `(${(100 * rows[0].probability).toFixed(1)}%)`;
  const bars = $("bars");
  bars.replaceChildren();
  for (const row of rows.slice(0, 5)) {
    const item = document.createElement("li");
    const name = document.createElement("span");
    name.className = "bar-label";
    name.textContent = row.label;
    const track = document.createElement("span");
    track.className = "bar-track";
    const bar = document.createElement("span");
    bar.className = "bar";
    bar.style.width = `${Math.max(0.5, 100 * row.probability).toFixed(1)}%`;
    track.append(bar);
    const value = document.createElement("span");
    value.className = "bar-value";
    value.textContent = `${(100 * row.probability).toFixed(1)}%`;
    item.append(name, track, value);
    bars.append(item);
  }
  result.dataset.seq = String(seq);
  result.dataset.state = "done";
}

// One request at a time; a change while one is in flight sends the newest input after it.
function liveUpdater(read) {
  let seq = 0, busy = false, dirty = false;
  async function send() {
    if (busy) { dirty = true; return; }
    const instance = read();
    if (instance === null) return;
    busy = true; dirty = false;
    const mine = ++seq;
    $("result").dataset.state = "busy";
    try {
      showResult(ranked(await predict(instance)), mine);
      showError("");
    } catch (err) {
      $("result").dataset.state = "error";
      showError(err.message);
    } finally {
      busy = false;
      if (dirty) send();
    }
  }
  return send;
}

// --- image classifiers: a canvas to draw on ----------------------------------------------

function setUpImage() {
  const [height, width] = card.input.size;
  const channels = card.input.shape[card.input.shape.length - 1];
  const canvas = $("draw"), seen = $("seen");
  canvas.width = width * SCALE; canvas.height = height * SCALE;
  seen.width = width; seen.height = height;
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  function clear() {
    ctx.fillStyle = "#000";
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    seen.getContext("2d").clearRect(0, 0, width, height);
    $("result").hidden = true;
  }
  clear();

  // The drawing at the model's size: the mean of each SCALE x SCALE block (a box filter,
  // as antialiased shrinking does), light strokes on black like the training images.
  function instance() {
    const data = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
    const small = seen.getContext("2d").createImageData(width, height);
    const rows = [];
    let ink = 0;
    for (let y = 0; y < height; y++) {
      const row = [];
      for (let x = 0; x < width; x++) {
        let sum = 0;
        for (let dy = 0; dy < SCALE; dy++) {
          for (let dx = 0; dx < SCALE; dx++) {
            const i = 4 * ((y * SCALE + dy) * canvas.width + (x * SCALE + dx));
            sum += (data[i] + data[i + 1] + data[i + 2]) / 3;
          }
        }
        const v = Math.round(sum / (SCALE * SCALE));
        ink += v;
        row.push(new Array(channels).fill(v));
        const j = 4 * (y * width + x);
        small.data[j] = small.data[j + 1] = small.data[j + 2] = v;
        small.data[j + 3] = 255;
      }
      rows.push(row);
    }
    seen.getContext("2d").putImageData(small, 0, 0);
    return ink > 0 ? rows : null; // nothing drawn yet: nothing to ask
  }
  const update = liveUpdater(instance);

  let drawing = false, last = null;
  function point(event) {
    const box = canvas.getBoundingClientRect();
    return [
      ((event.clientX - box.left) * canvas.width) / box.width,
      ((event.clientY - box.top) * canvas.height) / box.height,
    ];
  }
  canvas.addEventListener("pointerdown", (event) => {
    drawing = true;
    last = point(event);
    canvas.setPointerCapture?.(event.pointerId);
    stroke(last);
  });
  canvas.addEventListener("pointermove", (event) => {
    if (!drawing) return;
    stroke(point(event));
  });
  const stop = () => { if (drawing) { drawing = false; last = null; } update(); };
  canvas.addEventListener("pointerup", stop);
  canvas.addEventListener("pointercancel", stop);
  function stroke(to) {
    ctx.strokeStyle = "#fff";
    ctx.lineWidth = 2.2 * SCALE;
    ctx.lineCap = ctx.lineJoin = "round";
    ctx.beginPath();
    ctx.moveTo(...(last || to));
    ctx.lineTo(...to);
    ctx.stroke();
    last = to;
    update();
  }
  $("clear").addEventListener("click", clear);

  $("upload").addEventListener("change", async () => {
    const file = $("upload").files[0];
    if (!file) return;
    const form = new FormData();
    form.append("file", file);
    $("result").dataset.state = "busy";
    try {
      const body = await api("/api/classify", { method: "POST", body: form });
      showResult(body.predictions, Number($("result").dataset.seq) + 1);
      showError("");
    } catch (err) {
      $("result").dataset.state = "error";
      showError(err.message);
    }
    $("upload").value = "";
  });
}

// --- text classifiers ---------------------------------------------------------------------

function setUpText() {
  const box = $("text");
  const update = liveUpdater(() => (box.value.trim() ? box.value : null));
  let timer = null;
  box.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(update, 200);
  });
}

// --- generators ---------------------------------------------------------------------------

function setUpGenerate() {
  const button = $("generate");
  async function generate() {
    button.disabled = true;
    try {
      const body = await api("/api/generate", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ n: 16 }),
      });
      const samples = $("samples");
      samples.replaceChildren();
      for (const url of body.images) {
        const img = document.createElement("img");
        img.src = url;
        img.alt = "generated sample";
        samples.append(img);
      }
      samples.dataset.count = String(body.images.length);
      showError("");
    } catch (err) {
      showError(err.message);
    } finally {
      button.disabled = false;
    }
  }
  button.addEventListener("click", generate);
  generate();
}

// --- forecasters: actual and predicted over the test years, an SVG line plot --------------

async function setUpForecast() {
  if (!card.forecast) {
    showError("The forecast needs the model's dataset, which this server cannot read.");
    return;
  }
  const data = await api(card.forecast);
  const svg = $("plot");
  const ns = "http://www.w3.org/2000/svg";
  const W = 640, H = 320, left = 50, right = 10, top = 10, bottom = 40;
  const all = data.actual.concat(data.predicted);
  const lo = Math.min(0, ...all), hi = Math.max(...all);
  const x = (i) => left + ((W - left - right) * i) / Math.max(1, data.years.length - 1);
  const y = (v) => H - bottom - ((H - top - bottom) * (v - lo)) / (hi - lo || 1);
  const add = (name, attrs, text) => {
    const el = document.createElementNS(ns, name);
    for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
    if (text !== undefined) el.textContent = text;
    svg.append(el);
    return el;
  };
  add("line", { x1: left, y1: H - bottom, x2: W - right, y2: H - bottom, class: "axis" });
  add("line", { x1: left, y1: top, x2: left, y2: H - bottom, class: "axis" });
  for (const v of [lo, (lo + hi) / 2, hi]) {
    add("text", { x: left - 6, y: y(v) + 4, class: "tick", "text-anchor": "end" }, v.toFixed(0));
  }
  const step = Math.max(1, Math.round(data.years.length / 6));
  data.years.forEach((year, i) => {
    if (i % step === 0) add("text", { x: x(i), y: H - bottom + 16, class: "tick", "text-anchor": "middle" }, year);
  });
  const path = (values) => values.map((v, i) => `${i ? "L" : "M"}${x(i).toFixed(1)},${y(v).toFixed(1)}`).join("");
  add("path", { d: path(data.actual), class: "actual" });
  add("path", { d: path(data.predicted), class: "predicted" });
  add("text", { x: W - right - 150, y: top + 12, class: "legend actual-text" }, "actual");
  add("text", { x: W - right - 80, y: top + 12, class: "legend predicted-text" }, "predicted");
}

// --- the card -------------------------------------------------------------------------------

function fact(name, value) {
  if (value === null || value === undefined || value === "") return;
  const dt = document.createElement("dt");
  dt.textContent = name;
  const dd = document.createElement("dd");
  dd.textContent = value;
  $("facts").append(dt, dd);
}

function showCard() {
  $("model-name").textContent = card.name;
  document.title = `${card.name} - kerazoo serve`;
  $("subtitle").textContent = `${card.task} model${card.preset ? " (pretrained preset)" : ""}`;
  fact("model", card.name);
  fact("task", card.task);
  fact("dataset", card.dataset);
  fact("source", card.source);
  if (card.metric) {
    const value = card.metric.name.includes("accuracy")
      ? `${(100 * card.metric.value).toFixed(1)}%`
      : card.metric.value.toFixed(3);
    fact(card.metric.name.replace(/_/g, " "), value);
  }
  fact("takes", card.takes);
  if (card.diagram) {
    $("diagram").src = card.diagram;
    $("diagram-figure").hidden = false;
  }
  const example = card.input.dtype === "string" ? '["a sentence to classify"]' : "[...]";
  $("api-example").textContent =
    `curl -s ${location.origin}${card.predict} \\\n` +
    `  -H 'Content-Type: application/json' \\\n` +
    `  -d '{"instances": ${example}}'\n\n` +
    `GET ${location.origin}/v1/models/${card.name}/metadata`;
}

async function main() {
  try {
    card = await api("/api/card");
  } catch (err) {
    showError(`Cannot read the model card: ${err.message}`);
    return;
  }
  showCard();
  $(`panel-${card.page}`).hidden = false;
  const setUp = { image: setUpImage, text: setUpText, generate: setUpGenerate, forecast: setUpForecast };
  try {
    await setUp[card.page]?.();
  } catch (err) {
    showError(err.message);
  }
  document.body.dataset.ready = "true";
}

main();
