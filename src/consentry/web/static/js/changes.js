// A change to the registry, signed in this browser: the JSON API's signing rounds as
// consentry.client.http.RegistryClient.change runs them. Each round the registry
// answers 202 with the messages it needs signed; this checks that every one is a
// message of the change asked for (else nothing at all is signed), shows the person
// in words what they say, and signs only when they press Sign.
//
// How a page uses it:
//   {% include "_signing.html" %}                       (the confirm dialog)
//   <script type="module" src="/static/js/changes.js"></script>
// and either a form:
//   <form data-operation="grant" data-param-request_id="req_…" data-done="/creator/requests">
//     …fields named as the API body's keys ("a.b" nests; data-json parses a value;
//     type=number sends a number; checkboxes with data-list send an array; a lone
//     checkbox sends true/false; empty fields are left out)…
//     <p class="error" data-error role="alert"></p>
//     <button type="submit">…</button>
//   </form>
// or a script: import { runChange } from "/static/js/changes.js";
//   const made = await runChange("put-terms", { params: { target_id }, body: { terms } });
// A page without the partial gets the same dialog made by this script.

import { base64ToBytes, bytesToBase64, bytesToHex, sha256, signedFetch } from "./httpsig.js";
import { loadKey, newId } from "./keys.js";
import { describe, Names } from "./describe.js";

const ROUNDS = 6;
const EVENT = "consentry/event/v1";
const LEAF = "consentry/log-leaf/v1";
const decoder = new TextDecoder("utf-8", { fatal: true });
const encoder = new TextEncoder();

/** A refusal the registry answered (RFC 9457): `message` is its `detail`. */
export class ProblemError extends Error {
  constructor(problem, status) {
    super(problem.detail || problem.title || `the registry answered ${status}`);
    this.status = status;
    this.kind = String(problem.type || "").split("/").pop();
    this.problem = problem;
  }
}

/** `text` as a sentence: a capital first, a full stop last (the registry's details
 * are written to follow a name: "no grant …; ask its owner"). */
export function sentence(text) {
  const trimmed = String(text || "").trim();
  if (!trimmed) return "";
  const capital = trimmed[0].toUpperCase() + trimmed.slice(1);
  return /[.!?]$/.test(capital) ? capital : `${capital}.`;
}

/** The person pressed Cancel (or Escape): nothing was signed. */
export class CancelledError extends Error {
  constructor() {
    super("You cancelled: nothing was signed and nothing changed.");
  }
}

// -- RFC 8785 for the documents consentry signs (strings, integers, no floats) ----------

/** The RFC 8785 canonical JSON text of `value`: keys sorted by UTF-16 code units (the
 * default sort), no spaces, strings as JSON.stringify writes them (as RFC 8785 does). */
export function canonicalJson(value) {
  if (value === null || typeof value !== "object") return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  const keys = Object.keys(value).filter((k) => value[k] !== undefined).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k])}`).join(",")}}`;
}

function isObject(value) {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function parseJson(bytes) {
  try {
    return JSON.parse(decoder.decode(bytes));
  } catch {
    return undefined;
  }
}

function equalBytes(a, b) {
  if (!a || !b || a.length !== b.length) return false;
  return a.every((byte, i) => byte === b[i]);
}

/** `message` split as Python's bytes.partition(b"\n"): its type line and its body. */
export function split(message) {
  const at = message.indexOf(10);
  const head = at < 0 ? message : message.subarray(0, at);
  const kind = Array.from(head, (b) => (b < 128 ? String.fromCharCode(b) : "\ufffd")).join("");
  return { kind, body: at < 0 ? new Uint8Array() : message.subarray(at + 1) };
}

// -- what a party signs (consentry.client.http._signable, _event_verdict) ---------------

/** What a change expects to sign: `partyId`, `events` (a Set of event kinds),
 * `documents` ({kind: (doc) => bool}: what each kind's body must say), `subjects` (a
 * Set, or null where they are not known beforehand). */
export class Expected {
  constructor(partyId, events, documents = {}, subjects = null) {
    this.partyId = partyId;
    this.events = new Set(events);
    this.documents = documents;
    this.subjects = subjects === null ? null : new Set(subjects);
  }

  document(kind, body) {
    const check = Object.hasOwn(this.documents, kind) ? this.documents[kind] : null;
    if (!check) return false;
    const parsed = parseJson(body);
    return isObject(parsed) && Boolean(check(parsed));
  }
}

// null: sign it; "wait": it embeds a document signature this party has not made yet;
// "refuse": not an event this change makes (another actor, kind or subject, or a
// document other than the one this party signed).
export function eventVerdict(body, made, expected) {
  const event = parseJson(body);
  if (!isObject(event)) return "refuse";
  if (
    event.actor !== expected.partyId ||
    !expected.events.has(event.event) ||
    (expected.subjects !== null && !expected.subjects.has(event.subject))
  ) {
    return "refuse";
  }
  const payload = event.payload;
  const embedded = isObject(payload) ? payload.signature : undefined;
  if (embedded === undefined || embedded === null) return null;
  if (typeof embedded !== "string" || !made.has(embedded)) return "wait";
  const carried = Object.entries(payload)
    .filter(([k, v]) => k !== "signature" && isObject(v))
    .map(([, v]) => v);
  if (carried.length !== 1 || !equalBytes(encoder.encode(canonicalJson(carried[0])), made.get(embedded))) {
    return "refuse";
  }
  return null;
}

/** The messages of a round this party signs: documents of the kinds expected that say
 * what the change asked; its events of the kinds expected whose embedded document
 * signature is its own; and log leaves of those events once nothing in the round is
 * waiting. None at all if any message is none of these. `made`: a Map of the
 * documents signed for this change so far, body bytes by signature (base64). */
export function signable(messages, made, expected) {
  const documents = [];
  const waiting = [];
  const leaves = [];
  for (const message of messages) {
    const { kind, body } = split(message);
    if (kind === LEAF) {
      leaves.push([message, body]);
    } else if (kind === EVENT) {
      const verdict = eventVerdict(body, made, expected);
      if (verdict === null) documents.push(message);
      else if (verdict === "wait") waiting.push(message);
      else return [];
    } else if (
      kind.startsWith("consentry/") &&
      kind.endsWith("/v1") &&
      kind.length > "consentry//v1".length &&
      expected.document(kind.slice("consentry/".length, -"/v1".length), body)
    ) {
      documents.push(message);
    } else {
      return [];
    }
  }
  if (waiting.length) return documents;
  for (const [message, body] of leaves) {
    const leaf = parseJson(body);
    if (!isObject(leaf) || !expected.events.has(leaf.event)) return [];
    documents.push(message);
  }
  return documents;
}

// -- what each operation asks for -------------------------------------------------------

const segment = (text) => encodeURIComponent(String(text)).replace(/\./g, "%2E");

function param(params, name) {
  const value = params?.[name];
  if (!value) throw new Error(`the page did not say which ${name.replace("_id", "")} this is for`);
  return value;
}

/** A time as consentry.clock.format_time writes it (UTC, microseconds, Z), read as
 * parse_time reads it (a date is midnight UTC, a naive time UTC); null stays null. */
export function formatTime(text) {
  if (text === null || text === undefined) return null;
  const found =
    /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2})(?::(\d{2})(?::(\d{2})(?:[.,](\d{1,6})\d*)?)?)?(Z|[+-]\d{2}:?\d{2})?)?$/.exec(
      String(text),
    );
  if (!found) return String(text);
  const [, y, mo, d, h = "00", mi = "00", s = "00", frac = "", zone = "Z"] = found;
  let ms = Date.UTC(+y, +mo - 1, +d, +h, +mi, +s);
  if (zone !== "Z") {
    const sign = zone[0] === "-" ? -1 : 1;
    const digits = zone.slice(1).replace(":", "");
    ms -= sign * (+digits.slice(0, 2) * 60 + +digits.slice(2)) * 60000;
  }
  return `${new Date(ms).toISOString().slice(0, 19)}.${frac.padEnd(6, "0")}Z`;
}

const sorted = (names) => (Array.isArray(names) ? [...names].sort() : names);
const same = (a, b) => canonicalJson(a) === canonicalJson(b);

// A time the registry sets to "now" as it composes a document (a request's start and
// making, a grant's issue, a revocation without a time) is signed only within this of
// this browser's clock: clocks differ a little, and a person takes a while to sign.
export const NOW_WINDOW_MS = 5 * 60 * 1000;

/** Whether `value` is an id of `kind` ("grt") as consentry.ids.new_id makes them. */
export function isId(value, kind) {
  return typeof value === "string" && new RegExp(`^${kind}_[a-z2-7]{16}$`).test(value);
}

/** Whether `value` is a time as documents carry it, within NOW_WINDOW_MS of `now` (ms). */
export function isNow(value, now = Date.now()) {
  if (typeof value !== "string" || formatTime(value) !== value) return false;
  return Math.abs(Date.parse(value) - now) <= NOW_WINDOW_MS;
}

/** Whether `doc` has exactly the fields of `expected`, saying what it says, and those `made`. */
function exactly(doc, expected, ...made) {
  const keys = Object.keys(doc).sort();
  const wanted = [...Object.keys(expected), ...made].sort();
  return same(keys, wanted) && Object.entries(expected).every(([k, v]) => same(doc[k], v));
}

/** The licence request this owner reads, as asked for (the registry may not answer another). */
async function requestRead(read, requestId) {
  const asked = await read(`/v1/requests/${segment(requestId)}`);
  if (asked?.id !== requestId) {
    throw new Error(`the registry answered another request than ${requestId}; nothing was signed`);
  }
  return asked;
}

/** The price a request is answered at: the accepted counter-offer's, else the offer. */
function priceAsked(asked) {
  const counter = asked.state === "accepted" ? asked.counter : null;
  return (counter && counter.price ? counter.price : asked.offer) ?? null;
}

/** Every field of the grant of `asked` but its new id and time of issue, or null when
 * `asked` is no request this owner can grant (as client/registry.py _grant_expected). */
export function grantExpected(asked, partyId, licenseeKey, publishedPrice = null) {
  if (
    asked.owner_id !== partyId ||
    !["pending", "accepted"].includes(asked.state) ||
    // Times as format_time writes them sort as they fall.
    !(formatTime(asked.not_before) >= formatTime(asked.created_at))
  ) {
    return null;
  }
  const counter = asked.state === "accepted" ? asked.counter : null;
  const terms = counter || asked;
  return {
    type: "consentry.grant",
    version: 1,
    request: asked.id,
    owner: partyId,
    licensee: asked.licensee_id,
    licensee_key: licenseeKey,
    scope: scopeOf(asked.scope),
    purposes: sorted(terms.purposes),
    // From the request as the licensee signed it, never earlier: a backdated start would
    // license runs made before the owner agreed.
    not_before: formatTime(asked.not_before),
    not_after: formatTime(terms.not_after ?? null),
    price: priceAsked(asked) || publishedPrice || null,
  };
}

/** Whether a grant document licenses exactly what `expected` says (grantExpected),
 * under a new grant id, issued now (as client/registry.py _grants). */
export function grants(doc, expected, now = Date.now()) {
  return (
    expected !== null &&
    exactly(doc, expected, "id", "issued_at") &&
    isId(doc.id, "grt") &&
    isNow(doc.issued_at, now)
  );
}

/** Whether a licence request document says exactly `asked`, under its new id, starting
 * the moment it is made, now (as client/registry.py _asks). */
export function asks(doc, asked, now = Date.now()) {
  return (
    exactly(doc, asked, "id", "not_before", "created_at") &&
    isId(doc.id, "req") &&
    doc.not_before === doc.created_at &&
    isNow(doc.created_at, now)
  );
}

/** Whether a revocation document revokes exactly `grantId` from `effectiveAt` (null:
 * now) for `reason` (as client/registry.py _revokes). */
export function revokes(doc, grantId, partyId, effectiveAt, reason, now = Date.now()) {
  const expected = { type: "consentry.revocation", version: 1, grant: grantId, owner: partyId, reason };
  return (
    exactly(doc, expected, "id", "effective_at") &&
    isId(doc.id, "rev") &&
    (effectiveAt !== null ? doc.effective_at === effectiveAt : isNow(doc.effective_at, now))
  );
}

/** The counter-offer document answering `asked` with `given`: what is left out (null),
 * the registry fills from the request (as client/registry.py _counter_expected). */
export function counterExpected(given, asked) {
  return {
    type: "consentry.counter-offer",
    version: 1,
    request: asked.id,
    purposes: given.purposes && given.purposes.length ? given.purposes : sorted(asked.purposes),
    not_after: given.not_after || formatTime(asked.not_after ?? null),
    price: given.price || asked.offer || null,
  };
}

/** The owner of `scope`'s works as the registry's public records say, or null if several. */
async function ownerOf(scope, read) {
  const ids = scope?.ids || [];
  let owners;
  if (scope?.kind === "owner") owners = ids;
  else if (scope?.kind === "collection") {
    owners = await Promise.all(
      ids.map(async (id) => (await read(`/v1/collections/${segment(id)}?owner=${encodeURIComponent(id)}`)).owner_id),
    );
  } else owners = await Promise.all(ids.map(async (id) => (await read(`/v1/works/${segment(id)}`)).owner_id));
  const distinct = new Set(owners);
  return distinct.size === 1 ? [...distinct][0] : null;
}

function scopeOf(scope) {
  return isObject(scope) ? { kind: scope.kind, ids: sorted(scope.ids) } : scope;
}

// Terms as Terms.to_json writes them: version 1, empty parts left out.
function termsOf(terms) {
  if (!isObject(terms)) return terms;
  const out = { version: 1 };
  if (isObject(terms.categories) && Object.keys(terms.categories).length) out.categories = terms.categories;
  if (terms.price) out.price = terms.price;
  const conditions = Object.fromEntries(
    Object.entries(isObject(terms.conditions) ? terms.conditions : {}).filter(([, v]) => v !== null && v !== undefined),
  );
  if (Object.keys(conditions).length) out.conditions = conditions;
  return out;
}


// Each operation: its route, and what the registry may ask this party to sign for it,
// as the Python client expects (client/registry.py, works.py, gating.py).
export const OPERATIONS = {
  "register-owner": {
    method: "POST",
    path: () => "/v1/owners",
    expect: ({ body }) => new Expected(body.id, ["owner.created"], {}, [body.id]),
  },
  "register-licensee": {
    method: "POST",
    path: () => "/v1/licensees",
    expect: ({ body }) => new Expected(body.id, ["licensee.created"], {}, [body.id]),
  },
  "create-collection": {
    method: "POST",
    path: () => "/v1/collections",
    expect: ({ partyId }) => new Expected(partyId, ["collection.created"]),
  },
  "register-works": {
    method: "POST",
    path: () => "/v1/works",
    async expect({ body, partyId, read }) {
      let collection = null;
      if (body.collection) {
        const query = `?owner=${encodeURIComponent(partyId)}`;
        collection = (await read(`/v1/collections/${segment(body.collection)}${query}`)).id;
      }
      const sent = new Set((body.files || []).map((f) => `${f.path}\u0000${f.fingerprint?.digest}`));
      // A work is signed only as this owner's, in the collection asked, for a file of
      // this batch as uploaded.
      const uploaded = (work) =>
        work.owner === partyId &&
        (work.collection ?? null) === collection &&
        sent.has(`${work.path}\u0000${work.digest}`);
      return new Expected(partyId, ["work.registered", "dispute.opened"], { work: uploaded });
    },
  },
  "put-terms": {
    method: "PUT",
    path: (params) => `/v1/terms/${segment(param(params, "target_id"))}`,
    expect: ({ body, params, partyId }) =>
      new Expected(partyId, ["terms.set"], {
        terms: (d) =>
          d.owner === partyId && d.target === params.target_id && same(d.terms, termsOf(body.terms)),
      }),
  },
  "request-licence": {
    method: "POST",
    path: () => "/v1/requests",
    async expect({ body, partyId, read }) {
      const scope = scopeOf(body.scope);
      const asked = {
        type: "consentry.license-request",
        version: 1,
        licensee: partyId,
        owner: await ownerOf(scope, read),
        scope,
        purposes: sorted(body.purposes),
        not_after: formatTime(body.not_after ?? null),
        offer: body.offer ?? null,
        commercial: body.commercial ?? true,
      };
      return new Expected(partyId, ["request.created"], { "license-request": (d) => asks(d, asked) });
    },
  },
  grant: {
    method: "POST",
    path: (params) => `/v1/requests/${segment(param(params, "request_id"))}/grant`,
    // A grant is signed only for exactly what was asked (or countered and accepted),
    // as the request this owner reads says, never for what the registry composes.
    async expect({ params, partyId, read }) {
      const asked = await requestRead(read, param(params, "request_id"));
      // The grant binds the licensee's key as registered (public, on the log).
      const licensee = await read(`/v1/licensees/${segment(asked.licensee_id)}`);
      let published = null;
      if (!priceAsked(asked)) {
        // Neither offered nor countered: the owner's own published price.
        published = (await read(`/v1/terms/${segment(partyId)}`))?.effective?.price ?? null;
      }
      const expected = grantExpected(asked, partyId, licensee?.public_key, published);
      return new Expected(partyId, ["grant.issued"], { grant: (d) => grants(d, expected) });
    },
  },
  deny: {
    method: "POST",
    path: (params) => `/v1/requests/${segment(param(params, "request_id"))}/deny`,
    expect: ({ params, partyId }) => new Expected(partyId, ["request.denied"], {}, [params.request_id]),
  },
  counter: {
    method: "POST",
    path: (params) => `/v1/requests/${segment(param(params, "request_id"))}/counter`,
    async expect({ body, params, partyId, read }) {
      // Fields left out are the registry's to fill from the request as this owner reads it.
      const given = {
        purposes: body.purposes ? sorted(body.purposes) : null,
        not_after: formatTime(body.not_after ?? null),
        price: body.price ?? null,
      };
      const expected = counterExpected(given, await requestRead(read, param(params, "request_id")));
      return new Expected(
        partyId,
        ["request.countered"],
        { "counter-offer": (d) => exactly(d, expected) },
        [params.request_id],
      );
    },
  },
  accept: {
    method: "POST",
    path: (params) => `/v1/requests/${segment(param(params, "request_id"))}/accept`,
    expect: ({ params, partyId }) => new Expected(partyId, ["request.accepted"], {}, [params.request_id]),
  },
  revoke: {
    method: "POST",
    path: (params) => `/v1/grants/${segment(param(params, "grant_id"))}/revoke`,
    expect: ({ body, params, partyId }) =>
      new Expected(partyId, ["grant.revoked"], {
        revocation: (d) =>
          revokes(d, params.grant_id, partyId, formatTime(body.effective_at ?? null), body.reason ?? null),
      }),
  },
  "start-run": {
    method: "POST",
    path: () => "/v1/runs",
    prepare: (body) => (body.run_id ? body : { ...body, run_id: newId("run") }),
    expect: ({ body, partyId }) => new Expected(partyId, ["run.started"], {}, [body.run_id]),
  },
  "record-manifest": {
    method: "POST",
    path: () => "/v1/manifests",
    // The manifest was signed when the run finished; its event carries it.
    embeds: (body) => ({ [body.signature]: body.manifest }),
    expect: ({ body, partyId }) =>
      new Expected(partyId, ["manifest.recorded"], {}, [String(body.manifest?.run_id)]),
  },
};

// -- the wire ---------------------------------------------------------------------------

async function exchange(method, path, body, key) {
  const bytes = body === undefined ? undefined : encoder.encode(JSON.stringify(body));
  let answer;
  try {
    answer = await signedFetch(path, { method, body: bytes, key });
  } catch {
    throw new Error("the registry could not be reached; check your connection and try again");
  }
  const json = (answer.headers.get("content-type") || "").includes("json") ? await answer.json() : null;
  if (!answer.ok) throw new ProblemError(json || {}, answer.status);
  return [answer.status, json];
}

// -- the confirm dialog ------------------------------------------------------------------

const DIALOG_HTML = `
  <h2 id="signing-title">Sign with your key?</h2>
  <p id="signing-lead" data-signing-lead></p>
  <ul class="signing-list" data-signing-list></ul>
  <p class="hint">Your key signs in this browser; this site never sees it and never signs for you. If you cancel, nothing is signed and nothing changes.</p>
  <div class="actions">
    <button type="button" data-signing-sign>Sign</button>
    <button type="button" class="secondary" data-signing-cancel>Cancel</button>
  </div>`;

function signingDialog() {
  if (!document.querySelector('link[href="/static/css/signing.css"]')) {
    const link = document.createElement("link");
    link.rel = "stylesheet";
    link.href = "/static/css/signing.css";
    document.head.append(link);
  }
  let dialog = document.getElementById("signing-dialog");
  if (!dialog) {
    dialog = document.createElement("dialog");
    dialog.id = "signing-dialog";
    dialog.className = "signing";
    dialog.setAttribute("aria-labelledby", "signing-title");
    dialog.setAttribute("aria-describedby", "signing-lead");
    dialog.innerHTML = DIALOG_HTML;
    document.body.append(dialog);
  }
  return dialog;
}

/** Ask the person whether to sign what `sentences` say; resolves true on Sign, false on
 * Cancel or Escape. Focus moves into the dialog and back where it was after. */
export function askToSign(lead, sentences) {
  const dialog = signingDialog();
  const before = document.activeElement;
  dialog.querySelector("[data-signing-lead]").textContent = lead;
  dialog.querySelector("[data-signing-list]").replaceChildren(
    ...sentences.map((text) => {
      const item = document.createElement("li");
      item.textContent = text;
      return item;
    }),
  );
  const sign = dialog.querySelector("[data-signing-sign]");
  const cancel = dialog.querySelector("[data-signing-cancel]");
  return new Promise((resolve) => {
    const finish = (answer) => {
      sign.removeEventListener("click", onSign);
      cancel.removeEventListener("click", onCancel);
      dialog.removeEventListener("cancel", onEscape);
      if (dialog.open) dialog.close();
      if (before && typeof before.focus === "function") before.focus();
      resolve(answer);
    };
    const onSign = () => finish(true);
    const onCancel = () => finish(false);
    const onEscape = (event) => {
      event.preventDefault();
      finish(false);
    };
    sign.addEventListener("click", onSign);
    cancel.addEventListener("click", onCancel);
    dialog.addEventListener("cancel", onEscape);
    dialog.showModal();
    sign.focus();
  });
}

// -- a change, in its rounds --------------------------------------------------------------

function parsedMessages(messages) {
  return messages.map((message) => {
    const { kind, body } = split(message);
    return { kind, body: parseJson(body) ?? {} };
  });
}

/** Make the change `operation` names (see OPERATIONS) and answer with what the
 * registry made (its 201 JSON). `params`: the route's path parameters; `body`: the
 * API body without `signing`. Options: `confirm` (true: ask before signing what the
 * person has not yet seen; a string: ask with that sentence as the question; false:
 * the page has already shown what will be signed, e.g. one confirmation for a whole
 * upload), `onProgress({round, state, signed})`, and `key` (default: this browser's key
 * of the account's party; a new party's key when registering it).
 * Throws ProblemError (its message the problem's detail), CancelledError, or Error. */
export async function runChange(operation, { params = {}, body = {}, confirm = true, onProgress, key } = {}) {
  const route = OPERATIONS[operation];
  if (!route) throw new Error(`this page asked for an unknown change (${operation})`);
  const signer = key || (await loadKey());
  if (!signer) {
    throw new Error("this browser does not hold your key; restore it from your backup on the key page (/account/key)");
  }
  const partyId = signer.partyId || body.id;
  const sent = route.prepare ? route.prepare(body) : body;
  const method = route.method;
  const path = route.path(params);
  const read = async (where) => (await exchange("GET", where, undefined, signer))[1];
  const expected = await route.expect({ body: sent, params, partyId, read });
  const names = new Names(partyId);
  const embeds = route.embeds ? route.embeds(sent) : {};
  const progress = (state, extra = {}) => onProgress?.({ state, ...extra });
  // Every sentence the person has agreed to in this change: a later round that says
  // only these (an event now carrying its document's real signature) is not asked again.
  const agreed = new Set();
  let bodies = new Map(Object.entries(embeds).map(([sig, doc]) => [sig, encoder.encode(canonicalJson(doc))]));
  let signatures = {};
  let token = null;
  for (let round = 1; round <= ROUNDS; round += 1) {
    const request = token === null ? sent : { ...sent, signing: { token, signatures } };
    progress("sending", { round });
    let status;
    let answer;
    try {
      [status, answer] = await exchange(method, path, request, signer);
    } catch (error) {
      if (error instanceof ProblemError && error.kind === "signing-stale" && token !== null) {
        // The registry moved on while this was signed: the change starts again.
        signatures = {};
        token = null;
        bodies = new Map(Object.entries(embeds).map(([sig, doc]) => [sig, encoder.encode(canonicalJson(doc))]));
        continue;
      }
      throw error;
    }
    if (status !== 202) {
      progress("done", { round });
      return answer;
    }
    token = String(answer.token);
    const messages = answer.messages.map((m) => base64ToBytes(m));
    const chosen = signable(messages, bodies, expected);
    if (!chosen.length) {
      throw new Error(
        "the registry asked your key to sign messages that are not the change you asked for; nothing was signed",
      );
    }
    if (confirm !== false) {
      const sentences = await describe(parsedMessages(messages), { names, body: sent });
      if (sentences.some((s) => !agreed.has(s))) {
        const lead = typeof confirm === "string" ? confirm : "Your key will sign this:";
        if (!(await askToSign(lead, sentences))) throw new CancelledError();
        for (const s of sentences) agreed.add(s);
      }
    }
    progress("signing", { round, signed: chosen.length });
    for (const message of chosen) {
      const signature = bytesToBase64(await crypto.subtle.sign({ name: "Ed25519" }, signer.privateKey, message));
      signatures[bytesToHex(await sha256(message))] = signature;
      const { kind, body: signed } = split(message);
      if (kind !== EVENT && kind !== LEAF) bodies.set(signature, signed);
    }
  }
  throw new Error(
    `the registry kept asking for new signatures (${ROUNDS} rounds); it may be changing quickly: try again`,
  );
}

// -- forms ------------------------------------------------------------------------------

function setPath(target, name, value) {
  const parts = name.split(".");
  let here = target;
  for (const part of parts.slice(0, -1)) {
    if (!isObject(here[part])) here[part] = {};
    here = here[part];
  }
  here[parts[parts.length - 1]] = value;
}

/** The JSON body a `data-operation` form says. */
export function formBody(form) {
  const body = {};
  const lists = new Map();
  for (const control of form.elements) {
    const { name, type } = control;
    if (!name || name === "csrf" || control.disabled || ["submit", "button", "reset", "file"].includes(type)) continue;
    if (control.hasAttribute("data-list")) {
      if (!lists.has(name)) lists.set(name, []);
      if ((type !== "checkbox" && type !== "radio") || control.checked) {
        if (control.value !== "") lists.get(name).push(control.value);
      }
      continue;
    }
    let value;
    if (type === "checkbox") {
      value = control.value === "on" || control.value === "true" ? control.checked : control.checked ? control.value : undefined;
    } else if (type === "radio") {
      if (!control.checked) continue;
      value = control.value;
    } else if (control.value.trim() === "") {
      continue; // an empty optional field is left out
    } else if (control.hasAttribute("data-json")) {
      value = JSON.parse(control.value);
    } else if (type === "number") {
      value = Number(control.value);
    } else {
      value = control.value.trim();
    }
    if (value !== undefined && value !== "") setPath(body, name, value);
  }
  for (const [name, values] of lists) if (values.length) setPath(body, name, values);
  return body;
}

function formParams(form) {
  const params = {};
  for (const attribute of form.attributes) {
    if (attribute.name.startsWith("data-param-")) params[attribute.name.slice("data-param-".length)] = attribute.value;
  }
  return params;
}

async function submitted(event) {
  const form = event.target.closest("form[data-operation]");
  if (!form) return;
  event.preventDefault();
  const error = form.querySelector("[data-error]");
  const buttons = [...form.querySelectorAll("button[type=submit], button:not([type])")];
  if (error) {
    error.textContent = "";
  }
  buttons.forEach((b) => {
    b.disabled = true;
  });
  form.setAttribute("aria-busy", "true");
  let failed = false;
  try {
    const made = await runChange(form.dataset.operation, { params: formParams(form), body: formBody(form) });
    const done = form.dataset.done;
    if (done) window.location.assign(done.replace("{id}", encodeURIComponent(made?.id ?? "")));
    else window.location.reload();
  } catch (failure) {
    failed = true;
    if (error) error.textContent = sentence(failure.message);
    else window.alert(sentence(failure.message));
  } finally {
    buttons.forEach((b) => {
      b.disabled = false;
    });
    form.removeAttribute("aria-busy");
    // A disabled button loses focus; give it back, beside the sentence that says why.
    if (failed) (event.submitter || buttons[0])?.focus();
  }
}

document.addEventListener("submit", submitted);
