// Dates, time zones, money and small DOM helpers shared by the pages.
import { language } from "./i18n.js";

export function detectedTimeZone() {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  } catch {
    return "UTC";
  }
}

export function timeZones(current) {
  let zones = [];
  try { zones = Intl.supportedValuesOf("timeZone"); } catch { zones = []; }
  return [...new Set([current, ...zones, "UTC"])].sort();
}

/** The calendar date (YYYY-MM-DD) of an instant in a zone. */
export function localDate(instant, timeZone) {
  return new Intl.DateTimeFormat("en-CA", { timeZone, year: "numeric", month: "2-digit", day: "2-digit" })
    .format(new Date(instant));
}

export function addDays(date, days) {
  const [y, m, d] = date.split("-").map(Number);
  return new Date(Date.UTC(y, m - 1, d + days)).toISOString().slice(0, 10);
}

/** An instant safely before the zone's midnight starting `date` (UTC offsets are -12..+14 h). */
export function beforeDate(date) {
  return new Date(Date.parse(`${date}T00:00:00Z`) - 14 * 3600e3).toISOString();
}

/** An instant safely after the zone's midnight ending `date`. */
export function afterDate(date) {
  return new Date(Date.parse(`${addDays(date, 1)}T00:00:00Z`) + 12 * 3600e3).toISOString();
}

/** The zone's UTC offset (ms) at an instant. */
function zoneOffset(epochMs, timeZone) {
  const parts = Object.fromEntries(new Intl.DateTimeFormat("en-US", {
    timeZone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", second: "2-digit",
  }).formatToParts(new Date(epochMs)).map((part) => [part.type, part.value]));
  const asUtc = Date.UTC(+parts.year, +parts.month - 1, +parts.day, +parts.hour, +parts.minute, +parts.second);
  return asUtc - Math.floor(epochMs / 1000) * 1000;
}

/** The instant (ISO) of a wall-clock time ("HH:MM", default midnight) on `date` in a zone. */
export function zonedInstant(date, time, timeZone) {
  const [y, m, d] = date.split("-").map(Number);
  const [hh, mm] = (time || "00:00").split(":").map(Number);
  const wall = Date.UTC(y, m - 1, d, hh, mm);
  let instant = wall - zoneOffset(wall, timeZone);
  instant = wall - zoneOffset(instant, timeZone); // the offset in force then (DST changes)
  return new Date(instant).toISOString();
}

export function dayLabel(date) {
  return new Intl.DateTimeFormat(language, { weekday: "short", day: "numeric", month: "short", timeZone: "UTC" })
    .format(new Date(`${date}T12:00:00Z`));
}

export function longDayLabel(date) {
  return new Intl.DateTimeFormat(language, { weekday: "long", day: "numeric", month: "long", timeZone: "UTC" })
    .format(new Date(`${date}T12:00:00Z`));
}

export function timeLabel(instant, timeZone) {
  return new Intl.DateTimeFormat(language, { hour: "2-digit", minute: "2-digit", timeZone }).format(new Date(instant));
}

export function whenLabel(instant, timeZone) {
  return new Intl.DateTimeFormat(language, {
    weekday: "long", day: "numeric", month: "long", year: "numeric", hour: "2-digit", minute: "2-digit",
    timeZone, timeZoneName: "short",
  }).format(new Date(instant));
}

export function money({ amount, currency }) {
  return new Intl.NumberFormat(language, { style: "currency", currency }).format(amount / 100);
}

/** An element: el("p", {class: "x", text: "hi"}, child, …) */
export function el(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "text") element.textContent = value;
    else if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else element.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat(Infinity)) if (child !== null && child !== undefined) element.append(child);
  return element;
}

let uniqueCounter = 0;
export function uniqueId(prefix) {
  uniqueCounter += 1;
  return `${prefix}-${uniqueCounter}`;
}

/** A labelled form field: returns [wrapper, input]. */
export function field(label, attributes = {}, tag = "input") {
  const id = attributes.id || uniqueId("f");
  const input = el(tag, { ...attributes, id });
  return [el("div", { class: "field" }, el("label", { for: id, text: label }), input), input];
}

/** An .ics file of one booking (RFC 5545), as a blob: URL for a download link. */
export function icsUrl({ uid, start, end, summary, description, url }) {
  const stamp = (instant) => new Date(instant).toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "");
  const escape = (text) => String(text).replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/([,;])/g, "\\$1");
  const lines = [
    "BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Boka//Booking page//EN", "CALSCALE:GREGORIAN",
    "BEGIN:VEVENT", `UID:${uid}`, `DTSTAMP:${stamp(Date.now())}`, `DTSTART:${stamp(start)}`,
    `DTEND:${stamp(end)}`, `SUMMARY:${escape(summary)}`, `DESCRIPTION:${escape(description)}`,
    `URL:${url}`, "END:VEVENT", "END:VCALENDAR", "",
  ];
  return URL.createObjectURL(new Blob([lines.join("\r\n")], { type: "text/calendar" }));
}
