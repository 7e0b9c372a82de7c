// Sends a message into the flow: module, input port, and a JSON payload
// that is checked here before anything is sent.
import { call } from "./api.js";
import { h, fill } from "./dom.js";

export class InjectForm {
  constructor(flowId, sent) {
    this.flowId = flowId;
    this.sent = sent;
    this.module = h("select", { id: "inject-module", onchange: () => this.syncPorts() });
    this.port = h("select", { id: "inject-port" });
    this.payload = h("textarea", { id: "inject-payload", spellcheck: false, "aria-describedby": "inject-error" }, "\"Hello, brave world\"");
    this.error = h("p.error", { id: "inject-error", role: "alert" });
    this.note = h("p.note", { id: "inject-note", role: "status" });
    this.button = h("button.primary", { type: "submit", id: "inject-send" }, "Inject");
    this.el = h("form", { onsubmit: (ev) => { ev.preventDefault(); this.send(); } },
      h("label", { for: "inject-module" }, "Module"), this.module,
      h("label", { for: "inject-port" }, "Input port"), this.port,
      h("label", { for: "inject-payload" }, "Payload (JSON)"), this.payload,
      this.error, this.note,
      h("div.toolbar.actions", {}, this.button));
  }

  setFlow(flow) {
    this.flow = flow;
    const keep = this.module.value;
    fill(this.module, flow.modules.map((m) => h("option", { value: m.id }, m.id)));
    if (flow.modules.some((m) => m.id === keep)) this.module.value = keep;
    this.syncPorts();
  }

  syncPorts() {
    const m = this.flow?.modules.find((x) => x.id === this.module.value);
    const keep = this.port.value;
    fill(this.port, (m?.inputs?.length ? m.inputs : ["in"]).map((p) => h("option", { value: p }, p)));
    if ([...this.port.options].some((o) => o.value === keep)) this.port.value = keep;
  }

  async send() {
    this.error.textContent = "";
    this.note.textContent = "";
    let payload;
    try {
      payload = JSON.parse(this.payload.value);
    } catch (e) {
      this.error.textContent = `The payload is not JSON (${e.message}): write text in quotes ("hello"), objects as {"key": 1}.`;
      this.payload.focus();
      return;
    }
    const target = `${this.flowId}/${this.module.value}`;
    this.button.disabled = true;
    try {
      await call("inject", { flowModuleId: target, port: this.port.value, payload });
      this.count = (this.count || 0) + 1;
      this.note.textContent = `Sent to ${target}.${this.port.value} (${this.count} from this page).`;
      this.sent();
    } catch (e) {
      this.error.textContent = e.message;
    }
    this.button.disabled = false;
  }
}
