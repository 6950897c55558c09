// Registering works from the browser: files are sent in small batches to be
// fingerprinted (the server keeps nothing of them), or a fingerprint file made on the
// creator's own machine is read here; the fingerprints are then registered through
// the API, signed with the creator's key, a batch at a time. One confirmation covers
// the whole upload. Stopping finishes the batch under way; resuming goes on from the
// next file (a file registered before is answered "existing" and counted once).
import { runChange } from "./changes.js";

const form = document.getElementById("upload");
const batchFiles = Number(form.dataset.batchFiles);
const batchBytes = Number(form.dataset.batchBytes);
const registerBatch = Number(form.dataset.registerBatch);
const csrf = document.querySelector('meta[name="csrf-token"]').content;
const number = new Intl.NumberFormat("en");

const $ = (id) => document.getElementById(id);
const ui = {
  folder: $("upload-folder"),
  files: $("upload-files"),
  drop: $("upload-drop"),
  collection: $("upload-collection"),
  chosen: $("upload-chosen"),
  start: $("upload-start"),
  exportForm: $("export"),
  exportFile: $("export-file"),
  exportStart: $("export-start"),
  section: $("progress"),
  bar: $("progress-bar"),
  text: $("progress-text"),
  counts: $("progress-counts"),
  stop: $("progress-stop"),
  resume: $("progress-resume"),
  error: $("progress-error"),
  done: $("progress-done"),
  summary: $("progress-summary"),
  problems: $("progress-problems"),
  problemList: $("progress-problem-list"),
};

let chosen = [];
let job = null;

function pathOf(file) {
  return file.webkitRelativePath || file.name;
}

function choose(files) {
  chosen = Array.from(files).filter((f) => f.size >= 0);
  const bytes = chosen.reduce((sum, f) => sum + f.size, 0);
  ui.chosen.textContent = chosen.length
    ? `${number.format(chosen.length)} files chosen (${(bytes / 1e6).toFixed(1)} MB).`
    : "No files chosen yet.";
  ui.start.disabled = chosen.length === 0 || job?.running;
}

ui.folder.addEventListener("change", () => choose(ui.folder.files));
ui.files.addEventListener("change", () => choose(ui.files.files));
ui.exportFile.addEventListener("change", () => {
  ui.exportStart.disabled = !ui.exportFile.files.length || job?.running;
});

// Dropping files works where the browser supports it; the inputs always do.
ui.drop.hidden = false;
ui.drop.addEventListener("dragover", (event) => {
  event.preventDefault();
  ui.drop.classList.add("over");
});
ui.drop.addEventListener("dragleave", () => ui.drop.classList.remove("over"));
ui.drop.addEventListener("drop", (event) => {
  event.preventDefault();
  ui.drop.classList.remove("over");
  choose(event.dataTransfer.files);
});

class Job {
  // sources: a list of File (to fingerprint on the server) or, for a fingerprint
  // file, the records it holds.
  constructor(kind, items, collection) {
    this.kind = kind;
    this.items = items;
    this.collection = collection || null;
    this.next = 0; // the first item not yet fingerprinted
    this.pending = []; // fingerprinted, not yet registered: [record]
    this.counts = { registered: 0, existing: 0, disputed: 0, skipped: 0 };
    this.confirmed = false;
    this.running = false;
    this.stopping = false;
  }

  get total() {
    return this.items.length;
  }

  get finished() {
    const c = this.counts;
    return c.registered + c.existing + c.disputed + c.skipped;
  }

  show() {
    ui.bar.max = Math.max(this.total, 1);
    ui.bar.value = this.finished;
    ui.text.textContent = `${number.format(this.finished)} of ${number.format(this.total)} files`;
    const c = this.counts;
    ui.counts.textContent =
      `${number.format(c.registered)} new, ${number.format(c.existing)} already registered, ` +
      `${number.format(c.disputed)} disputed, ${number.format(c.skipped)} not registered`;
  }

  problem(path, message) {
    this.counts.skipped += 1;
    const item = document.createElement("li");
    item.textContent = message || path;
    ui.problemList.append(item);
    ui.problems.hidden = false;
  }

  async run() {
    this.running = true;
    this.stopping = false;
    ui.error.textContent = "";
    ui.stop.hidden = false;
    ui.stop.disabled = false;
    ui.resume.hidden = true;
    ui.start.disabled = ui.exportStart.disabled = true;
    try {
      while (!this.stopping && (this.next < this.total || this.pending.length)) {
        if (this.next < this.total && this.pending.length < registerBatch) {
          await this.fingerprint();
        }
        if (this.pending.length >= registerBatch || this.next >= this.total) {
          await this.register();
        }
        this.show();
      }
    } catch (error) {
      ui.error.textContent = `${error.message || error} Resume to try the rest again.`;
      this.stopping = true;
    } finally {
      this.running = false;
    }
    if (this.next >= this.total && !this.pending.length) {
      this.end();
    } else {
      ui.stop.hidden = true;
      ui.resume.hidden = false;
      ui.text.textContent =
        `Stopped: ${number.format(this.finished)} of ${number.format(this.total)} files done. ` +
        "Resume to register the rest.";
      ui.resume.focus();
    }
  }

  async fingerprint() {
    if (this.kind === "records") {
      const take = this.items.slice(this.next, this.next + registerBatch);
      this.next += take.length;
      this.pending.push(...take);
      return;
    }
    const body = new FormData();
    let size = 0;
    let count = 0;
    while (this.next < this.total && count < batchFiles) {
      const file = this.items[this.next];
      if (count && size + file.size > batchBytes) break;
      body.append("files", file, pathOf(file));
      size += file.size;
      count += 1;
      this.next += 1;
    }
    const answer = await fetch("/creator/fingerprints", {
      method: "POST",
      body,
      headers: { "X-CSRF-Token": csrf, Accept: "application/json" },
      credentials: "same-origin",
    });
    if (!answer.ok) {
      this.next -= count; // nothing of this batch was kept: send it again on resume
      let detail = `the server answered ${answer.status}.`;
      try {
        detail = (await answer.json()).detail || detail;
      } catch {
        // not JSON: keep the status
      }
      throw new Error(detail);
    }
    const made = await answer.json();
    this.pending.push(...made.files);
    for (const refused of made.problems) this.problem(refused.path, refused.message);
  }

  async register() {
    if (!this.pending.length) return;
    const batch = this.pending.slice(0, registerBatch);
    const body = { files: batch };
    if (this.collection) body.collection = this.collection;
    // Asked once: the person agrees to register this upload's files, and each batch
    // is then signed without asking again.
    const confirm = this.confirmed
      ? false
      : `Register ${number.format(this.total)} files as your works, signed with your key?`;
    const made = await runChange("register-works", { body, confirm });
    this.confirmed = true;
    this.pending = this.pending.slice(batch.length);
    for (const item of made.items) {
      this.counts[item.status] = (this.counts[item.status] || 0) + 1;
    }
  }

  end() {
    const c = this.counts;
    ui.stop.hidden = true;
    ui.resume.hidden = true;
    ui.done.hidden = false;
    ui.summary.textContent =
      `Done: ${number.format(c.registered)} works registered` +
      (c.existing ? `, ${number.format(c.existing)} were registered already` : "") +
      (c.disputed ? `, ${number.format(c.disputed)} disputed (another owner registered them first)` : "") +
      (c.skipped ? `, ${number.format(c.skipped)} files not registered (see why below)` : "") +
      ".";
    ui.text.textContent = `${number.format(this.finished)} of ${number.format(this.total)} files`;
    ui.summary.focus?.();
  }
}

function begin(kind, items) {
  job = new Job(kind, items, ui.collection.value);
  ui.section.hidden = false;
  ui.done.hidden = true;
  ui.problems.hidden = true;
  ui.problemList.replaceChildren();
  job.show();
  ui.section.scrollIntoView({ block: "start" });
  return job.run();
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  if (chosen.length && !job?.running) begin("files", chosen);
});

ui.exportForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const file = ui.exportFile.files[0];
  if (!file || job?.running) return;
  let records;
  try {
    records = parseExport(await file.text());
  } catch (error) {
    ui.section.hidden = false;
    ui.error.textContent = `${file.name}: ${error.message}`;
    return;
  }
  begin("records", records);
});

// A fingerprint file: one JSON record a line ({"path", "fingerprint"}), or a JSON list
// of them; anything else is refused before a record is sent.
function parseExport(text) {
  const trimmed = text.trim();
  let records;
  if (trimmed.startsWith("[")) {
    records = JSON.parse(trimmed);
  } else {
    records = trimmed
      .split("\n")
      .filter((line) => line.trim())
      .map((line, n) => {
        try {
          return JSON.parse(line);
        } catch {
          throw new Error(`line ${n + 1} is not JSON; choose the file consentry wrote`);
        }
      });
  }
  if (!records.length) throw new Error("it holds no records");
  records.forEach((record, n) => {
    if (typeof record?.path !== "string" || typeof record?.fingerprint !== "object") {
      throw new Error(`record ${n + 1} has no path and fingerprint; choose the file consentry wrote`);
    }
  });
  return records;
}

ui.stop.addEventListener("click", () => {
  if (!job?.running) return;
  job.stopping = true;
  ui.stop.disabled = true;
  ui.text.textContent = "Stopping after the batch under way…";
});

ui.resume.addEventListener("click", () => {
  if (job && !job.running) job.run();
});
