// Gatehouse console: small enhancements on pages that work without them.
"use strict";

document.addEventListener("click", async (event) => {
  const copy = event.target.closest("[data-copy]");
  if (copy) {
    const source = document.querySelector(copy.dataset.copy);
    const value = source.value !== undefined ? source.value : source.textContent;
    try {
      await navigator.clipboard.writeText(value);
    } catch {
      // Clipboard refused (no secure context): select it so the user can copy.
      if (source.select) source.select();
    }
    const was = copy.textContent;
    copy.textContent = "Copied";
    setTimeout(() => { copy.textContent = was; }, 1500);
    return;
  }
  const add = event.target.closest("[data-add-row]");
  if (add) {
    const body = document.querySelector(add.dataset.addRow);
    const last = body.querySelector("tr:last-child");
    const row = last.cloneNode(true);
    const index = body.children.length;
    row.querySelectorAll("input, select, label").forEach((el) => {
      for (const attr of ["id", "for"]) {
        if (el.hasAttribute(attr)) el.setAttribute(attr, el.getAttribute(attr).replace(/param-\d+-/, `param-${index}-`));
      }
      if (el.tagName === "INPUT") el.value = "";
      if (el.tagName === "SELECT") el.selectedIndex = el.name === "param_location" ? 1 : 0;
    });
    body.appendChild(row);
    row.querySelector("input").focus();
  }
});

document.addEventListener("submit", (event) => {
  const button = event.submitter;
  if (button && button.dataset.confirm && !window.confirm(button.dataset.confirm)) event.preventDefault();
});

document.addEventListener("change", (event) => {
  if (event.target.matches("[data-autosubmit]")) event.target.form.submit();
});

// The inputSchema preview: asks the server, which builds it as the data plane lists it.
const toolForm = document.querySelector("form[data-schema-preview]");
if (toolForm) {
  const preview = document.querySelector("#schema-preview code");
  let timer;
  const refresh = async () => {
    const response = await fetch(toolForm.dataset.schemaPreview, {
      method: "POST",
      body: new URLSearchParams(new FormData(toolForm)),
      credentials: "same-origin",
    });
    if (response.ok) preview.textContent = await response.text();
  };
  toolForm.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(refresh, 250); });
  toolForm.addEventListener("change", () => { clearTimeout(timer); timer = setTimeout(refresh, 50); });
}
