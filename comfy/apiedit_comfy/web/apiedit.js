// API Image Edit: reload the model list when the provider changes, offer a refresh button,
// and a small dialog that sends an API key to the pack's write-only key route. The key is
// never stored in a widget, so it never reaches the workflow, PNG metadata or /history.
import { app } from "../../scripts/app.js";
import { api } from "../../scripts/api.js";

const NODE = "APIImageEdit";

const widget = (node, name) => node.widgets?.find((w) => w.name === name);

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
      model.options.values = ids;
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

app.registerExtension({
  name: "apiedit.APIImageEdit",
  async nodeCreated(node) {
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
    // ComfyUI's cache instead of paying again (0.3.75's frontend always starts at "randomize").
    // A loaded workflow restores its own choice afterwards, in configure.
    const control = node.widgets?.find((w) => w.name === "control_after_generate");
    if (control && control.value !== "fixed") control.value = "fixed";
    // A saved workflow (or a paste) is configured after nodeCreated: load its provider's list.
    const onConfigure = node.onConfigure;
    node.onConfigure = function (...args) {
      const result = onConfigure?.apply(this, args);
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
