// The lab's search page: select many works and ask for licences for them at once.
// A request covers one owner's works (the registry refuses one that spans owners), so
// the selection is sent as one request per owner, each signed in this browser with
// the lab's key after the person has read what it says; the page shows how far it
// got and what each owner was sent.

import { CancelledError, runChange, sentence } from "/static/js/changes.js";

const plural = (count, one, many = `${one}s`) => `${count.toLocaleString("en")} ${count === 1 ? one : many}`;

function say(element, text) {
  if (element) element.textContent = text;
}

function chosenWorks(form) {
  return [...form.querySelectorAll('input[name="works"]')].filter((box) => box.checked);
}

/** The selected works grouped by owner, in the order they appear on the page. */
export function byOwner(boxes) {
  const owners = new Map();
  for (const box of boxes) {
    const owner = box.dataset.owner;
    if (!owners.has(owner)) owners.set(owner, { name: box.dataset.ownerName || owner, ids: [] });
    owners.get(owner).ids.push(box.value);
  }
  return owners;
}

function describeSelection(form) {
  const chosen = chosenWorks(form);
  const owners = byOwner(chosen);
  if (!chosen.length) return "No work selected yet.";
  const sent = owners.size === 1 ? "one request will be sent" : `${owners.size} requests will be sent, one per owner`;
  return `${plural(chosen.length, "work")} selected, of ${plural(owners.size, "owner")}: ${sent}.`;
}

/** What every request of this batch asks, from the form's fields; or the field and
 * the sentence that says what to fix. */
function asked(form) {
  const purposes = [...form.querySelectorAll('input[name="purposes"]')].filter((b) => b.checked).map((b) => b.value);
  if (!purposes.length) return { problem: ["purposes", "Choose at least one use you will make of the works."] };
  const body = { purposes, commercial: form.querySelector("#f-commercial").checked };
  const until = form.querySelector("#f-until").value;
  if (until) body.not_after = until;
  const amount = form.querySelector("#f-amount").value.trim();
  const currency = form.querySelector("#f-currency").value.trim().toUpperCase();
  if (amount) {
    if (!/^[0-9]+(\.[0-9]+)?$/.test(amount)) {
      return { problem: ["offer", `${amount} is not an amount; write a number such as 0.05.`] };
    }
    if (!/^[A-Z]{3}$/.test(currency)) {
      return { problem: ["offer", "Give the offer's currency as three letters, such as EUR."] };
    }
    body.offer = { amount, currency, per: form.querySelector("#f-per").value };
  }
  return { body };
}

function clearErrors(form) {
  for (const error of form.querySelectorAll("[data-works-error], [data-purposes-error], [data-offer-error], [data-until-error]")) {
    error.textContent = "";
  }
  for (const control of form.querySelectorAll("[aria-invalid]")) control.removeAttribute("aria-invalid");
}

function showProblem(form, [where, text]) {
  const error = form.querySelector(`[data-${where}-error]`);
  say(error, text);
  const first = where === "works" ? form.querySelector('input[name="works"]') : where === "purposes" ? form.querySelector('input[name="purposes"]') : form.querySelector("#f-amount");
  if (first) {
    first.setAttribute("aria-invalid", "true");
    first.focus();
  }
}

function line(list, text, href) {
  const item = document.createElement("li");
  item.textContent = text;
  if (href) {
    item.append(" ");
    const link = document.createElement("a");
    link.href = href;
    link.textContent = "See it";
    item.append(link);
  }
  list.append(item);
  return item;
}

async function send(form, event) {
  event.preventDefault();
  clearErrors(form);
  const chosen = chosenWorks(form);
  if (!chosen.length) {
    showProblem(form, ["works", "Select at least one work to ask for."]);
    return;
  }
  const { body, problem } = asked(form);
  if (problem) {
    showProblem(form, problem);
    return;
  }
  const owners = byOwner(chosen);
  const panel = form.querySelector("#sending");
  const bar = form.querySelector("#sending-progress");
  const status = form.querySelector("#sending-status");
  const list = form.querySelector("#sending-list");
  const button = form.querySelector('button[type="submit"]');
  panel.hidden = false;
  list.replaceChildren();
  bar.max = owners.size;
  bar.value = 0;
  button.disabled = true;
  form.setAttribute("aria-busy", "true");
  say(status, `Sending ${plural(owners.size, "request")}, one per owner…`);
  let sent = 0;
  let done = 0;
  try {
    for (const [, owner] of owners) {
      const works = plural(owner.ids.length, "work");
      say(status, `Asking ${owner.name} for ${works} (${done + 1} of ${owners.size})…`);
      try {
        const made = await runChange("request-licence", {
          body: { ...body, scope: { kind: "works", ids: owner.ids } },
          confirm: `Your key will sign a licence request to ${owner.name} for ${works}:`,
        });
        sent += 1;
        line(list, `Sent to ${owner.name}: request ${made.id} for ${works}.`, `/lab/requests/${encodeURIComponent(made.id)}`);
      } catch (failure) {
        const why = failure instanceof CancelledError ? "you cancelled, so nothing was signed." : sentence(failure.message);
        line(list, `Not sent to ${owner.name} (${works}): ${why}`).className = "bad";
      }
      done += 1;
      bar.value = done;
    }
  } finally {
    button.disabled = false;
    form.removeAttribute("aria-busy");
  }
  say(status, `Sent ${sent} of ${plural(owners.size, "request")}.${sent < owners.size ? " Those not sent are listed with why." : ""}`);
}

const form = document.getElementById("request-form");
if (form) {
  const selected = form.querySelector("#selected");
  form.addEventListener("change", (event) => {
    if (event.target.name === "works") say(selected, describeSelection(form));
  });
  say(selected, describeSelection(form));
  form.addEventListener("submit", (event) => send(form, event));
}
