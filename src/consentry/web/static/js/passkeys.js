// Passkeys: adding one to the account signed in, and signing in with one. A passkey
// only opens the pages; consent is signed by the party's own key, never by this.

const csrf = () => document.querySelector('meta[name="csrf-token"]').content;

async function post(url, body) {
  const response = await fetch(url, {
    method: "POST",
    credentials: "same-origin",
    headers: { "X-CSRF-Token": csrf(), "Content-Type": "application/json", Accept: "application/json" },
    body,
  });
  if (!response.ok) {
    let detail = `the site answered ${response.status}`;
    try {
      const problem = await response.json();
      detail = problem.detail || problem.title || detail;
    } catch (_) {
      /* not a problem document: the status says enough */
    }
    throw new Error(detail);
  }
  return response.json();
}

function say(where, text) {
  const box = document.querySelector(where);
  if (box) {
    box.textContent = text;
    box.hidden = !text;
  }
}

function cancelled(error) {
  // The person closed the browser's passkey prompt: nothing to explain.
  return error && (error.name === "NotAllowedError" || error.name === "AbortError");
}

async function addPasskey() {
  say("[data-passkey-error]", "");
  try {
    const options = await post("/account/passkeys/options", "{}");
    const made = await navigator.credentials.create({
      publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(options),
    });
    await post("/account/passkeys", JSON.stringify(made.toJSON()));
    window.location.reload();
  } catch (error) {
    say("[data-passkey-error]", cancelled(error) ? "No passkey was added." : error.message);
  }
}

async function signIn() {
  say("[data-passkey-error]", "");
  try {
    const options = await post("/sign-in/passkey/options", "{}");
    const answer = await navigator.credentials.get({
      publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(options),
    });
    const signedIn = await post("/sign-in/passkey", JSON.stringify(answer.toJSON()));
    window.location.assign(signedIn.to);
  } catch (error) {
    say("[data-passkey-error]", cancelled(error) ? "You did not sign in with a passkey." : error.message);
  }
}

const supported =
  typeof window.PublicKeyCredential === "function" &&
  typeof PublicKeyCredential.parseCreationOptionsFromJSON === "function";

for (const button of document.querySelectorAll("[data-passkey-add]")) {
  button.hidden = !supported;
  button.addEventListener("click", addPasskey);
}
for (const button of document.querySelectorAll("[data-passkey-sign-in]")) {
  button.hidden = !supported;
  button.addEventListener("click", signIn);
}
