// The terms editor: every choice rewrites its sentence (the sentences come from the
// page, written once on the server), the preview, and the document the save form
// signs. Nothing here signs or sends: changes.js does, from #terms-document.
const editor = document.getElementById("terms-choices");
const documentField = document.getElementById("terms-document");
const preview = document.getElementById("preview-json");
const $ = (id) => document.getElementById(id);
const number = new Intl.NumberFormat("en");

function fill(template, values) {
  return template.replace(/\{(\w+)\}/g, (_, name) => values[name] ?? "");
}

function build() {
  const terms = { version: 1 };
  const categories = {};
  for (const radio of editor.querySelectorAll("input[type=radio][data-category]:checked")) {
    const category = radio.dataset.category;
    $(`sentence-${category}`).textContent = radio.dataset.sentence;
    const cell = $(`preview-${category}`);
    if (cell) cell.textContent = radio.value || "not set";
    if (radio.value) categories[category] = radio.value;
  }
  if (Object.keys(categories).length) terms.categories = categories;

  const amount = $("price-amount").value.trim();
  const currency = $("price-currency").value.trim().toUpperCase();
  const per = $("price-per");
  if (amount) {
    terms.price = { per: per.value, amount, currency };
    $("sentence-price").textContent = fill(editor.dataset.priceSentence, {
      amount,
      currency,
      per: per.selectedOptions[0].textContent,
    });
  } else {
    $("sentence-price").textContent = editor.dataset.noPrice;
  }

  const conditions = {};
  const sentences = [];
  for (const control of editor.querySelectorAll("[data-condition]")) {
    const name = control.dataset.condition;
    let value = null;
    let shown = "";
    if (control.type === "checkbox") {
      if (control.checked) value = true;
    } else if (control.type === "number") {
      if (control.value !== "") {
        value = Number(control.value);
        shown = number.format(value);
      }
    } else if (control.value.trim()) {
      value = control.value.trim();
      shown = value;
    }
    if (value !== null) {
      conditions[name] = value;
      sentences.push(fill(control.dataset.sentence, { value: shown }));
    }
  }
  if (Object.keys(conditions).length) terms.conditions = conditions;
  const list = $("sentence-conditions");
  list.replaceChildren(
    ...sentences.map((text) => {
      const item = document.createElement("li");
      item.textContent = text;
      return item;
    }),
  );

  const text = JSON.stringify(terms, null, 2);
  documentField.value = text;
  preview.textContent = text;
}

editor.addEventListener("input", build);
editor.addEventListener("change", build);
editor.addEventListener("submit", (event) => event.preventDefault());
build();
