// The live staff calendar: /calendar (?tenant=<slug>, or the business's own domain). Staff,
// managers and owners sign in (with their second factor when they have one) and see a day or
// a week per staff member or for the team; bookingEvents keeps it live, and it refetches after
// a dropped socket, since subscriptions are only hints.
import { BokaApi, bookingAction, calendarData, completeMfaSignIn, signIn, timeOff, watchBookings } from "./api.js";
import { errorText, t, translateStatic } from "./i18n.js";
import { addDays, afterDate, beforeDate, detectedTimeZone, el, field, localDate, longDayLabel, timeLabel } from "./format.js";

const TOKEN_KEY = "boka.calendar.token";
const tenant = new URLSearchParams(location.search).get("tenant");
const api = new BokaApi(tenant, sessionStorage.getItem(TOKEN_KEY));
const $ = (id) => document.getElementById(id);

const state = { view: "day", date: null, staffId: "", data: null, timeOff: null, live: false, stop: null };

function showAlert(message) {
  $("alert").textContent = message || "";
  $("alert").hidden = !message;
}

function signInForm(challenge = null) {
  const section = $("sign-in");
  const form = el("form", { novalidate: true });
  if (challenge) {
    const [codeField, codeInput] = field(t("mfaCode"), { name: "code", autocomplete: "one-time-code", inputmode: "numeric", required: true });
    form.append(codeField, el("button", { type: "submit", class: "primary", text: t("verify") }));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      try {
        signedIn((await completeMfaSignIn(api, challenge, codeInput.value.trim())).token);
      } catch (error) {
        showAlert(errorText(error));
      }
    });
  } else {
    const [emailField, emailInput] = field(t("email"), { name: "email", type: "email", autocomplete: "username", required: true });
    const [passwordField, passwordInput] = field(t("password"), { name: "password", type: "password", autocomplete: "current-password", required: true });
    form.append(emailField, passwordField, el("button", { type: "submit", class: "primary", text: t("signIn") }));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      showAlert("");
      try {
        const result = await signIn(api, emailInput.value.trim(), passwordInput.value);
        if (result.mfaChallenge) signInForm(result.mfaChallenge.token);
        else signedIn(result.token);
      } catch (error) {
        showAlert(errorText(error));
      }
    });
  }
  section.replaceChildren(el("h2", { text: t("signInTitle") }), form);
  section.hidden = false;
  $("calendar").hidden = true;
  const first = form.querySelector("input");
  if (first) first.focus();
}

function signedIn(token) {
  showAlert("");
  api.token = token;
  sessionStorage.setItem(TOKEN_KEY, token);
  $("sign-in").hidden = true;
  start();
}

function range() {
  const days = state.view === "week" ? 7 : 1;
  return Array.from({ length: days }, (_, i) => addDays(state.date, i));
}

let refreshing = null;
let again = false;

/** Refetches what is shown; a refetch asked for while one runs runs once more after it. */
async function refresh() {
  if (refreshing) {
    again = true;
    return refreshing;
  }
  refreshing = (async () => {
    do {
      again = false;
      const dates = range();
      const from = beforeDate(dates[0]);
      const to = afterDate(dates[dates.length - 1]);
      try {
        const [data, off] = await Promise.all([calendarData(api, from, to), timeOff(api, from, to)]);
        state.data = data;
        state.timeOff = off;
        showAlert("");
      } catch (error) {
        if (error.code === "UNAUTHENTICATED") {
          sessionStorage.removeItem(TOKEN_KEY);
          api.token = null;
          signInForm();
          return;
        }
        showAlert(errorText(error));
      }
      render();
    } while (again);
  })();
  try {
    await refreshing;
  } finally {
    refreshing = null;
  }
}

async function start() {
  api.onReconnect = () => { state.live = true; refresh(); };
  api.onDisconnect = () => { state.live = false; render(); };
  state.date = localDate(Date.now(), detectedTimeZone());
  await refresh();
  if (!state.data) return;
  const today = localDate(Date.now(), state.data.viewer.tenant.timeZone); // the business's day
  if (today !== state.date) {
    state.date = today;
    await refresh();
  }
  if (!state.stop) {
    state.stop = watchBookings(api, () => { state.live = true; refresh(); }, () => { state.live = false; render(); });
    state.live = true;
    render();
  }
}

function staffDay(member, date, zone) {
  const weekday = (new Date(`${date}T12:00:00Z`).getUTCDay() + 6) % 7; // 0 is Monday
  const hours = member.weeklyHours.filter((h) => h.weekday === weekday);
  const short = (time) => time.slice(0, 5);
  const lines = [];
  const work = hours.filter((h) => !h.isBreak);
  if (!work.length) lines.push(el("li", { class: "hint", text: t("offWork") }));
  for (const h of work) lines.push(el("li", { class: "hint", text: t("hours", { from: short(h.start), to: short(h.end) }) }));
  for (const h of hours.filter((b) => b.isBreak)) lines.push(el("li", { class: "break", text: t("breakTime", { from: short(h.start), to: short(h.end) }) }));
  for (const off of (state.timeOff && state.timeOff[member.id]) || []) {
    if (localDate(off.startsAt, zone) <= date && localDate(off.endsAt, zone) >= date) {
      lines.push(el("li", { class: "time-off", text: t("timeOffLabel", { from: timeLabel(off.startsAt, zone), to: timeLabel(off.endsAt, zone) }) + (off.reason ? ` (${off.reason})` : "") }));
    }
  }
  const bookings = state.data.bookings
    .filter((b) => b.staff.id === member.id && localDate(b.startTime, zone) === date)
    .sort((a, b) => a.startTime.localeCompare(b.startTime));
  const items = bookings.map((booking) => {
    const customer = `${booking.customer.firstName} ${booking.customer.lastName}`.trim() || booking.customer.email;
    const actions = {
      PENDING: ["confirm", "cancel"], CONFIRMED: ["complete", "noShow", "cancel"],
    }[booking.status] || [];
    return el("li", { class: `booking status-${booking.status.toLowerCase()}`, "data-booking": booking.id },
      el("span", { class: "booking-text", text: t("bookingOf", {
        time: `${timeLabel(booking.startTime, zone)}–${timeLabel(booking.endTime, zone)}`, service: booking.service.name, customer,
      }) }),
      el("span", { class: "badge", text: t(`status_${booking.status}`) }),
      actions.length ? el("span", { class: "actions" }, actions.map((action) => el("button", {
        type: "button", class: action === "cancel" ? "secondary small" : "small", text: t(`action_${action}`),
        "aria-label": `${t(`action_${action}`)}: ${customer}, ${timeLabel(booking.startTime, zone)}`,
        onclick: async (event) => {
          event.target.disabled = true;
          try {
            await bookingAction(api, action, booking.id);
            await refresh();
          } catch (error) {
            showAlert(errorText(error));
            event.target.disabled = false;
          }
        },
      }))) : null);
  });
  return el("div", { class: "staff-day" }, el("h4", { text: member.displayName }),
    el("ul", { class: "plain" }, lines, items.length ? items : el("li", { class: "hint", text: t("noBookings") })));
}

function render() {
  if (!state.data || !state.date) return;
  const { viewer, staff } = state.data;
  const zone = viewer.tenant.timeZone;
  document.title = `${t("calendarTitle")} · ${viewer.tenant.name}`;
  $("business-name").textContent = viewer.tenant.name;
  const shown = staff.filter((member) => !state.staffId || member.id === state.staffId);
  const [viewField, viewSelect] = field(t("view"), { id: "view" }, "select");
  viewSelect.append(el("option", { value: "day", text: t("dayView"), selected: state.view === "day" }),
    el("option", { value: "week", text: t("weekView"), selected: state.view === "week" }));
  viewSelect.addEventListener("change", () => { state.view = viewSelect.value; refresh(); });
  const [staffField, staffSelect] = field(t("staff"), { id: "staff-filter" }, "select");
  staffSelect.append(el("option", { value: "", text: t("team") }),
    ...staff.map((member) => el("option", { value: member.id, text: member.displayName, selected: member.id === state.staffId })));
  staffSelect.addEventListener("change", () => { state.staffId = staffSelect.value; render(); });
  const step = state.view === "week" ? 7 : 1;
  const move = (days) => { state.date = days === 0 ? localDate(Date.now(), zone) : addDays(state.date, days); refresh(); };
  const section = $("calendar");
  section.replaceChildren(
    el("div", { class: "toolbar" },
      el("h2", { text: t("calendarTitle") }),
      el("span", { id: "live", class: state.live ? "live" : "hint", role: "status", text: state.live ? t("live") : t("reconnecting") }),
      el("button", { type: "button", class: "secondary small", text: t("signOut"), onclick: () => {
        sessionStorage.removeItem(TOKEN_KEY);
        location.reload();
      } })),
    el("div", { class: "row" }, viewField, staffField),
    el("div", { class: "day-nav" },
      el("button", { type: "button", class: "secondary", text: t("previous"), onclick: () => move(-step) }),
      el("button", { type: "button", class: "secondary", text: t("today"), onclick: () => move(0) }),
      el("button", { type: "button", class: "secondary", text: t("next"), onclick: () => move(step) })),
    ...range().map((date) => el("div", { class: "cal-day" }, el("h3", { text: longDayLabel(date) }),
      el("div", { class: "staff-grid" }, shown.map((member) => staffDay(member, date, zone))))),
  );
  section.hidden = false;
}

translateStatic(render);
if (api.token) start();
else signInForm();
