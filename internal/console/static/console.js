// imgup console: resumable uploads and the live view of a job. No library, no build
// step: this file is served as it is from the imgup binary.
"use strict";

const csrf = () => document.querySelector('meta[name="csrf-token"]').content;

// The page's texts in its language (the server puts them in #i18n); tf fills each %s.
const texts = (() => { try { return JSON.parse(document.getElementById("i18n").textContent); } catch (e) { return {}; } })();
function tf(format, ...args) {
  let i = 0;
  return (texts[format] || format).replace(/%s/g, () => String(args[i++]));
}

function human(n) {
  if (n < 1000) return n + " B";
  const u = "kMGTPE"; let i = -1;
  do { n /= 1000; i++; } while (n >= 1000 && i < u.length - 1);
  return n.toFixed(1) + " " + u[i] + "B";
}
function duration(s) {
  if (!isFinite(s) || s < 0) return "–";
  s = Math.round(s);
  if (s < 60) return s + " s";
  if (s < 3600) return Math.floor(s / 60) + " min " + (s % 60) + " s";
  return Math.floor(s / 3600) + " h " + Math.floor((s % 3600) / 60) + " min";
}
function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

// ---- uploads ----
class Upload {
  constructor(file, chunk, box) {
    this.file = file; this.chunk = chunk;
    this.row = el("div", "upload");
    this.row.dataset.name = file.name;
    this.title = el("div", "name", file.name + " (" + human(file.size) + ")");
    this.bar = el("progress"); this.bar.max = file.size; this.bar.value = 0;
    this.info = el("div", "info", tf("starting…"));
    this.actions = el("div", "actions");
    this.row.append(this.title, this.bar, this.info, this.actions);
    box.prepend(this.row);
  }
  url(extra) { return "/api/upload?name=" + encodeURIComponent(this.file.name) + (extra || ""); }
  async run() {
    this.actions.replaceChildren();
    this.row.classList.remove("broken");
    let off;
    try {
      const r = await fetch(this.url(), { credentials: "same-origin" });
      const st = await r.json();
      if (!r.ok) return this.fail(st.error || r.statusText, false);
      if (st.done) return this.fail(tf("image/%s is already on the server", this.file.name), false);
      off = st.offset;
    } catch (e) { return this.fail(tf("the connection broke: %s", e.message), true); }
    if (off > 0) this.info.textContent = tf("resuming at %s", human(off));
    const start = performance.now(), startOff = off;
    while (true) {
      const end = Math.min(off + this.chunk, this.file.size);
      let r, st;
      try {
        r = await fetch(this.url("&size=" + this.file.size + "&offset=" + off), {
          method: "PUT", credentials: "same-origin",
          headers: { "X-CSRF-Token": csrf(), "Content-Type": "application/octet-stream" },
          body: this.file.slice(off, end),
        });
        st = await r.json();
      } catch (e) { return this.fail(tf("the connection broke at %s of %s: %s", human(off), human(this.file.size), e.message), true); }
      if (r.status === 409 && st.offset !== undefined && !st.error.includes("already exists")) { off = st.offset; continue; }
      if (!r.ok) return this.fail(st.error || r.statusText, r.status >= 500 && r.status !== 507);
      off = st.offset;
      this.bar.value = off;
      const secs = (performance.now() - start) / 1000, rate = (off - startOff) / Math.max(secs, 0.001);
      this.info.textContent = tf("%s of %s · %s/s · %s left", human(off), human(this.file.size), human(rate), duration((this.file.size - off) / rate));
      if (st.done) {
        this.row.classList.add("done");
        this.info.replaceChildren(el("span", "good", tf("✔ received in %s · sha256 ", duration(secs))), el("code", "sha256", st.sha256));
        const a = el("a", "button", tf("Plan with %s →", this.file.name));
        a.href = "/plan?file=" + encodeURIComponent(this.file.name);
        this.actions.replaceChildren(a);
        return;
      }
    }
  }
  fail(msg, resumable) {
    this.row.classList.add("broken");
    this.info.replaceChildren(el("span", "bad", "✘ " + msg));
    if (resumable) {
      const b = el("button", "resume", tf("Resume"));
      b.addEventListener("click", () => this.run());
      this.actions.replaceChildren(b, el("span", "dim", tf(" (or drop the same file again)")));
    }
  }
}

function setupUpload() {
  const drop = document.getElementById("drop");
  if (!drop) return;
  const chunk = parseInt(drop.dataset.chunk, 10) || 8 << 20;
  const box = document.getElementById("uploads");
  const take = async (files) => { for (const f of files) await new Upload(f, chunk, box).run(); };
  drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => { e.preventDefault(); drop.classList.remove("over"); take(e.dataTransfer.files); });
  document.getElementById("files").addEventListener("change", (e) => take(e.target.files));
}

// ---- the live view of a job ----
function setupJob() {
  const box = document.getElementById("job");
  if (!box) return;
  const stages = document.getElementById("stages"), output = document.getElementById("output");
  const rows = {}, bars = {};
  const line = (cls, text) => { const li = el("li", cls, text); stages.append(li); return li; };
  const src = new EventSource(box.dataset.events);
  src.onmessage = (m) => {
    const e = JSON.parse(m.data);
    switch (e.event) {
      case "stage-started":
        if (e.stage === "read" || e.stage === "load") {
          const li = line("stage running", (e.text || e.stage + " " + e.archive));
          const p = el("progress"); p.max = e.total || 1; p.value = 0;
          const i = el("span", "info", "");
          li.append(" ", p, " ", i);
          bars[e.stage + e.archive] = { p, i, li, t0: Date.parse(e.time) };
        } else {
          rows[e.stage] = line("stage running", tf(e.stage) + ": " + (e.text || ""));
        }
        break;
      case "read": {
        const b = bars[(e.stage || "load") + e.archive] || bars["load" + e.archive] || bars["read" + e.archive];
        if (b) {
          b.p.max = e.total || b.p.max; b.p.value = e.bytes;
          const secs = (Date.parse(e.time) - b.t0) / 1000, rate = e.bytes / Math.max(secs, 0.001);
          b.i.textContent = tf("%s of %s · %s/s", human(e.bytes), human(e.total), human(rate));
        }
        break;
      }
      case "stage-finished": {
        const b = bars[e.stage + e.archive];
        const li = b ? b.li : rows[e.stage];
        if (b && e.ok) { b.p.value = b.p.max; b.i.textContent = tf("done · %s", human(b.p.max)); }
        if (li) { li.classList.remove("running"); li.classList.add(e.ok ? "ok" : "failed"); }
        break;
      }
      case "image-loaded": line("item", tf(e.skipped ? "already loaded: %s" : "loaded: %s", e.ref + " (" + (e.id || "").slice(7, 19) + ")")); break;
      case "file-edited": line("item", tf("wrote %s", e.file)); break;
      case "service-state": line("item", tf("%s: %s", e.stack + "/" + e.service, e.state)); break;
      case "downtime": line("item", tf("%s was down %s", e.stack + "/" + e.service, e.downtime)); break;
      case "verified": line("item good", tf("✔ %s runs %s", e.stack + "/" + e.service, (e.id || "").slice(7, 19))); break;
      case "output": output.append(e.source + "| " + e.text + "\n"); output.scrollTop = output.scrollHeight; break;
      case "note": line("item note", e.text); break;
      case "job-done":
        src.close();
        line(e.ok ? "stage ok" : "stage failed", e.ok ? tf("finished") : tf("failed: %s", e.text));
        fetch(location.href, { credentials: "same-origin" }).then((r) => r.text()).then((html) => {
          const doc = new DOMParser().parseFromString(html, "text/html");
          document.getElementById("result").replaceWith(doc.getElementById("result"));
          const busy = document.querySelector(".busy"); if (busy) busy.remove();
        });
        break;
    }
  };
}

// A page showing another imgup at work reloads until it ends.
function setupBusy() {
  const b = document.querySelector(".busy");
  if (b && !b.querySelector("a") && !document.getElementById("job")) setTimeout(() => location.reload(), 4000);
}

document.addEventListener("DOMContentLoaded", () => { setupUpload(); setupJob(); setupBusy(); });
