// The charging profile form: fields shown for the purpose and kind chosen, period rows added and
// removed in place, and the checks a person can be told before sending. The server checks it all
// again (the official schema and OCPP's rules); this only saves a round trip.
(function () {
  "use strict";
  const form = document.querySelector("[data-profile-form]");
  if (!form) return;
  const $ = (name) => form.elements[name];
  const rows = () => Array.from(form.querySelectorAll("[data-period]"));

  function showFor() {
    const purpose = $("purpose").value, kind = $("kind").value;
    form.querySelectorAll("[data-show-for-purpose]").forEach((el) => { el.hidden = !el.dataset.showForPurpose.split(" ").includes(purpose); });
    form.querySelectorAll("[data-show-for-kind]").forEach((el) => { el.hidden = !el.dataset.showForKind.split(" ").includes(kind); });
    if (purpose === "ChargePointMaxProfile") $("connector_id").value = "0";
    form.querySelectorAll("[data-unit]").forEach((el) => { el.textContent = $("rate_unit").value; });
  }

  function renumber() {
    rows().forEach((row, i) => {
      row.querySelector("[data-period-number]").textContent = String(i + 1);
      row.querySelectorAll("[data-error-for]").forEach((el) => {
        const base = el.dataset.errorFor.split(".")[0];
        el.dataset.errorFor = base + "." + i;
        el.id = "err-" + base + "-" + i;
      });
      row.querySelectorAll("input, select").forEach((input) => {
        const base = input.name;
        input.id = "f-" + base + "-" + i;
        input.setAttribute("aria-describedby", "err-" + base + "-" + i);
        const label = row.querySelector('label[for^="f-' + base + '-"]');
        if (label) { label.htmlFor = input.id; label.textContent = "Period " + (i + 1) + " " + { period_start: "start offset", period_limit: "limit", period_phases: "phases" }[base]; }
      });
      row.querySelector("[data-remove-period]").setAttribute("aria-label", "Remove period " + (i + 1));
      row.querySelector("[data-remove-period]").disabled = rows().length === 1;
    });
  }

  form.querySelector("[data-add-period]").addEventListener("click", () => {
    const last = rows()[rows().length - 1];
    const copy = last.cloneNode(true);
    copy.querySelectorAll("[data-error-for]").forEach((el) => { el.hidden = true; el.textContent = ""; });
    copy.querySelectorAll("input").forEach((input) => { input.value = ""; input.removeAttribute("aria-invalid"); });
    copy.querySelectorAll("select").forEach((select) => { select.value = last.querySelector("select").value; });
    last.after(copy);
    renumber();
    copy.querySelector("input").focus();
  });

  form.addEventListener("click", (event) => {
    const button = event.target.closest("[data-remove-period]");
    if (!button || rows().length === 1) return;
    button.closest("[data-period]").remove();
    renumber();
  });

  form.elements["transaction_id"].addEventListener("change", (event) => {
    const chosen = event.target.selectedOptions[0];
    if (chosen && chosen.dataset.connector) $("connector_id").value = chosen.dataset.connector;
  });
  ["purpose", "kind", "rate_unit"].forEach((name) => $(name).addEventListener("change", showFor));

  function problems() {
    const found = [];
    const purpose = $("purpose").value, kind = $("kind").value, connector = $("connector_id").value;
    if (purpose === "ChargePointMaxProfile" && connector !== "0") found.push(["connector_id", "Connector: a ChargePointMaxProfile is set on connector 0"]);
    if (purpose === "TxProfile") {
      if (connector === "0") found.push(["connector_id", "Connector: a TxProfile is set on the connector of its transaction"]);
      if (!$("transaction_id").value) found.push(["transaction_id", "Transaction is missing: a TxProfile is for a running session"]);
    }
    if (kind === "Recurring" && !$("start_schedule").value) found.push(["start_schedule", "Schedule start: a Recurring profile recurs from its start"]);
    if ($("valid_from").value && $("valid_to").value && $("valid_to").value <= $("valid_from").value) found.push(["valid_to", "Valid to: must be later than valid from"]);
    let previous = null;
    rows().forEach((row, i) => {
      const start = row.querySelector('[name="period_start"]').value;
      if (start === "") return;
      const value = Number(start);
      if (i === 0 && value !== 0) found.push(["period_start." + i, "Period 1 start offset: the first period starts at 0 s"]);
      else if (previous !== null && value <= previous) found.push(["period_start." + i, "Period " + (i + 1) + " start offset: must be later than the period before it (" + previous + " s)"]);
      previous = value;
    });
    return found;
  }

  form.addEventListener("submit", (event) => {
    form.querySelectorAll("[data-error-for]").forEach((el) => { el.hidden = true; el.textContent = ""; });
    form.querySelectorAll("[aria-invalid]").forEach((el) => el.removeAttribute("aria-invalid"));
    const found = problems();
    if (!found.length) return;
    event.preventDefault();
    found.forEach(([name, message]) => {
      const target = form.querySelector('[data-error-for="' + name + '"]');
      if (!target) return;
      target.hidden = false;
      target.textContent = message;
      const input = target.parentElement.querySelector("input, select");
      if (input) input.setAttribute("aria-invalid", "true");
    });
    const first = form.querySelector('[aria-invalid="true"]');
    if (first) first.focus();
  });

  showFor();
  renumber();
})();
