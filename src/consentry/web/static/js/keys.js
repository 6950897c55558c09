// The party's Ed25519 key in this browser: made by WebCrypto, kept in IndexedDB by
// account id (a CryptoKey, never its bytes), backed up to a file sealed with a
// passphrase the server never sees, restored from that file, or imported from the
// CLI's key file. The key is extractable only until its backup is made; from then on
// this browser can sign with it but no script can read it.

import { base64ToBytes, bytesToBase64, bytesToHex, sha256 } from "./httpsig.js";

const ED25519 = { name: "Ed25519" };
const DATABASE = "consentry";
const STORE = "keys";
export const BACKUP_FORMAT = "consentry-key-backup";
export const BACKUP_VERSION = 1;
export const MIN_ITERATIONS = 600000;
// A file asking for more would make opening it take minutes: refused, not obeyed.
const MAX_ITERATIONS = 10000000;
export const MIN_PASSPHRASE = 12;
const encoder = new TextEncoder();

/** A sentence for the person: what went wrong and what to do; `field` names the
 * control it is about ("file", "passphrase"), where one is. */
export class KeyError extends Error {
  constructor(message, field = null) {
    super(message);
    this.field = field;
  }
}

// -- ids and key ids ------------------------------------------------------------------

const BASE32 = "abcdefghijklmnopqrstuvwxyz234567";

function base32(bytes) {
  let bits = 0;
  let value = 0;
  let out = "";
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += BASE32[(value << (5 - bits)) & 31];
  return out;
}

/** A new id, as consentry.ids.new_id makes one: `prefix_` and 80 random bits in
 * lowercase base32. */
export function newId(prefix) {
  return `${prefix}_${base32(crypto.getRandomValues(new Uint8Array(10)))}`;
}

/** A new party id: `own_` or `lic_`. `role`: "owner" or "licensee". */
export function newPartyId(role) {
  const prefix = role === "owner" ? "own" : role === "licensee" ? "lic" : null;
  if (prefix === null) throw new KeyError(`A party is an owner or a licensee, not ${role}.`);
  return newId(prefix);
}

/** As PublicKey.key_id: the first 8 bytes of SHA-256 over the raw public key, hex. */
export async function keyIdOf(rawPublic) {
  return bytesToHex((await sha256(rawPublic)).slice(0, 8));
}

function fromBase64url(text) {
  const padded = text.replace(/-/g, "+").replace(/_/g, "/");
  return base64ToBytes(padded + "=".repeat((4 - (padded.length % 4)) % 4));
}

async function described(privateKey, rawPublic) {
  return { privateKey, publicKeyHex: bytesToHex(rawPublic), keyId: await keyIdOf(rawPublic) };
}

/** A new key, extractable so that its backup can be made: {privateKey, publicKeyHex,
 * keyId}. */
export async function generateKey() {
  const pair = await crypto.subtle.generateKey(ED25519, true, ["sign", "verify"]);
  const raw = new Uint8Array(await crypto.subtle.exportKey("raw", pair.publicKey));
  return described(pair.privateKey, raw);
}

/** A PKCS#8 Ed25519 private key (DER) as a key of this browser: non-extractable
 * unless `extractable`; its public half read from the JWK's `x`. */
export async function importPkcs8(der, { extractable = false } = {}) {
  let readable;
  try {
    readable = await crypto.subtle.importKey("pkcs8", der, ED25519, true, ["sign"]);
  } catch {
    throw new KeyError("This file holds no Ed25519 private key; choose the key file the CLI wrote.");
  }
  const jwk = await crypto.subtle.exportKey("jwk", readable);
  const raw = fromBase64url(jwk.x);
  const kept = extractable ? readable : await crypto.subtle.importKey("pkcs8", der, ED25519, false, ["sign"]);
  return described(kept, raw);
}

/** The key of a CLI key file (`consentry owner create` writes `<party id>.key`: a PEM
 * PKCS#8 "PRIVATE KEY", unencrypted), not extractable here: the file is its backup. */
export async function importPem(text) {
  if (/-----BEGIN ENCRYPTED PRIVATE KEY-----/.test(text)) {
    throw new KeyError("This key file is encrypted; choose the unencrypted .key file the CLI wrote.");
  }
  const found = /-----BEGIN PRIVATE KEY-----([A-Za-z0-9+/=\s]+)-----END PRIVATE KEY-----/.exec(text);
  if (!found) {
    throw new KeyError("This is not a key file: it has no PRIVATE KEY block; choose the .key file the CLI wrote.");
  }
  let der;
  try {
    der = base64ToBytes(found[1].replace(/\s+/g, ""));
  } catch {
    throw new KeyError("This key file is damaged: its PRIVATE KEY block is not base64.");
  }
  return importPkcs8(der);
}

/** The party id a CLI key file's name says (`own_….key`), or null. */
export function partyIdOfFileName(name) {
  const found = /^((?:own|lic)_[a-z2-7]{16})\.key$/.exec(name || "");
  return found ? found[1] : null;
}

// -- this browser's store -------------------------------------------------------------

function openDatabase() {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DATABASE, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE, { keyPath: "account" });
    request.onsuccess = () => resolve(request.result);
    request.onerror = () =>
      reject(new KeyError("This browser will not keep a key (its storage is off or full); allow site data and reload."));
  });
}

async function inStore(mode, act) {
  const db = await openDatabase();
  try {
    return await new Promise((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      const request = act(tx.objectStore(STORE));
      let result;
      request.onsuccess = () => {
        result = request.result;
      };
      tx.oncomplete = () => resolve(result);
      tx.onerror = () => reject(new KeyError("This browser could not save the key; allow site data and try again."));
      tx.onabort = tx.onerror;
    });
  } finally {
    db.close();
  }
}

/** Keep `record` ({account, partyId, keyId, publicKeyHex, privateKey, backedUpAt,
 * source}) as this browser's key for its account, replacing any before. */
export function storeKey(record) {
  return inStore("readwrite", (store) => store.put(record));
}

/** The key record this browser keeps for `accountId`, or null. */
export async function storedKey(accountId) {
  return (await inStore("readonly", (store) => store.get(accountId))) || null;
}

export function forgetKey(accountId) {
  return inStore("readwrite", (store) => store.delete(accountId));
}

let whoami = null;

/** The account signed in, as the site says: {id, name, role, party_id, key_id}. */
export function signedInAccount() {
  whoami ??= fetch("/account/party", { headers: { Accept: "application/json" }, credentials: "same-origin" })
    .then(async (answer) => {
      if (!answer.ok) throw new KeyError("Sign in first: your key is kept for your account.");
      return answer.json();
    })
    .catch((error) => {
      whoami = null;
      throw error;
    });
  return whoami;
}

/** The signed-in account's party key, if this browser holds it: {privateKey,
 * publicKeyHex, keyId, partyId}, or null (no party yet, or its key is elsewhere). */
export async function loadKey() {
  const account = await signedInAccount();
  if (!account.party_id) return null;
  const record = await storedKey(account.id);
  if (!record || record.partyId !== account.party_id || record.keyId !== account.key_id) return null;
  const { privateKey, publicKeyHex, keyId, partyId } = record;
  return { privateKey, publicKeyHex, keyId, partyId };
}

// -- backups --------------------------------------------------------------------------

function aad(partyId, keyId) {
  // Bound into the seal: a file whose party or key id was edited does not open.
  return encoder.encode(`${BACKUP_FORMAT}/v${BACKUP_VERSION}\n${partyId}\n${keyId}`);
}

async function passphraseKey(passphrase, salt, iterations, usage) {
  const secret = await crypto.subtle.importKey(
    "raw",
    encoder.encode(passphrase.normalize("NFC")),
    "PBKDF2",
    false,
    ["deriveKey"],
  );
  return crypto.subtle.deriveKey(
    { name: "PBKDF2", hash: "SHA-256", salt, iterations },
    secret,
    { name: "AES-GCM", length: 256 },
    false,
    [usage],
  );
}

/** The backup of `record`'s extractable key as a JSON text: its PKCS#8 bytes sealed
 * with AES-256-GCM under a key PBKDF2-SHA256 derives from `passphrase`. */
export async function makeBackup(record, passphrase) {
  if (passphrase.length < MIN_PASSPHRASE) {
    throw new KeyError(`A passphrase is at least ${MIN_PASSPHRASE} characters; a few words you will remember are good.`, "passphrase");
  }
  let pkcs8;
  try {
    pkcs8 = await crypto.subtle.exportKey("pkcs8", record.privateKey);
  } catch {
    throw new KeyError("This browser's key is sealed after its backup and cannot be read again; keep the backup you made.");
  }
  const salt = crypto.getRandomValues(new Uint8Array(16));
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const key = await passphraseKey(passphrase, salt, MIN_ITERATIONS, "encrypt");
  const sealed = await crypto.subtle.encrypt(
    { name: "AES-GCM", iv, additionalData: aad(record.partyId, record.keyId) },
    key,
    pkcs8,
  );
  const backup = {
    format: BACKUP_FORMAT,
    version: BACKUP_VERSION,
    party: record.partyId,
    key_id: record.keyId,
    public_key: record.publicKeyHex,
    kdf: { name: "PBKDF2", hash: "SHA-256", iterations: MIN_ITERATIONS, salt: bytesToBase64(salt) },
    cipher: { name: "AES-GCM", iv: bytesToBase64(iv) },
    ciphertext: bytesToBase64(sealed),
    made_at: new Date().toISOString(),
  };
  return JSON.stringify(backup, null, 2);
}

/** Offer `text` as a file download named `name` (a Blob URL, revoked after). */
export function download(text, name, type = "application/json") {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const link = document.createElement("a");
  link.href = url;
  link.download = name;
  link.hidden = true;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60000);
}

export function backupFileName(partyId) {
  return `consentry-key-${partyId}.json`;
}

function parseBackup(text) {
  let backup;
  try {
    backup = JSON.parse(text);
  } catch {
    throw new KeyError("This is not a key backup: it is not JSON; choose the file the key page downloaded.");
  }
  if (!backup || backup.format !== BACKUP_FORMAT) {
    throw new KeyError("This is not a consentry key backup; choose the file the key page downloaded.");
  }
  if (backup.version !== BACKUP_VERSION) {
    throw new KeyError(`This backup is version ${backup.version}, which this page cannot read.`);
  }
  const kdf = backup.kdf || {};
  const iterations = kdf.iterations;
  if (kdf.name !== "PBKDF2" || kdf.hash !== "SHA-256" || backup.cipher?.name !== "AES-GCM") {
    throw new KeyError("This backup is sealed in a way this page does not open.");
  }
  if (!Number.isInteger(iterations) || iterations < MIN_ITERATIONS || iterations > MAX_ITERATIONS) {
    throw new KeyError("This backup's passphrase stretching is outside what this page accepts; it was not made here.");
  }
  return backup;
}

/** The key a backup file holds, once `passphrase` opens it: {privateKey (not
 * extractable), publicKeyHex, keyId, partyId}. Throws KeyError with a sentence. */
export async function restoreBackup(text, passphrase) {
  const backup = parseBackup(text);
  let pkcs8;
  try {
    const key = await passphraseKey(passphrase, base64ToBytes(backup.kdf.salt), backup.kdf.iterations, "decrypt");
    pkcs8 = await crypto.subtle.decrypt(
      { name: "AES-GCM", iv: base64ToBytes(backup.cipher.iv), additionalData: aad(backup.party, backup.key_id) },
      key,
      base64ToBytes(backup.ciphertext),
    );
  } catch {
    throw new KeyError("That passphrase does not open this backup; type the one you chose when you made it.", "passphrase");
  }
  const restored = await importPkcs8(pkcs8);
  if (restored.keyId !== backup.key_id) {
    throw new KeyError("This backup is damaged: the key inside is not the one it names.");
  }
  return { ...restored, partyId: backup.party };
}

/** `record` with its key sealed: re-imported from its PKCS#8 as not extractable. */
export async function sealed(record) {
  const pkcs8 = await crypto.subtle.exportKey("pkcs8", record.privateKey);
  const privateKey = await crypto.subtle.importKey("pkcs8", pkcs8, ED25519, false, ["sign"]);
  return { ...record, privateKey };
}
