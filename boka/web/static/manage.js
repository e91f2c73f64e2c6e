// The manage-booking page: /manage/<token>?tenant=<slug>, the link in every booking message.
import { BokaApi } from "./api.js";
import { errorText, t, translateStatic } from "./i18n.js";
import { detectedTimeZone, el, field, money, timeZones, whenLabel } from "./format.js";
import { SlotPicker } from "./slot-picker.js";

const token = decodeURIComponent(location.pathname.split("/")[2] || "");
const api = new BokaApi(new URLSearchParams(location.search).get("tenant"));
const $ = (id) => document.getElementById(id);

const state = { business: null, booking: null, timeZone: detectedTimeZone(), mode: "view", slot: null, staffId: null, notice: "" };
let picker = null;

function showAlert(message) {
  $("alert").textContent = message || "";
  $("alert").hidden = !message;
}

async function start() {
  translateStatic(render);
  $("status").textContent = t("loading");
  try {
    [state.business, state.booking] = await Promise.all([api.business(), api.bookingByLink(token)]);
  } catch (error) {
    $("status").textContent = "";
    showAlert(errorText(error));
    return;
  }
  $("status").textContent = "";
  render();
}

/** What the service's policy gives back if the booking is cancelled now, from what was paid. */
function refundPreview(booking) {
  const policy = booking.service.cancellationPolicy;
  const free = Date.now() <= Date.parse(booking.startTime) - policy.freeCancelHours * 3600e3;
  const percent = free ? 100 : policy.lateCancelRefundPercent;
  const paid = booking.payments
    .filter((payment) => payment.kind === "booking" && payment.status === "succeeded")
    .reduce((sum, payment) => sum + payment.amount.amount
      - payment.refunds.reduce((back, refund) => back + refund.amount.amount, 0), 0);
  const lines = [free ? t("refundFree") : t("refundLate", { hours: policy.freeCancelHours, percent })];
  if (paid > 0) lines.push(t("refundAmount", { amount: money({ amount: Math.floor(paid * percent / 100), currency: booking.price.currency }) }));
  else lines.push(t("nothingPaid"));
  return { paid, lines };
}

function render() {
  if (!state.booking) return;
  const { booking } = state;
  document.title = `${t("yourBooking")} · ${state.business.name}`;
  $("business-name").textContent = state.business.name;
  const section = $("booking");
  section.hidden = false;
  const changeable = booking.status === "PENDING" || booking.status === "CONFIRMED";

  const [zoneField, zoneSelect] = field(t("timeZone"), { id: "time-zone" }, "select");
  zoneSelect.append(...timeZones(state.timeZone).map((zone) => el("option", {
    value: zone, text: zone.replace(/_/g, " "), selected: zone === state.timeZone,
  })));
  zoneSelect.addEventListener("change", () => { state.timeZone = zoneSelect.value; render(); });

  const facts = el("dl", { class: "facts" },
    el("dt", { text: t("service") }), el("dd", { text: booking.service.name }),
    el("dt", { text: t("when") }), el("dd", { id: "when", text: whenLabel(booking.startTime, state.timeZone) }),
    el("dt", { text: t("with") }), el("dd", { text: booking.staff.displayName }),
    el("dt", { text: t("price") }), el("dd", { text: money(booking.price) }),
    el("dt", { text: t("statusLabel") }), el("dd", { id: "booking-status", text: t(`status_${booking.status}`) }));

  const parts = [el("h2", { text: t("yourBooking") }),
    state.notice ? el("p", { class: "notice", role: "status", text: state.notice }) : null,
    facts, zoneField];
  if (changeable) {
    parts.push(el("p", { class: "hint", text: t("policy", { hours: booking.service.cancellationPolicy.freeCancelHours }) }));
    if (state.mode === "view") {
      parts.push(el("div", { class: "actions" },
        el("button", { type: "button", id: "reschedule", class: "primary", text: t("reschedule"), onclick: () => { state.mode = "reschedule"; state.notice = ""; render(); } }),
        el("button", { type: "button", id: "cancel", class: "danger", text: t("cancel"), onclick: () => { state.mode = "cancel"; state.notice = ""; render(); } })));
    } else if (state.mode === "reschedule") {
      parts.push(rescheduleForm());
    } else if (state.mode === "cancel") {
      parts.push(cancelForm());
    }
  }
  if (picker && state.mode !== "reschedule") { picker.unwatch(); picker = null; }
  section.replaceChildren(...parts.filter(Boolean));
  if (state.mode === "reschedule") startPicker();
}

function rescheduleForm() {
  const { booking } = state;
  const [staffField, staffSelect] = field(t("staff"), { id: "staff" }, "select");
  staffSelect.append(el("option", { value: "", text: t("anyone") }),
    ...booking.service.staff.map((member) => el("option", { value: member.id, text: member.displayName, selected: member.id === state.staffId })));
  staffSelect.addEventListener("change", () => { state.staffId = staffSelect.value || null; startPicker(); });
  const confirm = el("button", { type: "button", id: "confirm-reschedule", class: "primary", disabled: true, text: t("reschedule"), onclick: doReschedule });
  return el("div", { class: "panel" },
    el("h3", { text: t("reschedule") }), staffField, el("div", { id: "slots" }),
    el("div", { class: "actions" }, confirm,
      el("button", { type: "button", class: "secondary", text: t("keepBooking"), onclick: () => { state.mode = "view"; render(); } })));
}

function startPicker() {
  const box = $("slots");
  if (picker) picker.unwatch();
  picker = new SlotPicker(api, box, (slot) => {
    state.slot = slot;
    const confirm = $("confirm-reschedule");
    if (confirm) {
      confirm.disabled = !slot;
      confirm.textContent = slot ? t("rescheduleTo", { when: whenLabel(slot.start, state.timeZone) }) : t("reschedule");
    }
  });
  picker.show({ serviceId: state.booking.service.id, staffId: state.staffId, timeZone: state.timeZone });
}

async function doReschedule() {
  if (!state.slot) return;
  showAlert("");
  const button = $("confirm-reschedule");
  button.disabled = true;
  try {
    state.booking = await api.reschedule(token, state.slot.start, state.staffId);
    state.mode = "view";
    state.notice = t("rescheduled", { when: whenLabel(state.booking.startTime, state.timeZone) });
    render();
  } catch (error) {
    showAlert(errorText(error));
    button.disabled = false;
  }
}

function cancelForm() {
  const preview = refundPreview(state.booking);
  const [reasonField, reasonInput] = field(t("cancelReason"), { id: "cancel-reason" }, "textarea");
  return el("div", { class: "panel", id: "cancel-panel" },
    el("h3", { text: t("cancel") }),
    el("div", { id: "refund-preview" }, preview.lines.map((line) => el("p", { text: line }))),
    reasonField,
    el("div", { class: "actions" },
      el("button", { type: "button", id: "confirm-cancel", class: "danger", text: t("confirmCancel"), onclick: async (event) => {
        event.target.disabled = true;
        showAlert("");
        try {
          const result = await api.cancel(token, reasonInput.value.trim());
          state.booking = result.booking;
          state.mode = "view";
          state.notice = [t("cancelled"), preview.paid > 0 && result.refund ? t("refunded", { amount: money(result.refund) }) : null].filter(Boolean).join(" ");
          render();
        } catch (error) {
          showAlert(errorText(error));
          event.target.disabled = false;
        }
      } }),
      el("button", { type: "button", class: "secondary", text: t("keepBooking"), onclick: () => { state.mode = "view"; render(); } })));
}

start();
