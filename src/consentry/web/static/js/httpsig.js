// RFC 9421 HTTP Message Signatures with Ed25519 over an RFC 9530 Content-Digest, as
// consentry.crypto.httpsig signs them: the same covered components, parameters and
// structured-field serialisation, so the registry verifies a browser's request exactly
// as it verifies the CLI's. The private key never leaves WebCrypto.

export const COVERED = ["@method", "@target-uri", "content-digest"];
const ALG = "ed25519";
const DEFAULT_PORTS = { http: "80", https: "443" };
// A component is a lowercase field name (an RFC 9110 token) or a derived "@" name.
const COMPONENT = /^@?[a-z0-9!#$%&'*+.^_`|~-]+$/;
const FOLD = /[ \t]*\r\n[ \t]+/g;
const KEY = /^[a-z*][a-z0-9_\-.*]*$/;
const encoder = new TextEncoder();

export class SignatureError extends Error {}

export function bytesToBase64(bytes) {
  let text = "";
  for (const byte of new Uint8Array(bytes)) text += String.fromCharCode(byte);
  return btoa(text);
}

export function base64ToBytes(text) {
  const plain = atob(text);
  const out = new Uint8Array(plain.length);
  for (let i = 0; i < plain.length; i += 1) out[i] = plain.charCodeAt(i);
  return out;
}

export function bytesToHex(bytes) {
  return Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, "0")).join("");
}

export async function sha256(bytes) {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
}

function asBytes(body) {
  if (body === undefined || body === null) return new Uint8Array();
  return typeof body === "string" ? encoder.encode(body) : new Uint8Array(body);
}

// RFC 9651 §4.1.6: a String is printable ASCII, with \ and " escaped.
function sfString(value) {
  if (!/^[\x20-\x7e]*$/.test(value)) {
    throw new SignatureError(`cannot sign ${JSON.stringify(value)}: a nonce is printable ASCII`);
  }
  return `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/** The RFC 9530 Content-Digest of `body` (bytes or a string): `sha-256=:<base64>:`. */
export async function contentDigest(body) {
  return `sha-256=:${bytesToBase64(await sha256(asBytes(body)))}:`;
}

/** The signature parameters as RFC 9651 serialises the inner list Python signs. */
export function signatureParams({ created, nonce, keyId }) {
  if (!Number.isInteger(created) || Math.abs(created) > 999999999999999) {
    throw new SignatureError("created must be an integer number of seconds");
  }
  const covered = COVERED.map(sfString).join(" ");
  return `(${covered});created=${created};nonce=${sfString(nonce)};keyid=${sfString(keyId)};alg=${sfString(ALG)}`;
}

// Header fields by lowercase name, each value unfolded and trimmed (RFC 9421 §2.1);
// names that differ only in case are one field, their values joined by ", ".
function fieldsOf(headers) {
  const fields = {};
  for (const [name, raw] of Object.entries(headers || {})) {
    const key = name.toLowerCase();
    const value = String(raw).replace(FOLD, " ").replace(/^[ \t]+|[ \t]+$/g, "");
    fields[key] = key in fields ? `${fields[key]}, ${value}` : value;
  }
  return fields;
}

// A line break would let one component forge further lines of the base; outside
// ASCII, signer and verifier could disagree on the bytes.
function printable(value, what) {
  if (!/^[\x20-\x7e\t]*$/.test(value)) {
    throw new SignatureError(
      `the request's ${what} holds characters a signature base cannot carry; send printable ASCII`,
    );
  }
  return value;
}

// Python's urllib.parse.urlsplit, as far as a signature base depends on it: the
// scheme lowercased, the netloc after "//", the path, and the query after "?".
function urlsplit(url) {
  const cleaned = url.replace(/^[\x00-\x20]+/, "").replace(/[\t\r\n]/g, "");
  const found = /^([A-Za-z][A-Za-z0-9+.-]*):(.*)$/s.exec(cleaned);
  let scheme = "";
  let rest = cleaned;
  if (found) [, scheme, rest] = found;
  let netloc = "";
  if (rest.startsWith("//")) {
    const end = rest.slice(2).search(/[/?#]/);
    netloc = end < 0 ? rest.slice(2) : rest.slice(2, 2 + end);
    rest = end < 0 ? "" : rest.slice(2 + end);
    if (netloc.includes("[") !== netloc.includes("]")) {
      throw new SignatureError(`the request URL ${JSON.stringify(url)} cannot be parsed; fix it`);
    }
  }
  const mark = rest.indexOf("?");
  return {
    scheme: scheme.toLowerCase(),
    netloc,
    path: mark < 0 ? rest : rest.slice(0, mark),
    query: mark < 0 ? "" : rest.slice(mark + 1),
  };
}

function component(name, method, url, fields) {
  if (!name.startsWith("@")) {
    if (!(name in fields)) {
      throw new SignatureError(`the signature covers the ${name} header, which the request lacks`);
    }
    return printable(fields[name], `${name} header`);
  }
  if (name === "@method") return printable(method, "method");
  const sent = printable(url, "URL").split("#")[0]; // a fragment is never sent
  const parts = urlsplit(sent);
  const authority = parts.netloc.slice(parts.netloc.lastIndexOf("@") + 1); // nor is userinfo
  if (!parts.scheme || !authority) {
    throw new SignatureError(`the request URL ${JSON.stringify(url)} is not absolute`);
  }
  const colon = authority.lastIndexOf(":");
  let host = colon < 0 ? authority : authority.slice(0, colon);
  let port = colon < 0 ? "" : authority.slice(colon + 1);
  if (colon < 0 || port.includes("]")) {
    host = authority;
    port = "";
  }
  // RFC 9421 §2.2.3: the authority lowercase, without its default port; @target-uri
  // keeps the URL as sent.
  if (port !== "" && port !== DEFAULT_PORTS[parts.scheme]) host = `${host}:${port}`;
  const path = parts.path || "/";
  const query = sent.includes("?") ? `?${parts.query}` : "";
  const derived = {
    "@target-uri": `${parts.scheme}://${authority}${path}${query}`,
    "@authority": host.toLowerCase(),
    "@scheme": parts.scheme,
    "@request-target": path + query,
    "@path": path,
    "@query": query || "?",
  };
  if (!(name in derived)) {
    throw new SignatureError(`the signature covers ${name}, which the registry does not support`);
  }
  return derived[name];
}

/** The RFC 9421 §2.5 signature base, as bytes: one line per component, then
 * `"@signature-params": <params>`. Throws SignatureError as Python raises
 * BadSignatureError. */
export function signatureBase({ method, url, headers, components, params }) {
  const fields = fieldsOf(headers);
  const repeated = [...new Set(components.filter((n, i) => components.indexOf(n) !== i))].sort();
  if (repeated.length) {
    throw new SignatureError(`the signature covers ${repeated.join(", ")} twice; once is all`);
  }
  const lines = components.map((name) => {
    if (!COMPONENT.test(name)) {
      throw new SignatureError(`the signature covers ${JSON.stringify(name)}, not a component name`);
    }
    return `"${name}": ${component(name, method, url, fields)}`;
  });
  lines.push(`"@signature-params": ${printable(params, "signature parameters")}`);
  return encoder.encode(lines.join("\n"));
}

/** Sign a request over COVERED with `key` ({privateKey, keyId}); the headers to add:
 * Content-Digest, Signature-Input and Signature. `created` (seconds) and `nonce`
 * default to now and 16 random bytes, as the CLI signs. */
export async function signRequest({ method, url, headers = {}, body, key, created, nonce, label = "sig" }) {
  if (!KEY.test(label)) throw new SignatureError(`cannot sign with label ${JSON.stringify(label)}`);
  const when = created ?? Math.floor(Date.now() / 1000);
  const once = nonce ?? randomNonce();
  const digest = await contentDigest(body);
  const params = signatureParams({ created: when, nonce: once, keyId: key.keyId });
  const base = signatureBase({
    method,
    url,
    headers: { ...fieldsOf(headers), "content-digest": digest },
    components: COVERED,
    params,
  });
  const signature = await crypto.subtle.sign({ name: "Ed25519" }, key.privateKey, base);
  return {
    "Content-Digest": digest,
    "Signature-Input": `${label}=${params}`,
    Signature: `${label}=:${bytesToBase64(signature)}:`,
  };
}

/** As secrets.token_urlsafe(16): 16 random bytes, base64url without padding. */
export function randomNonce() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return bytesToBase64(bytes).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** fetch() a request signed with `key`; `body` is sent as the exact bytes signed. */
export async function signedFetch(path, { method = "GET", body, key, headers = {} } = {}) {
  const url = new URL(path, window.location.origin).href;
  const bytes = asBytes(body);
  const sent = { Accept: "application/json", ...headers };
  if (bytes.length && !Object.keys(sent).some((n) => n.toLowerCase() === "content-type")) {
    sent["Content-Type"] = "application/json";
  }
  Object.assign(sent, await signRequest({ method, url, headers: sent, body: bytes, key }));
  return fetch(url, {
    method,
    headers: sent,
    body: method === "GET" || method === "HEAD" ? undefined : bytes,
    credentials: "same-origin",
  });
}
