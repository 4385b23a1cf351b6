// API Image Edit: reload the model list when the provider changes, offer a refresh button,
// and a small dialog that sends an API key to the pack's write-only key route. The key is
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

async function askForKey(node) {
  const provider = widget(node, "provider")?.value;
  if (!provider) return;
  const key = window.prompt(
    `API key for ${provider} (stored on the ComfyUI server in a private key file; ` +
      "leave empty to remove it):",
    "",
  );
  if (key === null) return;
  try {
    const response = await api.fetchApi("/comfy-apiedit/keys", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ provider, api_key: key }),
    });
    const data = await response.json();
    window.alert(response.ok ? `${provider}: key ${data.set ? "set" : "removed"}` : data.error);
  } catch (error) {
    window.alert(`${provider}: the key could not be sent (${error})`);
  }
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
