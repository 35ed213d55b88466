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

// "Try it": lists and calls a server's tools through its real MCP endpoint (2026-07-28,
// stateless). Everything from the server is shown as text, never as markup.
const tryIt = document.querySelector("#try-it");
if (tryIt) {
  const endpoint = tryIt.dataset.endpoint;
  const status = tryIt.querySelector("#try-status");
  const list = tryIt.querySelector("#try-tools");
  const keyInput = tryIt.querySelector("#try-key");
  const meta = {
    "io.modelcontextprotocol/protocolVersion": "2026-07-28",
    "io.modelcontextprotocol/clientCapabilities": {},
    "io.modelcontextprotocol/clientInfo": { name: "gatehouse-console", version: "1" },
  };
  let id = 0;
  const rpc = async (method, params, name) => {
    const headers = {
      "Content-Type": "application/json",
      Accept: "application/json, text/event-stream",
      "Mcp-Protocol-Version": "2026-07-28",
      "Mcp-Method": method,
    };
    if (name) headers["Mcp-Name"] = name;
    if (keyInput.value.trim()) headers["X-API-Key"] = keyInput.value.trim();
    const response = await fetch(endpoint, {
      method: "POST",
      headers,
      credentials: "omit",
      body: JSON.stringify({ jsonrpc: "2.0", id: ++id, method, params: { ...params, _meta: meta } }),
    });
    const text = await response.text();
    // A streamed answer: its last data line is the response.
    const body = (response.headers.get("content-type") || "").includes("text/event-stream")
      ? text.split("\n").filter((l) => l.startsWith("data:")).map((l) => l.slice(5)).pop() || "{}"
      : text;
    let message;
    try { message = JSON.parse(body); } catch { message = { error: { message: `HTTP ${response.status}: ${text.slice(0, 200)}` } }; }
    if (message.error) throw new Error(message.error.message || JSON.stringify(message.error));
    return message.result;
  };
  const skeleton = (schema) => {
    const out = {};
    for (const name of (schema && schema.required) || []) {
      const type = schema.properties && schema.properties[name] && schema.properties[name].type;
      out[name] = type === "number" || type === "integer" ? 0 : type === "boolean" ? false : type === "object" ? {} : type === "array" ? [] : "";
    }
    return JSON.stringify(out, null, 2);
  };
  const el = (tag, props = {}, children = []) => {
    const node = Object.assign(document.createElement(tag), props);
    node.append(...children);
    return node;
  };
  tryIt.querySelector("#try-list").addEventListener("click", async () => {
    list.replaceChildren();
    status.textContent = "Listing tools…";
    try {
      const tools = [];
      let cursor;
      do {
        const page = await rpc("tools/list", cursor ? { cursor } : {});
        tools.push(...page.tools);
        cursor = page.nextCursor;
      } while (cursor && tools.length < 5000);
      status.textContent = `${tools.length} tool${tools.length === 1 ? "" : "s"}.`;
      tools.forEach((tool, i) => {
        const args = el("textarea", { id: `try-args-${i}`, rows: 4, spellcheck: false, value: skeleton(tool.inputSchema) });
        const output = el("pre", { className: "try-output", hidden: true });
        const call = el("button", { type: "button", className: "secondary small", textContent: "Call" });
        call.addEventListener("click", async () => {
          output.hidden = false;
          output.textContent = "Calling…";
          try {
            const result = await rpc("tools/call", { name: tool.name, arguments: JSON.parse(args.value || "{}") }, tool.name);
            output.textContent = JSON.stringify(result, null, 2);
          } catch (e) {
            output.textContent = `Error: ${e.message}`;
          }
        });
        list.append(el("details", { className: "try-tool" }, [
          el("summary", {}, [el("code", { textContent: tool.name })]),
          el("p", { className: "hint", textContent: tool.description || "" }),
          el("label", { htmlFor: `try-args-${i}`, textContent: "Arguments (JSON)" }),
          args,
          el("div", { className: "actions" }, [call]),
          output,
        ]));
      });
    } catch (e) {
      status.textContent = `Could not list tools: ${e.message}`;
    }
  });
}
