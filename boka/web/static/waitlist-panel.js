// "Join the waitlist" on the booking page: offered when the chosen day (or every shown day) has
// no free time for the chosen service and staff member. A guest names themself (as when
// booking); the entry is made through the public API (joinWaitlist) for the chosen day in the
// customer's time zone, optionally narrowed to a time range; the business emails them when a
// time frees up and holds it for them for a while (the claim page: waitlist-offer.js).
import { errorText, t } from "./i18n.js";
import { addDays, el, field, longDayLabel, zonedInstant } from "./format.js";

/** Field errors of joinWaitlist that are about the time range the customer chose. */
const RANGE_FIELDS = new Set(["earliest", "latest"]);

export class WaitlistPanel {
  /** container: an element of its own (kept across live slot updates, so typing is never lost).
   * context(): { service, staffId, staffName, timeZone, details } at the time of joining, where
   * details are the booking form's values (the same person, typed once). */
  constructor(api, container, context) {
    this.api = api;
    this.container = container;
    this.context = context;
    this.target = null;
    this.busy = false;
    this.joined = null;
    this.container.hidden = true;
  }

  /** target: { date } (date null: no shown day has free time), or null to hide the offer. */
  show(target) {
    if (this.joined) return; // the confirmation stays until the customer asks for other times
    this.target = target;
    this.container.hidden = !target;
    if (target) this.render();
  }

  /** Another staff member or time zone: a new line to join (the confirmation goes). */
  reset() {
    this.joined = null;
    this.target = null;
    this.container.hidden = true;
  }

  render() {
    const typed = this.form ? Object.fromEntries(new FormData(this.form)) : {};
    const { service, staffName } = this.context();
    const { date } = this.target;
    const who = staffName ? t("waitlistServiceWith", { service: service.name, staff: staffName }) : service.name;
    const intro = date
      ? t("waitlistDayIntro", { day: longDayLabel(date), service: who })
      : t("waitlistAnyIntro", { service: who });
    const form = el("form", { id: "waitlist-form", novalidate: true });
    const [first, firstInput] = field(t("firstName"), { name: "firstName", autocomplete: "given-name", required: true });
    const [last] = field(t("lastName"), { name: "lastName", autocomplete: "family-name" });
    const [email] = field(t("email"), { name: "email", type: "email", autocomplete: "email", required: true });
    const [phone] = field(t("phone"), { name: "phone", type: "tel", autocomplete: "tel" });
    const range = date ? el("fieldset", { class: "range" },
      el("legend", { text: t("waitlistRange") }),
      el("div", { class: "row" },
        field(t("waitlistEarliest"), { name: "earliest", type: "time" })[0],
        field(t("waitlistLatest"), { name: "latest", type: "time" })[0])) : null;
    this.alert = el("p", { id: "waitlist-alert", class: "alert", role: "alert", hidden: true });
    this.button = el("button", { type: "submit", id: "join-waitlist", class: "primary", text: t("waitlistJoin") });
    form.append(el("div", { class: "row" }, first, last), el("div", { class: "row" }, email, phone),
      range, this.alert, this.button);
    this.prefill(form, typed);
    this.form = form;
    form.addEventListener("submit", (event) => { event.preventDefault(); this.submit(form); });
    this.container.replaceChildren(
      el("h2", { id: "waitlist-title", text: t("waitlistTitle") }),
      el("p", { id: "waitlist-intro", text: intro }),
      form,
    );
    this.container.setAttribute("aria-labelledby", "waitlist-title");
    this.firstInput = firstInput;
  }

  /** What the customer already typed (here for another day, or into the booking form), so
   * they type it once. */
  prefill(form, typed) {
    const { details } = this.context();
    for (const name of ["firstName", "lastName", "email", "phone"]) {
      const value = typed[name] || details[name];
      if (value) form.elements[name].value = value;
    }
  }

  fail(message) {
    this.alert.textContent = message;
    this.alert.hidden = false;
  }

  async submit(form) {
    if (this.busy) return;
    this.alert.hidden = true;
    if (!form.reportValidity()) return;
    const values = Object.fromEntries(new FormData(form));
    const { service, staffId, timeZone } = this.context();
    const { date } = this.target;
    const input = {
      serviceId: service.id, staffId: staffId || null, seats: 1,
      customer: {
        email: values.email.trim(), firstName: values.firstName.trim(), lastName: values.lastName.trim(),
        phone: values.phone.trim() || null,
      },
    };
    if (date) {
      // the chosen day in the customer's zone, narrowed to the times they gave
      input.earliest = zonedInstant(date, values.earliest || "00:00", timeZone);
      input.latest = values.latest
        ? zonedInstant(date, values.latest, timeZone)
        : zonedInstant(addDays(date, 1), "00:00", timeZone);
      if (input.earliest >= input.latest) {
        this.fail(t("waitlistBadRange"));
        return;
      }
    }
    this.busy = true;
    this.button.disabled = true;
    this.button.textContent = t("waitlistJoining");
    try {
      const entry = await this.api.joinWaitlist(input);
      this.confirm(entry, input.customer.email, values);
    } catch (error) {
      this.fail(RANGE_FIELDS.has(error.field) ? t("waitlistBadRange") : errorText(error));
      this.button.disabled = false;
      this.button.textContent = t("waitlistJoin");
    } finally {
      this.busy = false;
    }
  }

  confirm(entry, email, values) {
    this.joined = entry;
    const { service, staffName } = this.context();
    const { date } = this.target;
    const who = staffName ? t("waitlistServiceWith", { service: service.name, staff: staffName }) : service.name;
    let text = t("waitlistJoinedAny", { email, service: who });
    if (date) {
      const when = values.earliest || values.latest
        ? t("waitlistOnDayBetween", { day: longDayLabel(date), from: values.earliest || "00:00", to: values.latest || "24:00" })
        : t("waitlistOnDay", { day: longDayLabel(date) });
      text = t("waitlistJoinedDay", { email, service: who, when });
    }
    const section = el("div", { id: "waitlist-confirmation", tabindex: "-1", "data-entry": entry.id },
      el("h2", { text: t("waitlistJoined") }),
      el("p", { text }),
      el("p", { class: "hint", text: t("waitlistHowOffers") }));
    this.container.replaceChildren(section);
    this.container.removeAttribute("aria-labelledby");
    this.container.hidden = false;
    section.focus();
  }
}

