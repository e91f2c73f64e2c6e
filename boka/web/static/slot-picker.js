// The live slot picker both pages use: a calendar of days with free time (availabilityDays),
// and the chosen day's times, kept live by the availabilityChanged subscription: a time taken
// elsewhere disappears without a reload. The booking page also lets a customer choose a day
// without free time (to join its waitlist) and hears when the chosen day has none, and keeps a
// time it holds (keepHeld) chosen and shown although the live list now leaves it out.
import { errorText, t } from "./i18n.js";
import { addDays, afterDate, beforeDate, dayLabel, el, localDate, longDayLabel, timeLabel } from "./format.js";

const DAYS_SHOWN = 14;

export class SlotPicker {
  /** onSelect(slot or null) runs when the chosen time changes (or is taken by someone else).
   * options.fullDaysChoosable: days without free time can be chosen too (for the waitlist);
   * options.onNoTime({ date }) runs when there is nothing to book: the chosen day has no free
   * time (date), or no shown day has any (date null); onNoTime(null) when there is again. */
  constructor(api, container, onSelect, options = {}) {
    this.api = api;
    this.container = container;
    this.onSelect = onSelect;
    this.fullDaysChoosable = Boolean(options.fullDaysChoosable);
    this.onNoTime = options.onNoTime || null;
    this.noTimeShown = undefined;
    this.stop = null;
    this.query = null;
    this.firstDate = null;
    this.days = [];
    this.chosenDate = null;
    this.slots = [];
    this.chosen = null;
    this.held = null;
    this.problem = null;
  }

  /** The page holds this slot (holdSlot) or is about to: the live list leaves held time out,
   * this page's own hold included, so the picker keeps it shown and chosen. null: none held. */
  keepHeld(slot) {
    this.held = slot;
  }

  /** (Re)starts for a service, a staff member (null: anyone) and a time zone. */
  async show({ serviceId, staffId, timeZone, serviceStaff }) {
    this.query = { serviceId, staffId: staffId || null, timeZone };
    this.serviceStaff = serviceStaff || [];
    this.firstDate = this.firstDate && this.query.timeZone === timeZone ? this.firstDate : localDate(Date.now(), timeZone);
    await this.loadDays();
  }

  async loadDays() {
    this.unwatch();
    this.select(null);
    this.noTimeShown = undefined; // tell onNoTime afresh for the new days
    const { serviceId, staffId, timeZone } = this.query;
    const last = addDays(this.firstDate, DAYS_SHOWN - 1);
    try {
      const found = await this.api.availabilityDays({
        serviceId, staffId, timeZone, from: beforeDate(this.firstDate), to: afterDate(last),
      });
      const free = new Set(found.filter((day) => day.slots.length).map((day) => day.date));
      this.days = Array.from({ length: DAYS_SHOWN }, (_, i) => addDays(this.firstDate, i))
        .map((date) => ({ date, free: free.has(date) }));
      this.problem = null;
    } catch (error) {
      this.days = [];
      this.problem = errorText(error);
    }
    // the day chosen before (a full one too, where they may be chosen), while any day has free
    // time; when none has, no day is chosen (the booking page then offers the waitlist for any time)
    const anyFree = this.days.some((day) => day.free);
    const keep = anyFree && this.days.find((day) => (day.free || this.fullDaysChoosable) && day.date === this.chosenDate);
    const first = keep || this.days.find((day) => day.free);
    this.chosenDate = first ? first.date : null;
    this.slots = this.chosenDate ? null : []; // null: loading (watchDay fills it)
    this.render();
    if (this.chosenDate) this.watchDay();
  }

  watchDay() {
    this.unwatch();
    const { serviceId, staffId, timeZone } = this.query;
    const date = this.chosenDate;
    this.slots = null;
    this.render();
    this.stop = this.api.watchSlots(
      { serviceId, staffId, timeZone, from: beforeDate(date), to: afterDate(date) },
      (slots) => {
        if (date !== this.chosenDate) return;
        this.slots = slots.filter((slot) => localDate(slot.start, timeZone) === date);
        const held = this.held;
        if (held && localDate(held.start, timeZone) === date && !this.slots.some((slot) => slot.start === held.start)) {
          this.slots = [...this.slots, held].sort((a, b) => Date.parse(a.start) - Date.parse(b.start));
        }
        this.problem = null;
        if (this.chosen && !this.slots.some((slot) => slot.start === this.chosen.start)) {
          this.select(null);
          this.problem = t("err_SLOT_UNAVAILABLE"); // taken elsewhere while this page looked at it
        }
        this.render();
      },
      (error) => {
        this.problem = errorText(error);
        this.render();
      },
    );
  }

  unwatch() {
    if (this.stop) this.stop();
    this.stop = null;
  }

  select(slot) {
    this.chosen = slot;
    this.onSelect(slot);
  }

  render() {
    const { timeZone } = this.query;
    const dayButtons = this.days.map((day) => el("button", {
      type: "button", class: day.free ? "day" : "day full", "data-date": day.date,
      disabled: !day.free && !this.fullDaysChoosable,
      "aria-pressed": String(day.date === this.chosenDate),
      onclick: () => { this.chosenDate = day.date; this.select(null); this.watchDay(); },
    }, dayLabel(day.date),
    !day.free && this.fullDaysChoosable ? el("span", { class: "day-note", text: t("noFreeTime") }) : null));
    const calendar = el("fieldset", { class: "days" },
      el("legend", { text: t("day") }),
      el("div", { class: "day-nav" },
        el("button", {
          type: "button", class: "secondary", text: t("earlier"),
          disabled: this.firstDate <= localDate(Date.now(), timeZone),
          onclick: () => { this.firstDate = addDays(this.firstDate, -DAYS_SHOWN); this.loadDays(); },
        }),
        el("button", {
          type: "button", class: "secondary", text: t("later"),
          onclick: () => { this.firstDate = addDays(this.firstDate, DAYS_SHOWN); this.loadDays(); },
        })),
      el("div", { class: "day-grid" }, dayButtons),
      this.days.length && !this.days.some((day) => day.free) ? el("p", { text: t("noDays") }) : null);

    let times = null;
    if (this.chosenDate) {
      const list = this.slots === null
        ? el("p", { text: t("loading") })
        : this.slots.length
          ? el("div", { class: "slot-grid" }, this.slots.map((slot) => el("button", {
            type: "button", class: "slot", "data-start": slot.start,
            "aria-pressed": String(this.chosen !== null && this.chosen.start === slot.start),
            onclick: () => { this.select(slot); this.render(); },
          }, timeLabel(slot.start, timeZone),
          slot.seatsLeft > 1 ? el("span", { class: "seats", text: ` · ${t("seatsLeft", { n: slot.seatsLeft })}` }) : null)))
          : el("p", { text: t("noTimes") });
      times = el("fieldset", { class: "times" },
        el("legend", { text: `${t("times")}: ${longDayLabel(this.chosenDate)}` }),
        el("p", { class: "hint", text: t("liveHint") }),
        list);
    }
    const focused = document.activeElement && this.container.contains(document.activeElement)
      ? document.activeElement.dataset.start || document.activeElement.dataset.date : null;
    this.container.replaceChildren(...[
      this.problem ? el("p", { class: "alert", role: "alert", text: this.problem }) : null, calendar, times].filter(Boolean));
    if (focused) {  // keep the keyboard where it was across live updates
      const again = this.container.querySelector(`[data-start="${focused}"], [data-date="${focused}"]`);
      if (again) again.focus();
    }
    this.tellNoTime();
  }

  /** onNoTime, once per change: the chosen day has no free time, or no shown day has any. */
  tellNoTime() {
    if (!this.onNoTime) return;
    let now = this.noTimeShown;
    if (this.chosenDate === null) now = this.days.length && !this.days.some((day) => day.free) ? "" : null;
    else if (this.slots !== null) now = this.slots.length ? null : this.chosenDate;
    if (now === this.noTimeShown) return;
    this.noTimeShown = now;
    this.onNoTime(now === null || now === undefined ? null : { date: now || null });
  }
}
