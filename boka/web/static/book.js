// The public booking page: /book/<tenant slug> (or /book on the business's own domain).
import { BokaApi, rowId } from "./api.js";
import { errorText, language, t, translateStatic } from "./i18n.js";
import { detectedTimeZone, el, field, icsUrl, money, timeLabel, timeZones, whenLabel } from "./format.js";
import { SlotPicker } from "./slot-picker.js";
import { WaitlistPanel } from "./waitlist-panel.js";

const slug = decodeURIComponent(location.pathname.split("/")[2] || "") || null;
const api = new BokaApi(slug);
const $ = (id) => document.getElementById(id);

const state = {
  business: null,
  services: [],
  service: null,
  staffId: null,
  timeZone: detectedTimeZone(),
  slot: null,
  quote: null,
  discountCode: "",
  idempotencyKey: null, // one key per booking attempt: a double click or a retry books once
  busy: false,
  hold: null, // { holdId, start, expiresAt }: the chosen time, held for this customer (holdSlot)
  holding: null, // the holdSlot under way (a booking waits for it)
  holdNote: null, // why the chosen time is not held, or was let go, in words
};

function showAlert(message) {
  const alert = $("alert");
  alert.textContent = message || "";
  alert.hidden = !message;
}

function newAttempt() {
  state.idempotencyKey = null;
}

async function start() {
  translateStatic(render);
  $("status").textContent = t("loading");
  try {
    [state.business, state.services] = await Promise.all([api.business(), api.services()]);
  } catch (error) {
    $("status").textContent = "";
    showAlert(errorText(error));
    return;
  }
  $("status").textContent = "";
  state.service = state.services[0] || null;
  render();
}

let picker = null;

/** The business's logo, colour and welcome text (set in its settings; CSSOM, not inline CSS). */
function showBranding(business) {
  const logo = $("business-logo");
  logo.hidden = !business.logoUrl;
  if (business.logoUrl) {
    logo.src = business.logoUrl;
    logo.alt = business.name;
  }
  const intro = $("business-intro");
  intro.textContent = business.bookingPageIntro || "";
  intro.hidden = !business.bookingPageIntro;
  if (business.brandColor) {
    const root = document.documentElement.style;
    root.setProperty("--brand", business.brandColor);
    root.setProperty("--brand-text", readableOn(business.brandColor));
  }
}

/** Black or white, whichever reads better on a #rrggbb background (WCAG relative luminance). */
function readableOn(hex) {
  const channels = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16) / 255)
    .map((c) => (c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4));
  const luminance = 0.2126 * channels[0] + 0.7152 * channels[1] + 0.0722 * channels[2];
  return luminance > 0.179 ? "#111827" : "#ffffff";
}

function render() {
  if (!state.business) return;
  document.title = `${t("bookTitle")} · ${state.business.name}`;
  $("business-name").textContent = state.business.bookingPageTitle || state.business.name;
  showBranding(state.business);
  const section = $("booking");
  section.hidden = false;

  const serviceChoice = el("fieldset", { class: "services" }, el("legend", { text: t("service") }),
    state.services.map((service) => {
      const id = `service-${service.id}`;
      return el("div", { class: "choice" },
        el("input", {
          type: "radio", name: "service", id, value: service.id, checked: service === state.service,
          onchange: () => { state.service = service; state.staffId = null; newAttempt(); render(); },
        }),
        el("label", { for: id },
          el("strong", { text: service.name }),
          el("span", { class: "meta", text: [
            t("minutes", { n: service.durationMinutes }), money(service.price),
            service.capacity > 1 ? t("seats", { n: service.capacity }) : null,
          ].filter(Boolean).join(" · ") }),
          service.description ? el("span", { class: "description", text: service.description }) : null));
    }));

  const [staffField, staffSelect] = field(t("staff"), { id: "staff" }, "select");
  staffSelect.append(el("option", { value: "", text: t("anyone") }),
    ...(state.service ? state.service.staff : []).map((member) => el("option", {
      value: member.id, text: member.displayName, selected: member.id === state.staffId,
    })));
  staffSelect.addEventListener("change", () => { state.staffId = staffSelect.value || null; newAttempt(); refreshSlots(); });

  const [zoneField, zoneSelect] = field(t("timeZone"), { id: "time-zone" }, "select");
  zoneSelect.append(...timeZones(state.timeZone).map((zone) => el("option", {
    value: zone, text: zone.replace(/_/g, " "), selected: zone === state.timeZone,
  })));
  zoneSelect.addEventListener("change", () => { state.timeZone = zoneSelect.value; refreshSlots(); });

  const pickerBox = el("div", { id: "slots" });
  const details = detailsForm();
  const waitlistBox = el("section", { id: "waitlist", class: "panel" });
  section.replaceChildren(el("h2", { text: t("bookTitle") }), serviceChoice,
    el("div", { class: "row" }, staffField, zoneField), pickerBox, waitlistBox, details);
  waitlist = new WaitlistPanel(api, waitlistBox, waitlistContext);
  if (picker) picker.unwatch();
  picker = new SlotPicker(api, pickerBox, (slot) => {
    state.slot = slot;
    state.quote = null;
    newAttempt();
    if (slot) showAlert("");
    holdChosen(slot);
    renderSummary();
    if (slot) refreshQuote();
  }, {
    // a day without free time can be chosen: its waitlist is offered instead of the details form
    fullDaysChoosable: true,
    onNoTime: (target) => {
      waitlist.show(target);
      details.hidden = Boolean(target);
    },
  });
  refreshSlots();
}

let waitlist = null;

/** What the waitlist panel joins for: the page's service, staff choice, time zone, and what
 * the customer already typed into the booking form. */
function waitlistContext() {
  const member = state.staffId && state.service.staff.find((each) => each.id === state.staffId);
  const form = $("details");
  const details = form ? Object.fromEntries(new FormData(form)) : {};
  return {
    service: state.service, staffId: state.staffId, staffName: member ? member.displayName : null,
    timeZone: state.timeZone, details,
  };
}

function refreshSlots() {
  if (!state.service) return;
  waitlist.reset();
  picker.show({ serviceId: state.service.id, staffId: state.staffId, timeZone: state.timeZone });
}

// --- holding the chosen time while the details are filled in (holdSlot / releaseHold) ------

let holdTurn = 0; // the newest choice; an older holdSlot answering late gives its hold back

function releaseQuietly(hold, keepalive = false) {
  // a hold that is gone already (expired, booked) needs nothing; the server frees it anyway
  return api.releaseHold(hold.holdId, { keepalive }).catch(() => {});
}

/** Gives back the time held before (if any), then holds `slot` (null: just give back).
 * Never blocks booking: when holding fails for another reason than the time being taken, the
 * booking goes ahead without a hold, as it did before holds. */
function holdChosen(slot) {
  const turn = ++holdTurn;
  const before = state.hold;
  state.hold = null;
  state.holdNote = null;
  picker.keepHeld(slot);
  state.holding = (async () => {
    if (before) await releaseQuietly(before);
    if (!slot || turn !== holdTurn) return;
    try {
      const hold = await api.holdSlot({
        serviceId: state.service.id, start: slot.start, staffId: state.staffId, seats: 1,
      });
      if (turn !== holdTurn) {
        releaseQuietly(hold);
        return;
      }
      state.hold = hold;
    } catch (error) {
      if (turn !== holdTurn) return;
      picker.keepHeld(null);
      if (error.code === "SLOT_UNAVAILABLE") {
        // taken a moment ago: say so and show the times as they are now
        picker.select(null);
        state.holdNote = t("holdTaken");
        picker.watchDay();
      } else if (error.code === "HOLD_LIMIT") {
        state.holdNote = t("holdLimit");
      }
    }
    renderSummary();
  })();
  return state.holding;
}

// leaving the page gives the held time back at once (else it frees itself at expiresAt)
window.addEventListener("pagehide", () => {
  if (!state.hold) return;
  releaseQuietly(state.hold, true);
  state.hold = null;
  if (picker) picker.keepHeld(null);
});

function detailsForm() {
  const form = el("form", { id: "details", novalidate: true });
  const [first, firstInput] = field(t("firstName"), { name: "firstName", autocomplete: "given-name", required: true });
  const [last, lastInput] = field(t("lastName"), { name: "lastName", autocomplete: "family-name" });
  const [email, emailInput] = field(t("email"), { name: "email", type: "email", autocomplete: "email", required: true });
  const [phone] = field(t("phone"), { name: "phone", type: "tel", autocomplete: "tel" });
  const [notes] = field(t("notes"), { name: "notes" }, "textarea");
  const [code, codeInput] = field(t("discountCode"), { name: "discountCode", value: state.discountCode, autocomplete: "off" });
  const apply = el("button", { type: "button", class: "secondary", text: t("applyCode"), onclick: () => {
    state.discountCode = codeInput.value.trim();
    newAttempt();
    refreshQuote();
  } });
  for (const input of [firstInput, lastInput, emailInput]) input.addEventListener("input", newAttempt);
  form.append(
    el("h2", { text: t("yourDetails") }),
    el("div", { class: "row" }, first, last), el("div", { class: "row" }, email, phone), notes,
    el("div", { class: "row code" }, code, apply),
    el("div", { id: "summary", "aria-live": "polite" }),
    el("button", { type: "submit", id: "book", class: "primary", text: t("book") }),
  );
  form.addEventListener("submit", (event) => { event.preventDefault(); submit(form); });
  return form;
}

async function refreshQuote() {
  if (!state.slot) return;
  const slot = state.slot;
  try {
    state.quote = await api.quote({
      serviceId: state.service.id, start: slot.start, staffId: state.staffId,
      discountCode: state.discountCode, seats: 1,
    });
    state.quoteError = null;
  } catch (error) {
    state.quote = null;
    state.quoteError = errorText(error);
  }
  if (slot === state.slot) renderSummary();
}

function renderSummary() {
  const summary = $("summary");
  if (!summary) return;
  const note = state.holdNote ? el("p", { id: "hold-note", class: "alert", role: "alert", text: state.holdNote }) : null;
  if (!state.slot) {
    summary.replaceChildren(...[note, el("p", { class: "hint", text: t("chooseTime") })].filter(Boolean));
    return;
  }
  const parts = [el("p", { class: "chosen", text: whenLabel(state.slot.start, state.timeZone) })];
  if (state.hold) {
    parts.push(el("p", { id: "hold-note", class: "notice", text: t("holdingUntil", {
      until: timeLabel(state.hold.expiresAt, state.timeZone) }) }));
  } else if (note) parts.push(note);
  if (state.quoteError) parts.push(el("p", { class: "alert", role: "alert", text: state.quoteError }));
  if (state.quote) {
    const { quote } = state;
    parts.push(el("dl", { class: "quote" },
      el("dt", { text: t("price") }), el("dd", { text: money(quote.base) }),
      quote.lines.map((line) => [el("dt", { text: line.label }), el("dd", { text: money(line.amount) })]),
      el("dt", { text: t("total") }), el("dd", { class: "total", text: money(quote.total) })));
  }
  summary.replaceChildren(...parts);
}

async function submit(form) {
  if (state.busy) return;
  showAlert("");
  if (!state.slot) {
    showAlert(t("chooseTime"));
    return;
  }
  if (!form.reportValidity()) return;
  const values = Object.fromEntries(new FormData(form));
  state.idempotencyKey = state.idempotencyKey || crypto.randomUUID();
  const button = $("book");
  state.busy = true;
  button.disabled = true;
  button.textContent = t("booking");
  const slot = state.slot;
  try {
    await state.holding; // a hold being made for this time: book through it
    if (state.slot !== slot) {
      showAlert(state.holdNote || t("chooseTime")); // just taken by someone else
      return;
    }
    const customer = {
      email: values.email.trim(), firstName: values.firstName.trim(), lastName: values.lastName.trim(),
      phone: values.phone.trim() || null,
    };
    const notes = values.notes || "";
    const discountCode = state.discountCode || null;
    // with a hold the time is the held one; without (holding failed), the slot as before
    const input = state.hold
      ? { holdId: state.hold.holdId, customer, notes, discountCode }
      : { serviceId: state.service.id, start: slot.start, staffId: state.staffId, customer, notes, discountCode, seats: 1 };
    const booked = await api.book(input, state.idempotencyKey);
    state.hold = null; // booked: the hold is the booking now (or its payment's hold)
    holdTurn += 1;
    if (picker) picker.unwatch();
    confirmation(booked);
  } catch (error) {
    if (error.code === "HOLD_EXPIRED") {
      await holdAgain(slot);
    } else {
      showAlert(errorText(error));
    }
    if (error.code !== "NETWORK" && error.code !== "IDEMPOTENCY_IN_PROGRESS") newAttempt();
  } finally {
    state.busy = false;
    button.disabled = false;
    button.textContent = t("book");
  }
}

/** The hold ran out before the booking: hold the same time again if it is still free (the
 * customer then books it with one more press), else ask for another time. */
async function holdAgain(slot) {
  // ran out, but its time may not be freed yet (the expiry job frees it): give it back first
  await holdChosen(slot);
  const next = state.hold ? t("holdAgain") : state.holdNote || t("holdTryAgain");
  showAlert(`${t("holdExpired")} ${next}`);
}

/** Stripe, when the business takes card payments: from the API (business(slug) { payments }). */
function stripeConfig() {
  const payments = state.business && state.business.payments;
  return payments && payments.online && payments.stripePublishableKey
    ? { key: payments.stripePublishableKey, js: payments.stripeJsUrl } : null;
}
let stripeLoading = null;

/** Stripe.js from its own origin (never bundled), loaded once, when a payment needs it. */
function loadStripe() {
  stripeLoading = stripeLoading || new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = stripeConfig().js;
    script.onload = () => (window.Stripe ? resolve(window.Stripe) : reject(new Error("no Stripe")));
    script.onerror = () => { stripeLoading = null; reject(new Error("Stripe.js did not load")); };
    document.head.append(script);
  });
  return stripeLoading;
}

function manageUrlOf(manageToken) {
  const tenant = state.business.slug;
  return `${location.origin}/manage/${encodeURIComponent(manageToken)}?tenant=${encodeURIComponent(tenant)}`;
}

/** Paid up front: the booking holds the time until the payment's expiry; Stripe's Payment
 * Element takes the card with the payment's client secret, and the booking is confirmed when
 * Stripe reports the payment (its webhook), whatever happens to this page. */
async function paymentStep(booked) {
  const { booking, manageToken, payment } = booked;
  const section = $("confirmation");
  const amount = money(payment.amount);
  const until = whenLabel(payment.expiresAt, state.timeZone);
  const mount = el("div", { id: "payment-element", role: "group", "aria-label": t("cardDetails") });
  const alert = el("p", { id: "payment-alert", class: "alert", role: "alert", hidden: true });
  const pay = el("button", { type: "submit", id: "pay", class: "primary", text: t("payNow", { amount }) });
  const form = el("form", { id: "payment-form", novalidate: true }, mount, alert, pay);
  section.replaceChildren(
    el("h2", { text: t("paymentNeeded") }),
    el("p", { text: t("confirmationText", {
      service: booking.service.name, staff: booking.staff.displayName,
      when: whenLabel(booking.startTime, state.timeZone) }) }),
    el("p", { id: "pay-by-card", text: t("payByCard", { amount, until }) }),
    form,
    el("p", {}, el("a", { id: "manage-link", href: manageUrlOf(manageToken), text: t("manageLink") })),
  );
  $("booking").hidden = true;
  section.hidden = false;
  section.focus();
  const fail = (message) => { alert.textContent = message; alert.hidden = false; };
  let stripe;
  let elements;
  try {
    const Stripe = await loadStripe();
    stripe = Stripe(stripeConfig().key);
    elements = stripe.elements({ clientSecret: payment.clientSecret, locale: language });
    elements.create("payment").mount(mount);
  } catch {
    pay.disabled = true;
    fail(t("cardFormUnavailable"));
    return;
  }
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (pay.disabled) return;
    alert.hidden = true;
    pay.disabled = true;
    pay.textContent = t("paying");
    try {
      const result = await stripe.confirmPayment({
        elements, redirect: "if_required", confirmParams: { return_url: manageUrlOf(manageToken) },
      });
      if (result.error) {
        fail(result.error.message || t("cardFormUnavailable"));  // Stripe's words, for the customer
      } else {
        confirmation({ ...booked, payment: { ...payment, status: result.paymentIntent.status } });
        return;
      }
    } catch {
      fail(t("cardFormUnavailable"));
    }
    pay.disabled = false;
    pay.textContent = t("payNow", { amount });
  });
}

function confirmation(booked) {
  const { booking, manageToken, payment } = booked;
  const paysOnSite = !payment || payment.status === "due_on_site";
  const paid = payment && payment.status === "succeeded";
  const processing = payment && payment.status === "processing";
  const unpaid = payment && !paysOnSite && !paid && !processing;
  if (unpaid && stripeConfig() && payment.clientSecret) {
    paymentStep(booked);
    return;
  }
  const manageUrl = manageUrlOf(manageToken);
  const when = whenLabel(booking.startTime, state.timeZone);
  const section = $("confirmation");
  section.replaceChildren(...[
    el("h2", { text: unpaid ? t("paymentNeeded") : t("booked") }),
    // Paid up front but this server has no publishable key: say so plainly instead of
    // claiming a booking that expires unpaid.
    unpaid ? el("p", { class: "alert", text: t("payOnlineUnsupported", {
      until: whenLabel(payment.expiresAt, state.timeZone), business: state.business.name }) }) : null,
    el("p", { text: t("confirmationText", { service: booking.service.name, staff: booking.staff.displayName, when }) }),
    el("p", { text: `${t("total")}: ${money(booking.price)}` }),
    booking.status === "PENDING" && !payment ? el("p", { text: t("pendingConfirmation") }) : null,
    paysOnSite ? el("p", { text: t("payOnSite") }) : null,
    paid ? el("p", { class: "notice", text: t("paidOnline") }) : null,
    processing ? el("p", { text: t("paymentProcessing") }) : null,
    el("p", {}, el("a", {
      class: "button", id: "add-to-calendar", download: "booking.ics", text: t("addToCalendar"),
      href: icsUrl({
        // the UID of the invite in the confirmation email, so calendars keep one event
        uid: `booking-${rowId(booking.id)}@${location.hostname}`, start: booking.startTime, end: booking.endTime,
        summary: `${booking.service.name} · ${state.business.name}`, description: manageUrl, url: manageUrl,
      }),
    })),
    el("p", {}, el("a", { id: "manage-link", href: manageUrl, text: t("manageLink") })),
    el("p", { class: "hint", text: t("manageLinkHint") }),
    el("p", {}, el("a", { href: location.pathname, text: t("bookAnother") })),
  ].filter(Boolean));
  $("booking").hidden = true;
  section.hidden = false;
  section.focus();
}

start();
