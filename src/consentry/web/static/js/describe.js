// What a round of messages says, in words a person can check before signing: each
// sentence is read from the messages themselves (what will be signed), never from
// what the page meant to ask. Names are looked up where the registry shows them.

const PURPOSES = {
  "train-ai": "train generative AI",
  "train-other": "train other AI models",
  "ai-input": "use them as input to AI",
  search: "index them for search",
  "data-mining": "mine them for data",
  "publish-output": "publish AI output made from them",
};
const CATEGORIES = {
  "train-ai": "training generative AI",
  "train-other": "training other AI models",
  "ai-input": "use as input to AI",
  search: "search indexing",
  "data-mining": "data mining",
  "publish-output": "publishing AI output",
};
const PERMISSIONS = { allow: "allowed", deny: "not allowed", license: "needs a licence" };
const UNITS = { work: "per work", "1k-tokens": "per 1,000 tokens", byte: "per byte" };
const EVENTS = {
  "owner.created": "a creator registered",
  "licensee.created": "a lab registered",
  "collection.created": "a collection made",
  "work.registered": "a work registered",
  "dispute.opened": "a dispute opened",
  "terms.set": "terms published",
  "request.created": "a licence requested",
  "request.countered": "a counter-offer made",
  "request.accepted": "a counter-offer accepted",
  "request.denied": "a request denied",
  "grant.issued": "a licence granted",
  "grant.revoked": "a licence revoked",
  "run.started": "a training run started",
  "manifest.recorded": "a training run's manifest recorded",
};
const RECORDED = {
  "work.registered": "you registered these works",
  "terms.set": "you published these terms",
  "request.created": "you asked for this licence",
  "request.countered": "you made this counter-offer",
  "grant.issued": "you granted this licence",
  "grant.revoked": "you revoked this licence",
};
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

// The events the registry publishes with their party (registry/snapshot.py PUBLIC_EVENTS).
const PUBLIC_EVENTS = new Set([
  "owner.created",
  "licensee.created",
  "collection.created",
  "work.registered",
  "terms.set",
]);

export function list(words) {
  if (words.length <= 1) return words.join("");
  return `${words.slice(0, -1).join(", ")} and ${words[words.length - 1]}`;
}

export function plural(count, one, many = `${one}s`) {
  return `${count.toLocaleString("en")} ${count === 1 ? one : many}`;
}

export function day(text) {
  const moment = new Date(text);
  if (Number.isNaN(moment.getTime())) return String(text);
  return `${moment.getUTCDate()} ${MONTHS[moment.getUTCMonth()]} ${moment.getUTCFullYear()}`;
}

export function when(text) {
  const moment = new Date(text);
  if (Number.isNaN(moment.getTime())) return String(text);
  const time = moment.toISOString().slice(11, 16);
  return `${day(text)}, ${time} UTC`;
}

export function price(value) {
  if (!value) return null;
  const amount = Number(value.amount);
  const shown = Number.isFinite(amount) && Math.abs(amount) >= 0.01
    ? amount.toLocaleString("en", { minimumFractionDigits: 2, maximumFractionDigits: 8 })
    : value.amount;
  return `${shown} ${value.currency} ${UNITS[value.per] || `per ${value.per}`}`;
}

function purposes(names) {
  return list((names || []).map((p) => PURPOSES[p] || p));
}

function until(notAfter) {
  return notAfter ? `until ${day(notAfter)}` : "with no end date";
}

// A licence's time in words: "from 2 Dec 2026 until 1 Dec 2027" (the start is what
// runs are licensed from: the person sees it before signing).
function period(notBefore, notAfter) {
  return `from ${day(notBefore)} ${until(notAfter)}`;
}

/** Names by id from the registry's public lists, each looked up once. */
export class Names {
  constructor(partyId) {
    this.partyId = partyId;
    this.known = new Map();
  }

  async #get(path, pick) {
    if (!this.known.has(path)) {
      this.known.set(
        path,
        fetch(path, { headers: { Accept: "application/json" } })
          .then((answer) => (answer.ok ? answer.json() : null))
          .then((found) => (found ? pick(found) : null))
          .catch(() => null),
      );
    }
    return this.known.get(path);
  }

  async party(id) {
    if (id === this.partyId) return "you";
    const kind = id.startsWith("own_") ? "owners" : id.startsWith("lic_") ? "licensees" : null;
    const name = kind ? await this.#get(`/v1/${kind}/${encodeURIComponent(id)}`, (p) => p.name) : null;
    return name ? `${name} (${id})` : id;
  }

  async work(id) {
    const name = await this.#get(`/v1/works/${encodeURIComponent(id)}`, (w) => w.title || w.path);
    return name ? `“${name}”` : id;
  }

  async target(id) {
    if (id === this.partyId) return "all your works";
    if (id.startsWith("own_")) return `all works of ${await this.party(id)}`;
    if (id.startsWith("col_")) return `your collection ${id}`;
    return `your work ${await this.work(id)}`;
  }

  async scope(scope) {
    const ids = scope?.ids || [];
    if (scope?.kind === "owner") {
      const whose = await Promise.all(ids.map((id) => this.party(id)));
      return whose.every((w) => w === "you") ? "all your works" : `all works of ${list(whose)}`;
    }
    if (scope?.kind === "collection") return ids.length === 1 ? `the collection ${ids[0]}` : plural(ids.length, "collection");
    if (ids.length === 1) return await this.work(ids[0]);
    return plural(ids.length, "work");
  }
}

function termsWords(terms) {
  const parts = [];
  const categories = terms?.categories || {};
  // In the vocabulary's order (the signed document's is alphabetical), then any other.
  const order = [...Object.keys(CATEGORIES), ...Object.keys(categories).filter((c) => !(c in CATEGORIES))];
  for (const category of order.filter((c) => c in categories)) {
    const permission = categories[category];
    parts.push(`${CATEGORIES[category] || category} ${PERMISSIONS[permission] || permission}`);
  }
  if (terms?.price) parts.push(`licence price ${price(terms.price)}`);
  const c = terms?.conditions || {};
  if (c.attribution) parts.push(`credit “${c.attribution}”`);
  if (c.share_alike) parts.push("share-alike");
  if (c.non_commercial) parts.push("non-commercial use only");
  if (c.expires) parts.push(`these terms end on ${day(c.expires)}`);
  if (c.max_excerpt_chars !== undefined) parts.push(`excerpts of at most ${plural(c.max_excerpt_chars, "character")}`);
  return parts.length ? parts.join("; ") : "nothing set here: the terms above it apply";
}

async function documentSentence(kind, doc, names) {
  switch (kind) {
    case "terms":
      return `Publish your terms for ${await names.target(doc.target)}: ${termsWords(doc.terms)}.`;
    case "license-request": {
      const offer = doc.offer ? `offering ${price(doc.offer)}` : "at the owner's published price";
      const use = doc.commercial === false ? "non-commercial use" : "commercial use";
      return `Ask ${await names.party(doc.owner)} for a licence to ${purposes(doc.purposes)} on ${await names.scope(doc.scope)} ${period(doc.not_before, doc.not_after)}, ${offer}, for ${use}.`;
    }
    case "grant": {
      const cost = doc.price ? `for ${price(doc.price)}` : "free of charge";
      return `Grant ${await names.party(doc.licensee)} a licence to ${purposes(doc.purposes)} on ${await names.scope(doc.scope)} ${period(doc.not_before, doc.not_after)}, ${cost}.`;
    }
    case "counter-offer": {
      const cost = doc.price ? `for ${price(doc.price)}` : "at your published price";
      return `Answer request ${doc.request} with other terms: a licence to ${purposes(doc.purposes)} ${until(doc.not_after)}, ${cost}.`;
    }
    case "revocation":
      return `Revoke licence ${doc.grant} from ${when(doc.effective_at)} on${doc.reason ? `, because: “${doc.reason}”` : ""}. Runs made under it before then stay licensed.`;
    default:
      return `Sign a ${kind} document.`;
  }
}

async function eventSentence(kind, events, context) {
  const first = events[0];
  const count = events.length;
  switch (kind) {
    case "owner.created":
    case "licensee.created": {
      const role = kind === "owner.created" ? "creator" : "lab";
      const name = context.body?.name ? `“${context.body.name}” ` : "";
      return `Register you on this registry as the ${role} ${name}(${first.payload?.id}), with the key this browser holds.`;
    }
    case "collection.created":
      return `Make the collection “${first.payload?.name}”.`;
    case "dispute.opened":
      return `Open ${plural(count, "dispute")}: ${count === 1 ? "this file was" : "these files were"} registered by another owner first.`;
    case "request.denied": {
      const reason = first.payload?.reason;
      return `Deny licence request ${first.subject}${reason ? `, saying: “${reason}”` : ""}.`;
    }
    case "request.accepted":
      return `Accept the owner's counter-offer on licence request ${first.subject}; the owner may then grant it.`;
    case "run.started":
      return `Record that your training run ${first.subject} starts now, to ${PURPOSES[first.payload?.purpose] || first.payload?.purpose}.`;
    case "manifest.recorded": {
      const works = first.payload?.manifest?.works;
      const size = Array.isArray(works) ? ` listing ${plural(works.length, "work")}` : "";
      return `Record the manifest of training run ${first.subject}${size}, as you signed it.`;
    }
    default: {
      // An event that records a document signed in this change says nothing new.
      const what = RECORDED[kind] || `${EVENTS[kind] || kind} (${kind})`;
      const records = count === 1 ? "" : ` (${plural(count, "record")})`;
      return `Record in the registry's history, in your name, that ${what}${records}.`;
    }
  }
}

/** The sentences a round's messages say. `messages`: [{kind, body}] with `kind` the
 * message's type line ("consentry/grant/v1") and `body` its parsed JSON. `context`:
 * {names: Names, body: the change's request body}. */
export async function describe(messages, context) {
  const sentences = [];
  const works = [];
  const events = new Map();
  const leaves = new Map();
  for (const { kind, body } of messages) {
    if (kind === "consentry/log-leaf/v1") {
      leaves.set(body.event, (leaves.get(body.event) || 0) + 1);
    } else if (kind === "consentry/event/v1") {
      if (!events.has(body.event)) events.set(body.event, []);
      events.get(body.event).push(body);
    } else {
      const name = kind.slice("consentry/".length, -"/v1".length);
      if (name === "work") works.push(body);
      else sentences.push(await documentSentence(name, body, context.names));
    }
  }
  if (works.length) {
    const shown = works.slice(0, 5).map((w) => `“${w.title || w.path}”`);
    const more = works.length > 5 ? ` and ${plural(works.length - 5, "more")}` : "";
    const where = works[0].collection ? ` in collection ${works[0].collection}` : "";
    sentences.unshift(`Register ${plural(works.length, "file")} as your works${where}: ${shown.join(", ")}${more}.`);
  }
  for (const [kind, found] of events) sentences.push(await eventSentence(kind, found, context));
  for (const [kind, count] of leaves) {
    const what = EVENTS[kind] || kind;
    // What the registry shows anyone (its parties, works and terms) it shows as yours
    // on its log page; the rest only this registry can tie to you.
    const whose = PUBLIC_EVENTS.has(kind)
      ? "Parties, works and terms are public: the registry's log page shows this line as yours."
      : "The log does not say who or what; only this registry can tie it to you.";
    sentences.push(`Add ${plural(count, "line")} to the public log saying ${what}, and when. ${whose}`);
  }
  return sentences;
}
