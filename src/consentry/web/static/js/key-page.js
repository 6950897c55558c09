// The key page: make the party's key in this browser, register the party with it and
// link it to the account (a request signed by that key proves this browser holds it),
// back it up under a passphrase the server never sees; or bring a key made elsewhere
// (a backup file, or the CLI's key file) to this browser.

import {
  KeyError,
  MIN_PASSPHRASE,
  backupFileName,
  download,
  generateKey,
  importPem,
  makeBackup,
  newPartyId,
  restoreBackup,
  sealed,
  storeKey,
  storedKey,
} from "./keys.js";
import { ProblemError, runChange, sentence } from "./changes.js";
import { signedFetch } from "./httpsig.js";

const page = document.getElementById("key-page");
const $ = (id) => document.getElementById(id);
const account = page.dataset.account;
const role = page.dataset.role; // "owner" or "licensee"
const accountName = page.dataset.name;
const party = page.dataset.party || null;
const partyKeyId = page.dataset.keyId || null;
const inviteOnly = page.dataset.inviteOnly === "true";
const PARTIES = { owner: "/v1/owners", licensee: "/v1/licensees" };
let record = null;

// -- showing --------------------------------------------------------------------------

function show(id, visible = true) {
  $(id).hidden = !visible;
}

function status(text, tone = "") {
  const box = $("key-status");
  box.textContent = text;
  box.className = `notice${tone ? ` ${tone}` : ""}`;
}

/** An error sentence beside `control` (an input id), or beside a form's button. */
function fail(where, text) {
  const control = $(where);
  const box = $(`${where}-error`);
  box.textContent = sentence(text);
  box.hidden = false;
  if (control && control.tagName === "INPUT") {
    control.setAttribute("aria-invalid", "true");
    const described = new Set((control.getAttribute("aria-describedby") || "").split(" ").filter(Boolean));
    described.add(`${where}-error`);
    control.setAttribute("aria-describedby", [...described].join(" "));
    control.focus();
  }
}

function clear(form) {
  for (const box of form.querySelectorAll(".error")) {
    box.textContent = "";
    if (box.id !== `${form.id.replace("-form", "")}-error`) box.hidden = true;
  }
  for (const control of form.querySelectorAll("[aria-invalid]")) control.removeAttribute("aria-invalid");
}

async function busy(button, text, work) {
  const label = button.textContent;
  button.disabled = true;
  button.textContent = text;
  try {
    return await work();
  } finally {
    button.disabled = false;
    // A step may rename its button (a key made here waits to be finished).
    button.textContent = button.dataset.label || label;
    delete button.dataset.label;
  }
}

function heldState() {
  show("have", false);
  if (!record.backedUpAt) {
    status("This browser holds your key, but it has no backup yet: make one now.", "warn");
    show("backup");
    show("done", false);
  } else {
    const when = record.source === "cli" ? "its backup is the key file you imported" : `it was backed up on ${new Date(record.backedUpAt).toLocaleDateString("en-GB", { day: "numeric", month: "short", year: "numeric" })}`;
    status(`This browser holds your key; ${when}.`, "good");
    show("backup", false);
    show("done");
  }
}

// -- the site -------------------------------------------------------------------------

const csrf = () => document.querySelector('meta[name="csrf-token"]').content;

/** Link `key`'s party to this account: POST /account/party signed with the key (the
 * proof this browser holds it) and carrying this page's CSRF token. */
async function link(key) {
  const answer = await signedFetch("/account/party", {
    method: "POST",
    body: "{}",
    key,
    headers: { "X-CSRF-Token": csrf() },
  });
  const json = (answer.headers.get("content-type") || "").includes("json") ? await answer.json() : null;
  if (answer.ok && json) return json;
  if (!json) throw new Error("this page is too old to link your key; reload it and try again");
  const problem = new ProblemError(json, answer.status);
  if (problem.kind === "unknown-key") {
    throw new KeyError(
      "This key's party is not registered on this registry; register it there first (consentry owner create or licensee create), or make a new key here.",
      "file",
    );
  }
  throw problem;
}

async function registered(partyId) {
  const answer = await fetch(`${PARTIES[role]}/${partyId}`, { headers: { Accept: "application/json" } });
  return answer.ok;
}

// -- make -----------------------------------------------------------------------------

async function makeKey(event) {
  event.preventDefault();
  const form = event.target;
  clear(form);
  const invitation = inviteOnly ? $("invitation").value.trim() : "";
  if (inviteOnly && !invitation) {
    fail("invitation", "Type the invitation code this registry's operator gave you.");
    return;
  }
  await busy($("make-button"), "Making your key…", async () => {
    try {
      if (!record) {
        const made = await generateKey();
        record = { account, partyId: newPartyId(role), ...made, backedUpAt: null, source: "made" };
        // Kept before anything is sent: a key registered and then lost would be worse.
        await storeKey(record);
      }
      if (!(await registered(record.partyId))) {
        const body = { id: record.partyId, name: accountName, public_key: record.publicKeyHex };
        if (invitation) body.invitation = invitation;
        await runChange(`register-${role}`, { body, key: record });
      }
      await link(record);
    } catch (error) {
      const where = inviteOnly && /invit/i.test(error.message) ? "invitation" : "make";
      fail(where, error.message);
      if (record) {
        $("make-button").dataset.label = "Finish setting up my key";
        status(`This browser holds a key (${record.keyId}) not yet linked to your account: finish setting it up.`, "warn");
      }
      return;
    }
    show("make", false);
    show("have", false);
    status(`Your key is made and linked to your account: party ${record.partyId}, key ${record.keyId}. Back it up now.`, "warn");
    show("backup");
    $("passphrase").focus();
  });
}

// -- back up --------------------------------------------------------------------------

async function backUp(event) {
  event.preventDefault();
  const form = event.target;
  clear(form);
  const passphrase = $("passphrase").value;
  if (passphrase.length < MIN_PASSPHRASE) {
    fail("passphrase", `A passphrase is at least ${MIN_PASSPHRASE} characters; a few words you will remember are good.`);
    return;
  }
  if ($("passphrase-again").value !== passphrase) {
    fail("passphrase-again", "The two passphrases differ; type the same one twice.");
    return;
  }
  await busy($("backup-button"), "Locking the backup…", async () => {
    try {
      const text = await makeBackup(record, passphrase);
      download(text, backupFileName(record.partyId));
      // From now on no script can read the key back: it only signs.
      record = await sealed({ ...record, backedUpAt: new Date().toISOString() });
      await storeKey(record);
    } catch (error) {
      fail(error.field === "passphrase" ? "passphrase" : "backup", error.message);
      return;
    }
    form.reset();
    heldState();
    $("done-text").textContent = `Your backup is downloaded as ${backupFileName(record.partyId)}. Keep it somewhere other than this computer, and the passphrase where you will find it: without both, a lost browser means a lost key. To use this key in another browser, sign in there and restore it from the file.`;
    $("continue").focus();
  });
}

// -- bring a key here -----------------------------------------------------------------

async function adopt(key, source) {
  if (party && key.keyId !== partyKeyId) {
    throw new KeyError(
      `This file holds key ${key.keyId}, but your account's party ${party} signs with key ${partyKeyId}; choose that key's file.`,
      "file",
    );
  }
  const partyId = party || (await link(key)).party_id;
  record = { account, partyId, keyId: key.keyId, publicKeyHex: key.publicKeyHex, privateKey: key.privateKey, backedUpAt: new Date().toISOString(), source };
  await storeKey(record);
  window.location.reload();
}

function chosenFile(control) {
  const file = $(control).files[0];
  if (!file) fail(control, "Choose the file first.");
  return file;
}

async function restore(event) {
  event.preventDefault();
  const form = event.target;
  clear(form);
  const file = chosenFile("backup-file");
  if (!file) return;
  const passphrase = $("restore-passphrase").value;
  if (!passphrase) {
    fail("restore-passphrase", "Type the passphrase you chose when you made the backup.");
    return;
  }
  await busy($("restore-button"), "Opening the backup…", async () => {
    try {
      const key = await restoreBackup(await file.text(), passphrase);
      if (party && key.partyId !== party) {
        throw new KeyError(`This backup is party ${key.partyId}'s; your account holds ${party}.`, "file");
      }
      await adopt(key, "backup");
    } catch (error) {
      fail(error.field === "passphrase" ? "restore-passphrase" : "backup-file", error.message);
    }
  });
}

async function importKeyFile(event) {
  event.preventDefault();
  const form = event.target;
  clear(form);
  const file = chosenFile("key-file");
  if (!file) return;
  await busy($("import-button"), "Importing…", async () => {
    try {
      await adopt(await importPem(await file.text()), "cli");
    } catch (error) {
      fail("key-file", error.message);
    }
  });
}

// -- start ----------------------------------------------------------------------------

async function start() {
  $("make-form")?.addEventListener("submit", makeKey);
  $("backup-form").addEventListener("submit", backUp);
  $("restore-form").addEventListener("submit", restore);
  $("import-form").addEventListener("submit", importKeyFile);
  try {
    record = await storedKey(account);
  } catch (error) {
    status(sentence(error.message), "bad");
    return;
  }
  if (party) {
    if (record && record.keyId === partyKeyId) {
      heldState();
    } else {
      record = null;
      status("This browser does not hold your key. Restore it from your backup file, or import the key file the command line made.", "warn");
      show("have");
    }
    return;
  }
  if (record) {
    // A key made here earlier whose registration or link did not finish.
    $("make-button").textContent = "Finish setting up my key";
    status(`This browser holds a key (${record.keyId}) not yet linked to your account: finish setting it up.`, "warn");
  } else {
    status("This browser holds no key for your account yet.");
  }
  show("make");
  show("have");
}

start();
