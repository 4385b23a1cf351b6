// API Image Edit: reload the model list when the provider changes, offer a refresh button,
// and a small dialog that sends an API key to the pack's write-only key route. The key is
// never stored in a widget, so it never reaches the workflow, PNG metadata or /history.
import { app } from "../../scripts/app.js";
import { api } from "../../scripts/api.js";

const NODE = "APIImageEdit";

async function fetchModels(provider, refresh) {
  const query = `provider=${encodeURIComponent(provider)}${refresh ? "&refresh=1" : ""}`;
  const response = await api.fetchApi(`/apiedit/models?${query}`);
  if (!response.ok) throw new Error(`model list: HTTP ${response.status}`);
  const data = await response.json();
  return data.models.filter((m) => !m.retired).map((m) => m.id);
}

async function reloadModels(node, refresh = false) {
  const provider = node.widgets.find((w) => w.name === "provider");
  const model = node.widgets.find((w) => w.name === "model");
  if (!provider || !model) return;
  try {
    const ids = await fetchModels(provider.value, refresh);
    if (ids.length) {
      model.options.values = ids;
      if (!ids.includes(model.value)) model.value = ids[0];
    }
    node.setDirtyCanvas(true, true);
  } catch (error) {
    console.warn("apiedit:", error);
  }
}

async function askForKey(node) {
  const provider = node.widgets.find((w) => w.name === "provider")?.value;
  if (!provider) return;
  const key = window.prompt(
    `API key for ${provider} (stored on the ComfyUI server in a private key file; ` +
      "leave empty to remove it):",
    "",
  );
  if (key === null) return;
  const response = await api.fetchApi("/apiedit/keys", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ provider, api_key: key }),
  });
  const data = await response.json();
  window.alert(response.ok ? `${provider}: key ${data.set ? "set" : "removed"}` : data.error);
}

app.registerExtension({
  name: "apiedit.APIImageEdit",
  async nodeCreated(node) {
    if (node.comfyClass !== NODE) return;
    const provider = node.widgets?.find((w) => w.name === "provider");
    if (provider) {
      const original = provider.callback;
      provider.callback = function (...args) {
        const result = original?.apply(this, args);
        reloadModels(node);
        return result;
      };
    }
    for (const [label, action] of [
      ["refresh models", () => reloadModels(node, true)],
      ["set API key…", () => askForKey(node)],
    ]) {
      node.addWidget("button", label, null, action).serialize = false; // not part of the workflow
    }
    reloadModels(node);
  },
});
