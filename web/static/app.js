// Segue's web page: uploads two clips, asks for a transition, follows it, shows and offers it.
// Plain JS, no build, no network beyond this page's own server (docs/web.md).
"use strict";

const state = { caps: null, a: null, b: null, job: null, events: null, fps: 25, mode: "two" };
const STRIP = 8;
const $ = (id) => document.getElementById(id);

async function api(path, options = {}) {
  const headers = Object.assign({ "X-Segue": "1" }, options.headers || {});
  const response = await fetch(path, Object.assign({}, options, { headers }));
  const body = response.headers.get("Content-Type")?.includes("json") ? await response.json() : {};
  if (!response.ok) throw new Error(body.error || `the server answered ${response.status}`);
  return body;
}

function say(text) {
  const box = $("message");
  box.textContent = text;
  box.hidden = !text;
}

function sizeText(bytes) {
  const units = [["GB", 2 ** 30], ["MB", 2 ** 20], ["KB", 2 ** 10]];
  for (const [unit, scale] of units) if (bytes >= scale) return `${(bytes / scale).toFixed(1)} ${unit}`;
  return `${bytes} bytes`;
}

// -- clips ------------------------------------------------------------------------------

function showClip(side, clip) {
  state[side] = clip;
  const info = $(`info-${side}`);
  info.replaceChildren();
  if (clip) {
    const rows = [["File", clip.name], ["Size", `${clip.width} x ${clip.height}`],
      ["Frames", clip.fps ? `${clip.frames} at ${clip.fps} fps (${clip.duration} s)` : `${clip.frames} (still)`],
      ["Colourspace", clip.colorspace || "unknown"]];
    for (const [term, value] of rows) {
      const dt = document.createElement("dt");
      dt.textContent = term;
      const dd = document.createElement("dd");
      dd.textContent = value;
      info.append(dt, dd);
    }
  }
  info.hidden = !clip;
  $(`clear-${side}`).hidden = !clip;
  if (side === "a") scrubber();
  canRender();
}

function ready() { return state.mode === "one" ? Boolean(state.a) : Boolean(state.a && state.b); }
function canRender() { $("render").disabled = !ready() || Boolean(state.events); }

// -- one clip: where the cut goes --------------------------------------------------------

function frameUrl(clip, k) { return `/api/uploads/${clip.id}/frames/${k}.png`; }

function scrubber() {
  const clip = state.a;
  const box = $("scrubber");
  box.hidden = state.mode !== "one" || !clip || clip.frames < 3;
  if (box.hidden) return;
  const strip = $("strip");
  strip.replaceChildren();
  for (let i = 0; i < STRIP; i++) {
    const k = Math.round(i * (clip.frames - 1) / (STRIP - 1));
    const item = document.createElement("li");
    const img = document.createElement("img");
    img.src = frameUrl(clip, k);
    img.alt = `Frame ${k}`;
    const label = document.createElement("span");
    label.textContent = String(k);
    item.append(img, label);
    strip.append(item);
  }
  for (const id of ["cut-out", "cut-in"]) $(id).max = clip.frames - 1;
  $("cut-out").value = Math.floor((clip.frames - 1) * 0.4);
  $("cut-in").value = Math.ceil((clip.frames - 1) * 0.6);
  point("out");
  point("in");
}

function point(which) {
  const clip = state.a;
  if (!clip) return;
  const out = $("cut-out"), into = $("cut-in");
  // the cut goes forward: the first frame after it comes after the last frame before it
  if (Number(out.value) >= Number(into.value)) {
    if (which === "out") into.value = Math.min(clip.frames - 1, Number(out.value) + 1);
    else out.value = Math.max(0, Number(into.value) - 1);
  }
  for (const [input, side] of [[out, "out"], [into, "in"]]) {
    const k = Number(input.value);
    const seconds = clip.fps ? ` (${(k / parseFloat(clip.fps)).toFixed(2)} s)` : "";
    $(`cut-${side}-at`).textContent = `frame ${k}${seconds}`;
    $(`${side}-img`).src = frameUrl(clip, k);
  }
}

function setMode(mode) {
  state.mode = mode;
  $("drop-b").hidden = mode === "one";
  $("label-a").firstElementChild.textContent = mode === "one" ? "The clip" : "Clip A";
  scrubber();
  canRender();
}

function upload(side, file, done = (body) => showClip(side, body)) {
  say("");
  const limit = state.caps ? state.caps.max_upload_bytes : Infinity;
  if (file.size > limit) {
    say(`${file.name} is ${sizeText(file.size)}; this page takes files up to ${sizeText(limit)}.`);
    return;
  }
  const bar = $(`upload-${side}`);
  bar.hidden = false;
  bar.value = 0;
  const request = new XMLHttpRequest();
  request.open("POST", `/api/uploads?name=${encodeURIComponent(file.name)}`);
  request.setRequestHeader("X-Segue", "1");
  request.setRequestHeader("Content-Type", "application/octet-stream");
  request.upload.onprogress = (e) => { if (e.lengthComputable) bar.value = e.loaded / e.total; };
  request.onload = () => {
    bar.hidden = true;
    let body = {};
    try { body = JSON.parse(request.responseText); } catch (e) { body = {}; }
    if (request.status === 201) done(body);
    else say(body.error || `The upload of ${file.name} failed (${request.status}).`);
  };
  request.onerror = () => { bar.hidden = true; say(`The upload of ${file.name} failed: the page's server did not answer.`); };
  request.send(file);
}

function setUpDrop(side) {
  const zone = $(`drop-${side}`);
  const input = $(`file-${side}`);
  input.addEventListener("change", () => { if (input.files.length) upload(side, input.files[0]); input.value = ""; });
  zone.addEventListener("dragover", (e) => { e.preventDefault(); zone.classList.add("over"); });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (e) => {
    e.preventDefault();
    zone.classList.remove("over");
    const files = [...e.dataTransfer.files];
    if (files.length === 2 && side === "a" && state.mode === "two") { upload("a", files[0]); upload("b", files[1]); }
    else if (files.length) upload(side, files[0]);
  });
  $(`clear-${side}`).addEventListener("click", async () => {
    const clip = state[side];
    showClip(side, null);
    if (clip) await api(`/api/uploads/${clip.id}`, { method: "DELETE" }).catch(() => {});
  });
}

// -- rendering --------------------------------------------------------------------------

function progressText(p) {
  if (p.state === "queued") return "Waiting for the render daemon...";
  if (!p.frames_total) return "Starting...";
  let text = `Frame ${p.frames_done} of ${p.frames_total}`;
  if (p.eta !== null && p.eta !== undefined && p.frames_done < p.frames_total) text += `, about ${Math.max(1, Math.round(p.eta))} s left`;
  return text;
}

function addThumb(frame) {
  if (!frame.url || document.querySelector(`#thumbs [data-index="${frame.index}"]`)) return;
  const item = document.createElement("li");
  item.dataset.index = frame.index;
  const img = document.createElement("img");
  img.src = frame.url;
  img.alt = `Frame ${frame.index}`;
  const caption = document.createElement("span");
  caption.textContent = `${frame.index}: ${Math.round(frame.confidence * 100)}%`;
  item.append(img, caption);
  $("thumbs").append(item);
}

function follow(job) {
  state.job = job;
  $("progress-box").hidden = false;
  $("cancel").hidden = false;
  $("render").disabled = true;
  $("thumbs").replaceChildren();
  $("result").hidden = true;
  const events = new EventSource(`/api/jobs/${job.id}/events`);
  state.events = events;
  events.onmessage = async (e) => {
    const p = JSON.parse(e.data);
    if (p.done) {
      if (p.error) say(`${p.error}; the page keeps asking (the browser reconnects by itself).`);
      return;
    }
    $("progress").value = p.frames_total ? p.frames_done / p.frames_total : 0;
    $("progress-text").textContent = progressText(p);
    if (p.frame) addThumb(p.frame);
    if (["succeeded", "failed", "cancelled"].includes(p.state) && !p.frame) {
      events.close();
      state.events = null;
      $("cancel").hidden = true;
      canRender();
      if (p.state === "succeeded") {
        $("progress-text").textContent = "Done.";
        show(await api(`/api/jobs/${job.id}`));
      } else if (p.state === "cancelled") {
        $("progress-text").textContent = "Cancelled.";
      } else {
        say(`The render failed: ${p.error || "the daemon gave no reason"}`);
      }
      loadHistory();
    }
  };
  events.onerror = () => {
    if (state.events === events && events.readyState === EventSource.CLOSED) {
      state.events = null;
      say("Lost the connection to the page's server; reload to see how the transition ended.");
    }
  };
}

async function render(e) {
  e.preventDefault();
  say("");
  const form = new FormData($("settings"));
  const body = { a: state.a.id, b: state.mode === "one" ? state.a.id : state.b.id, frames: Number(form.get("frames")),
    placement: form.get("placement"), model: form.get("model"), movie: form.get("movie") };
  if (state.mode === "one") {
    body.a_end = Number($("cut-out").value);
    body.b_start = Number($("cut-in").value);
  }
  try {
    follow(await api("/api/jobs", { method: "POST", body: JSON.stringify(body),
      headers: { "Content-Type": "application/json" } }));
  } catch (err) {
    say(err.message);
  }
}

async function cancel() {
  if (!state.job) return;
  $("cancel").disabled = true;
  try { await api(`/api/jobs/${state.job.id}/cancel`, { method: "POST" }); }
  catch (err) { say(err.message); }
  finally { $("cancel").disabled = false; }
}

// -- the result -------------------------------------------------------------------------

function videos() { return [$("video-segue"), $("video-dissolve")]; }

function show(job) {
  const report = job.report || {};
  const previews = report.previews || {};
  state.fps = parseFloat(report.fps) || 25;
  $("result").hidden = false;
  $("result-names").textContent = `${describeCut(job)}: ${job.frames} frames, ${job.placement === "bridge" ? "bridging" : "centred on the cut"}`;
  const [segue, dissolve] = videos();
  segue.src = previews.movie || "";
  dissolve.src = previews.dissolve || "";
  for (const v of videos()) v.play().catch(() => {});
  $("play").textContent = "Pause";
  $("caution").textContent = report.caution || "";
  $("caution").hidden = !report.caution;
  const rows = $("metrics");
  rows.replaceChildren();
  for (const f of job.frame_list) {
    const tr = document.createElement("tr");
    for (const value of [f.index, Number(f.t).toFixed(3), `${Math.round(f.confidence * 100)}%`]) {
      const td = document.createElement("td");
      td.textContent = value;
      tr.append(td);
    }
    tr.tabIndex = 0;
    tr.title = "Look closer at this frame";
    const pick = () => { $("closer-frame").value = String(f.index); closer(); };
    tr.addEventListener("click", pick);
    tr.addEventListener("keydown", (e) => { if (e.key === "Enter") pick(); });
    rows.append(tr);
  }
  const choose = $("closer-frame");
  choose.replaceChildren();
  for (const f of job.frame_list) {
    const option = document.createElement("option");
    option.value = f.index;
    option.textContent = `${f.index} (t = ${Number(f.t).toFixed(3)}, ${Math.round(f.confidence * 100)}%)`;
    choose.append(option);
  }
  $("download-zip").href = job.downloads.zip || "#";
  $("download-movie").href = job.downloads.movie || "#";
  $("download-movie").hidden = !job.downloads.movie;
  $("download-movie").textContent = (job.downloads.movie || "").endsWith(".mov")
    ? "Download the movie (ProRes, .mov)" : "Download the movie (H.264, .mp4)";
  $("contact-sheet").href = previews.contact_sheet || "#";
  $("contact-sheet").hidden = !previews.contact_sheet;
  state.shown = job;
  $("truth-table").hidden = true;
  closer();
}

function closer() {
  const job = state.shown;
  if (!job) return;
  const frame = job.frame_list.find((f) => String(f.index) === $("closer-frame").value) || job.frame_list[0];
  const view = document.querySelector("input[name='closer-view']:checked").value;
  const sources = { frame: frame && frame.url, flow: job.report && job.report.flow,
    confidence: frame && frame.confidence_map };
  const labels = { frame: "Frame", flow: "Flow field from A to B", confidence: "Confidence map of frame" };
  const image = $("closer-image");
  image.src = sources[view] || "";
  image.hidden = !sources[view];
  image.alt = `${labels[view]}${view === "flow" ? "" : ` ${frame ? frame.index : ""}`}`;
}

function describeCut(job) {
  if (job.a.id === job.b.id) return `${job.a.name}, cut from frame ${job.a_end} to frame ${job.b_start}`;
  return `${job.a.name} into ${job.b.name}`;
}

function togglePlay() {
  const [segue] = videos();
  const playing = !segue.paused;
  for (const v of videos()) { if (playing) v.pause(); else v.play().catch(() => {}); }
  $("play").textContent = playing ? "Play" : "Pause";
}

function step(direction) {
  const [segue] = videos();
  for (const v of videos()) v.pause();
  $("play").textContent = "Play";
  const frame = Math.max(0, Math.round(segue.currentTime * state.fps) + direction);
  for (const v of videos()) v.currentTime = (frame + 0.5) / state.fps;
  $("frame-at").textContent = `Preview frame ${frame + 1}`;
}

async function compareTruth(clip) {
  const job = state.shown;
  if (!job) return;
  try {
    const scores = await api(`/api/jobs/${job.id}/truth`, { method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ truth: clip.id, first: Number($("truth-first").value) }) });
    const rows = $("truth-rows");
    rows.replaceChildren();
    const line = (label, r) => {
      const tr = document.createElement("tr");
      for (const value of [label, `${r.psnr.toFixed(2)} dB`, r.ssim.toFixed(4), `${r.dissolve_psnr.toFixed(2)} dB`,
        r.dissolve_ssim.toFixed(4)]) {
        const td = document.createElement("td");
        td.textContent = value;
        tr.append(td);
      }
      rows.append(tr);
      return tr;
    };
    for (const f of scores.frames) line(String(f.index), f);
    line("mean", scores.mean).className = "mean";
    $("truth-table").hidden = false;
  } catch (err) {
    say(err.message);
  } finally {
    api(`/api/uploads/${clip.id}`, { method: "DELETE" }).catch(() => {});
  }
}

// -- history ----------------------------------------------------------------------------

async function loadHistory() {
  let jobs = [];
  try { jobs = (await api("/api/jobs")).jobs; } catch (err) { say(err.message); return; }
  const list = $("history");
  list.replaceChildren();
  $("history-empty").hidden = jobs.length > 0;
  for (const job of jobs) {
    const item = document.createElement("li");
    const first = job.frame_list[0];
    if (first && first.url) {
      const img = document.createElement("img");
      img.src = first.url;
      img.alt = "";
      item.append(img);
    }
    const text = document.createElement("span");
    const when = new Date(job.created * 1000).toLocaleString();
    text.textContent = `${describeCut(job)}, ${job.frames} frames: ${job.state} (${when})`;
    item.append(text);
    if (job.state === "succeeded") {
      const open = document.createElement("button");
      open.type = "button";
      open.textContent = "Show";
      open.addEventListener("click", () => show(job));
      item.append(open);
    }
    const remove = document.createElement("button");
    remove.type = "button";
    remove.className = "secondary";
    remove.textContent = "Delete";
    remove.setAttribute("aria-label", `Delete ${describeCut(job)}`);
    remove.addEventListener("click", async () => {
      try { await api(`/api/jobs/${job.id}`, { method: "DELETE" }); } catch (err) { say(err.message); }
      if (state.shown && state.shown.id === job.id) $("result").hidden = true;
      loadHistory();
    });
    item.append(remove);
    item.dataset.job = job.id;
    item.dataset.state = job.state;
    list.append(item);
  }
}

// -- start ------------------------------------------------------------------------------

async function start() {
  setUpDrop("a");
  setUpDrop("b");
  $("settings").addEventListener("submit", render);
  $("cancel").addEventListener("click", cancel);
  $("play").addEventListener("click", togglePlay);
  $("step-back").addEventListener("click", () => step(-1));
  $("step-on").addEventListener("click", () => step(1));
  $("closer-frame").addEventListener("change", closer);
  for (const radio of document.querySelectorAll("input[name='mode']")) radio.addEventListener("change", () => setMode(radio.value));
  $("cut-out").addEventListener("input", () => point("out"));
  $("cut-in").addEventListener("input", () => point("in"));
  $("file-truth").addEventListener("change", () => {
    const input = $("file-truth");
    if (input.files.length) upload("truth", input.files[0], compareTruth);
    input.value = "";
  });
  for (const radio of document.querySelectorAll("input[name='closer-view']")) radio.addEventListener("change", closer);
  try {
    state.caps = await api("/api/capabilities");
    const frames = $("frames");
    frames.max = state.caps.max_frames;
    frames.value = state.caps.default_frames;
    for (const name of state.caps.models) {
      const option = document.createElement("option");
      option.value = name;
      option.textContent = name === "auto" ? "Automatic" : name === "classic" ? "Fast (classic)" : name;
      $("model").append(option);
    }
  } catch (err) {
    say(`Segue's render daemon is not answering: ${err.message}`);
  }
  await loadHistory();
  document.body.dataset.ready = "1";
}

document.addEventListener("DOMContentLoaded", start);
