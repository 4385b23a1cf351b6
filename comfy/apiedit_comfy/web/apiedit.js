// API Image Edit: reload the model list when the provider changes, offer a refresh button,
// and a key dialog (set / not set per provider, password fields) that sends an API key to the
// pack's write-only key route. The key is
// never stored in a widget, so it never reaches the workflow, PNG metadata or /history.
import { app } from "../../scripts/app.js";
import { api } from "../../scripts/api.js";

const NODE = "APIImageEdit";
const LEGACY = "APIImageEditNode"; // the original pack's node: its workflows may store a key

const widget = (node, name) => node.widgets?.find((w) => w.name === name);

// ---- the adaptive model input (ComfyUI 0.33: a DynamicCombo, see the pack's schema.py) ----------
// The model's knobs are widgets and sockets named `model.<knob>` (images: `model.images.imageN`).
const ANY_MODEL = "(any model: type its id in Model override)";
const CONTROL = "control_after_generate";
// widgets_values of the flat node (0.3.x), by position; the seed widget is followed by its control
const FLAT = ["provider", "model", "prompt", "model_override", "negative_prompt", "seed", CONTROL,
  "strength", "guidance", "steps", "size", "aspect_ratio", "resolution", "count", "watermark",
  "conversation_mode", "use_last_image", "reset_conversation", "conversation_name", "base_url",
  "lossless_upload"];
const CONTROLS = ["fixed", "increment", "decrement", "randomize"];

function adaptiveSpec(node) {
  const spec = node.constructor?.nodeData?.input?.required?.model;
  return spec?.[0] === "COMFY_DYNAMICCOMBO_V3" ? spec[1] : null;
}

// The frontend labels a DynamicCombo's inputs with their raw names ("negative_prompt"): show the
// schema's display names instead. It also leaves the seed's "control after generate" widget
// behind when the seed goes (another model): drop controls no widget links to any more, so a
// saved workflow's widget values keep their places. A new seed's control starts "fixed".
// Frontends before 1.4x (ComfyUI 0.3.75) ignore an input's display_name for its widget: show
// the schema's labels on every version (top-level names, and `model.<knob>` on the adaptive node).
function applyLabels(node) {
  const spec = node.constructor?.nodeData?.input ?? {};
  const labels = {};
  const collect = (groups, prefix) => {
    for (const group of groups) {
      for (const [key, value] of Object.entries(group ?? {})) {
        if (value?.[1]?.display_name) labels[prefix + key] = value[1].display_name;
      }
    }
  };
  collect([spec.required, spec.optional], "");
  for (const option of adaptiveSpec(node)?.options ?? []) {
    collect([option.inputs?.required, option.inputs?.optional], "model.");
  }
  for (const w of node.widgets ?? []) if (labels[w.name]) w.label = labels[w.name];
  for (const input of node.inputs ?? []) if (labels[input.name]) input.label = labels[input.name];
}

function tidyAdaptive(node, { fixNewControls = true } = {}) {
  const spec = adaptiveSpec(node);
  if (!spec || !node.widgets) return;
  applyLabels(node);
  const linked = new Set(node.widgets.flatMap((w) => w.linkedWidgets ?? []));
  if (linked.size || !widget(node, "model.seed")) {
    for (let i = node.widgets.length - 1; i >= 0; i--) {
      const w = node.widgets[i];
      if (w.name === CONTROL && !linked.has(w)) node.widgets.splice(i, 1);
    }
  }
  for (const w of node.widgets) {
    if (w.name === CONTROL && !w.apieditSeen) {
      w.apieditSeen = true; // a loaded workflow's control keeps its saved choice
      if (fixNewControls) w.value = "fixed";
    }
  }
}

// A workflow saved with the flat node (0.3.x) lists its widget values by the flat positions:
// on the adaptive node they would land on the wrong widgets. Put each back by name.
function fromFlatValues(node, values) {
  if (!adaptiveSpec(node) || !Array.isArray(values) || values.length !== FLAT.length) return false;
  if (!CONTROLS.includes(values[6]) || typeof values[2] !== "string" || typeof values[20] !== "boolean") return false;
  const byName = Object.fromEntries(FLAT.map((name, i) => [name, values[i]]));
  const provider = widget(node, "provider");
  const model = widget(node, "model");
  if (provider) provider.value = byName.provider;
  if (model) model.value = byName.model; // creates the model's knob widgets
  for (const [name, value] of Object.entries(byName)) {
    if (name === "provider" || name === "model" || name === CONTROL) continue;
    const target = widget(node, name) ?? widget(node, `model.${name}`);
    if (target) target.value = ["size", "aspect_ratio", "resolution"].includes(name) && value === "" ? "provider default" : value;
  }
  tidyAdaptive(node, { fixNewControls: false });
  const control = widget(node, CONTROL);
  if (control) {
    control.value = byName[CONTROL];
    control.apieditSeen = true;
  }
  return true;
}

// While a saved workflow is configured, the new node still holds the default model's widgets
// (and its seed control) when the values are dealt out by position, so values after the model
// can land one place off. Once the saved model's widgets stand (orphan controls dropped), deal
// them out again: the widgets are now the ones that were saved.
function reapplyValues(node, values) {
  if (!adaptiveSpec(node)) return;
  tidyAdaptive(node, { fixNewControls: false });
  if (!Array.isArray(values)) return;
  const saved = node.widgets.filter((w) => w.serialize !== false && w.options?.serialize !== false);
  if (saved.length !== values.length || saved[1]?.name !== "model" || saved[1].value !== values[1]) return;
  saved.forEach((w, i) => {
    if (w.name !== "provider" && w.name !== "model" && w.value !== values[i]) w.value = values[i];
  });
}

async function fetchModels(provider, refresh) {
  const query = `provider=${encodeURIComponent(provider)}${refresh ? "&refresh=1" : ""}`;
  const response = await api.fetchApi(`/comfy-apiedit/models?${query}`);
  if (!response.ok) throw new Error(`model list: HTTP ${response.status}`);
  const data = await response.json();
  // Models the key's live list lacks (available === false) are not offered; the default first.
  const ids = data.models.filter((m) => !m.retired && m.available !== false).map((m) => m.id);
  if (data.default && ids.includes(data.default)) ids.sort((a, b) => (b === data.default) - (a === data.default));
  return { ids, error: data.error };
}

// Only the newest reload of a node may touch its widgets: an answer for a provider the node no
// longer shows (a fast switch, or a saved workflow configured while the first list was loading)
// is dropped. `keepValue` (a loaded workflow) never changes the saved model, even when it is no
// longer listed: validation then says why, instead of silently running another model.
async function reloadModels(node, { refresh = false, keepValue = false } = {}) {
  const provider = widget(node, "provider");
  const model = widget(node, "model");
  if (!provider || !model) return;
  const requested = provider.value;
  const ticket = (node.apieditReloads = (node.apieditReloads ?? 0) + 1);
  try {
    const { ids, error } = await fetchModels(requested, refresh);
    if (node.apieditReloads !== ticket || provider.value !== requested) return;
    if (refresh && error) window.alert(`${requested}: the model list could not be refreshed.\n${error}`);
    if (ids.length) {
      // adaptive: the catch-all option (every knob, for an id typed in Model override) stays
      model.options.values = adaptiveSpec(node) ? [...ids, ANY_MODEL] : ids;
      if (!keepValue && !ids.includes(model.value)) {
        model.value = ids[0];
        model.callback?.(model.value);
      }
    }
    node.setDirtyCanvas(true, true);
  } catch (error) {
    console.warn("apiedit:", error);
  }
}

// ---- the key dialog --------------------------------------------------------------------------
// A <dialog> of the pack's own: the frontend's dialog API (`app.extensionManager.dialog.prompt`,
// frontend 1.49; none in 1.32) has only a plain text field, which shows the key while it is typed.
// Each provider has a row with "set"/"not set" (from GET /comfy-apiedit/keys, which never answers
// a key) and a password field. A typed key goes only to the write-only POST route; the field is
// emptied as it is sent and the dialog leaves the page when closed, so the key stays in no widget,
// workflow, prompt, storage or log.
const DIALOG_CLASS = "apiedit-key-dialog";
const STYLE = `
.${DIALOG_CLASS} { background: var(--comfy-menu-bg, #202020); color: var(--fg-color, #ddd);
  border: 1px solid var(--border-color, #4e4e4e); border-radius: 8px; padding: 16px 20px;
  font: 14px sans-serif; max-width: min(760px, 95vw); }
.${DIALOG_CLASS}::backdrop { background: rgba(0, 0, 0, 0.5); }
.${DIALOG_CLASS} h2 { font-size: 16px; margin: 0 0 8px; }
.${DIALOG_CLASS} p { margin: 4px 0 12px; opacity: 0.85; }
.${DIALOG_CLASS} table { border-collapse: collapse; width: 100%; }
.${DIALOG_CLASS} td, .${DIALOG_CLASS} th { padding: 4px 6px; text-align: left; white-space: nowrap; }
.${DIALOG_CLASS} td.state { white-space: normal; max-width: 16em; }
.${DIALOG_CLASS} tr.current th { text-decoration: underline; }
.${DIALOG_CLASS} .state-set { color: #6c6; }
.${DIALOG_CLASS} .state-unset { color: #d96; }
.${DIALOG_CLASS} input { background: var(--comfy-input-bg, #222); color: var(--input-text, #ddd);
  border: 1px solid var(--border-color, #4e4e4e); border-radius: 4px; padding: 4px 6px; width: 16em; }
.${DIALOG_CLASS} button { background: var(--comfy-input-bg, #222); color: var(--input-text, #ddd);
  border: 1px solid var(--border-color, #4e4e4e); border-radius: 4px; padding: 4px 10px; cursor: pointer; }
.${DIALOG_CLASS} .message { min-height: 1.4em; margin-top: 10px; }
.${DIALOG_CLASS} .close { float: right; margin-top: 6px; }
`;

async function keyStatus() {
  const response = await api.fetchApi("/comfy-apiedit/keys");
  const data = await response.json();
  if (!response.ok) throw new Error(data.error ?? `HTTP ${response.status}`);
  return data;
}

// What a provider's row says about its key (never the key: the route does not know how to say it).
function stateText(state) {
  if (state.needs_key === false && !state.set) return "no key needed";
  if (!state.set) return "not set";
  const env = state.source?.startsWith("env:") ? state.source.slice(4) : null;
  return env ? `set (environment variable ${env}, used before a key saved here)` : "set";
}

function element(tag, props = {}, ...children) {
  const el = Object.assign(document.createElement(tag), props);
  el.append(...children);
  return el;
}

async function sendKey(provider, key) {
  const response = await api.fetchApi("/comfy-apiedit/keys", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ provider, api_key: key }),
  });
  const data = await response.json();
  if (!response.ok) throw new Error(data.error ?? `HTTP ${response.status}`);
  return data;
}

async function askForKey(node) {
  if (!document.getElementById(`${DIALOG_CLASS}-style`)) {
    document.head.append(element("style", { id: `${DIALOG_CLASS}-style`, textContent: STYLE }));
  }
  const current = widget(node, "provider")?.value;
  const message = element("p", { className: "message", role: "status" });
  let status;
  try {
    status = await keyStatus();
  } catch (error) {
    window.alert(`API keys: the key status could not be read (${error.message ?? error})`);
    return;
  }
  const dialog = element("dialog", { className: DIALOG_CLASS });
  dialog.setAttribute("aria-label", "API keys");
  const rows = element("tbody");
  const ids = Object.keys(status).sort((a, b) => (b === current) - (a === current));
  for (const provider of ids) {
    const state = element("td", { className: "state" });
    const field = element("input", {
      type: "password", name: `apiedit-key-${provider}`, autocomplete: "off", spellcheck: false,
      placeholder: "paste a new key",
    });
    field.setAttribute("aria-label", `API key for ${provider}`);
    const save = element("button", { type: "button", textContent: "Save" });
    const remove = element("button", { type: "button", textContent: "Remove" });
    const row = element("tr", { className: provider === current ? "current" : "" },
      element("th", { textContent: status[provider].label ?? provider, title: provider }), state,
      element("td", {}, field), element("td", {}, save, " ", remove));
    row.dataset.provider = provider;
    const show = (answer) => {
      state.textContent = stateText(answer);
      state.className = `state ${answer.set ? "state-set" : "state-unset"}`;
      remove.hidden = answer.source !== "file"; // only a saved key can be removed here
    };
    show(status[provider]);
    const send = async (key) => {
      field.value = ""; // the key leaves the page now and stays nowhere in it
      try {
        const answer = await sendKey(provider, key);
        message.textContent = `${provider}: key ${answer.set ? "set" : "removed"}`;
        show((await keyStatus())[provider] ?? { set: answer.set });
      } catch (error) {
        message.textContent = `${provider}: ${error.message ?? error}`;
      }
    };
    save.addEventListener("click", () => {
      if (field.value) send(field.value);
      else message.textContent = `${provider}: type a key first (Remove deletes a saved one)`;
    });
    remove.addEventListener("click", async () => {
      await send("");
      field.focus(); // the Remove button may hide: keep the focus in the dialog
    });
    field.addEventListener("keydown", (event) => {
      event.stopPropagation(); // ComfyUI's shortcuts never see the key's letters
      if (event.key === "Enter" && field.value) send(field.value);
    });
    rows.append(row);
  }
  // A form keeps the password fields where browsers expect them; it is never submitted.
  const form = element("form", { autocomplete: "off" }, element("table", {}, rows));
  form.addEventListener("submit", (event) => event.preventDefault());
  const close = element("button", { type: "button", className: "close", textContent: "Close" });
  close.addEventListener("click", () => dialog.close());
  dialog.append(
    element("h2", { textContent: "API keys" }),
    element("p", { textContent: "Stored on the ComfyUI server in a private key file, never in the " +
      "workflow; a saved key cannot be read back. Save with Enter or the Save button." }),
    form, message, close);
  // Escape closes it on every frontend (1.32 takes Escape before the dialog's own cancel).
  const escape = (event) => {
    if (event.key !== "Escape") return;
    event.stopPropagation();
    event.preventDefault();
    dialog.close();
  };
  window.addEventListener("keydown", escape, true);
  dialog.addEventListener("close", () => {
    window.removeEventListener("keydown", escape, true);
    for (const field of dialog.querySelectorAll("input")) field.value = "";
    dialog.remove();
  });
  document.body.append(dialog);
  dialog.showModal();
  dialog.querySelector(`tr[data-provider="${CSS.escape(current ?? "")}"] input`)?.focus();
}

async function askToTrust(node) {
  // A base_url in a shared workflow is used only once the user trusts it here (or with
  // `apiedit keys trust PROVIDER URL`): a workflow alone can never send a key elsewhere.
  const provider = widget(node, "provider")?.value;
  if (!provider) return;
  const url = window.prompt(
    `Trust this base URL for ${provider}? Workflows may then send your ${provider} key to it ` +
      "(only do this for a relay or proxy you use yourself):",
    widget(node, "base_url")?.value || "",
  );
  if (!url) return;
  try {
    const response = await api.fetchApi("/comfy-apiedit/keys/trust", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ provider, base_url: url, trusted: true }),
    });
    const data = await response.json();
    window.alert(response.ok ? `${provider}: trusted ${data.trusted}` : data.error);
  } catch (error) {
    window.alert(`${provider}: the URL could not be sent (${error})`);
  }
}

// A workflow of the original node is configured with its stored key: blank it before anything
// can queue it, so it never reaches the prompt, /history or a saved PNG.
function dropStoredKey(node) {
  const onConfigure = node.onConfigure;
  node.onConfigure = function (...args) {
    const result = onConfigure?.apply(this, args);
    const key = widget(node, "api_key");
    if (key?.value) {
      key.value = "";
      console.warn(
        "apiedit: this workflow stored an API key in the original node; it was removed " +
          "(keys no longer live in workflows). Set it once with the 'set API key…' button.",
      );
    }
    return result;
  };
}

app.registerExtension({
  name: "apiedit.APIImageEdit",
  async nodeCreated(node) {
    if (node.comfyClass === LEGACY) dropStoredKey(node);
    if (node.comfyClass !== NODE) return;
    const provider = widget(node, "provider");
    if (provider) {
      const original = provider.callback;
      provider.callback = function (...args) {
        const result = original?.apply(this, args);
        reloadModels(node);
        return result;
      };
    }
    // A new node's seed control starts at "fixed": re-running an unchanged workflow then hits
    // ComfyUI's cache instead of paying again (the frontends start it at "randomize"; a string
    // `control_after_generate` in the schema would rename the control instead, 0.3.75 and 0.33).
    // A loaded workflow restores its own choice afterwards, in configure.
    const control = node.widgets?.find((w) => w.name === "control_after_generate");
    if (control && control.value !== "fixed") control.value = "fixed";
    applyLabels(node);
    const model = widget(node, "model");
    if (model && adaptiveSpec(node)) {
      const picked = model.callback;
      model.callback = function (...args) {
        const result = picked?.apply(this, args);
        tidyAdaptive(node);
        return result;
      };
      tidyAdaptive(node);
    }
    // A saved workflow (or a paste) is configured after nodeCreated: load its provider's list.
    const onConfigure = node.onConfigure;
    node.onConfigure = function (...args) {
      const result = onConfigure?.apply(this, args);
      if (!fromFlatValues(node, args[0]?.widgets_values)) reapplyValues(node, args[0]?.widgets_values);
      reloadModels(node, { keepValue: true });
      return result;
    };
    for (const [label, action] of [
      ["refresh models", () => reloadModels(node, { refresh: true })],
      ["set API key…", () => askForKey(node)],
      ["trust base URL…", () => askToTrust(node)],
    ]) {
      // Not part of the workflow: `serialize` keeps it out of widgets_values, and
      // `options.serialize` out of the prompt that graphToPrompt() sends to the server.
      node.addWidget("button", label, null, action, { serialize: false }).serialize = false;
    }
    reloadModels(node);
  },
});
