// The pages' words in English and German, and the customer's language.
const STRINGS = {
  en: {
    skipToContent: "Skip to content",
    language: "Language",
    loading: "Loading…",
    bookTitle: "Book an appointment",
    service: "Service",
    minutes: "{n} min",
    seats: "{n} seats",
    staff: "With",
    anyone: "Anyone available",
    timeZone: "Time zone",
    day: "Day",
    earlier: "Earlier days",
    later: "Later days",
    noDays: "No free time in these days.",
    times: "Free times",
    noTimes: "No free times left on this day.",
    liveHint: "Times update live.",
    seatsLeft: "{n} left",
    yourDetails: "Your details",
    firstName: "First name",
    lastName: "Last name",
    email: "Email",
    phone: "Phone (optional)",
    notes: "Notes (optional)",
    discountCode: "Discount code (optional)",
    applyCode: "Apply",
    price: "Price",
    total: "Total",
    discount: "Discount",
    payOnSite: "You pay on site.",
    paymentNeeded: "Payment needed",
    payOnlineUnsupported: "This service is paid online, which this page cannot take yet. Your time is held until {until}; please contact {business} to pay, or cancel with the link below.",
    book: "Book now",
    booking: "Booking…",
    chooseTime: "Choose a time first.",
    booked: "You're booked!",
    confirmationText: "{service} with {staff} on {when}.",
    pendingConfirmation: "The business will confirm your booking shortly.",
    addToCalendar: "Add to calendar (.ics)",
    manageLink: "Change or cancel this booking",
    manageLinkHint: "Keep this link: it lets you change or cancel the booking.",
    bookAnother: "Book another appointment",
    yourBooking: "Your booking",
    status_PENDING: "Waiting for confirmation",
    status_CONFIRMED: "Confirmed",
    status_COMPLETED: "Completed",
    status_CANCELLED: "Cancelled",
    status_NO_SHOW: "Missed",
    when: "When",
    with: "With",
    statusLabel: "Status",
    reschedule: "Change the time",
    rescheduleTo: "Move my booking to {when}",
    rescheduled: "Your booking has moved to {when}.",
    cancel: "Cancel the booking",
    cancelReason: "Reason (optional)",
    confirmCancel: "Yes, cancel my booking",
    keepBooking: "Keep my booking",
    cancelled: "Your booking is cancelled.",
    refundFree: "Cancelling now is free.",
    refundLate: "Cancelling less than {hours} hours before the start is a late cancellation: {percent} % of what you paid is refunded.",
    refundAmount: "You get back {amount}.",
    nothingPaid: "You have paid nothing, so nothing is charged.",
    refunded: "{amount} will be refunded to you.",
    policy: "Free cancellation until {hours} hours before the start.",
    close: "Close",
    // errors, in words a customer understands
    err_SLOT_UNAVAILABLE: "Sorry, that time was just taken. Please choose another one.",
    err_DISCOUNT_INVALID: "That discount code isn't valid for this booking.",
    err_DISCOUNT_EXHAUSTED: "That discount code has been used up.",
    err_DISCOUNT_ALREADY_USED: "You have already used that discount code.",
    err_INVALID_EMAIL: "Please check your email address.",
    err_INVALID_TRANSITION: "This booking can't be changed any more.",
    err_PAYMENT_DECLINED: "The payment was declined. Nothing was booked.",
    err_PAYMENT_UNAVAILABLE: "Payments are unavailable right now; nothing was booked. Please try again.",
    err_INVALID_INPUT: "Please check your details: {message}",
    err_NOT_FOUND: "We couldn't find this. The link may be incomplete or no longer valid.",
    err_RATE_LIMITED: "Too many tries in a short time. Please wait a minute and try again.",
    err_NETWORK: "We can't reach the booking service. Check your connection and try again.",
    err_IDEMPOTENCY_IN_PROGRESS: "Your booking is still being made. Please wait a moment.",
    err_other: "Something went wrong on our side. Please try again in a moment.",
  },
  de: {
    skipToContent: "Zum Inhalt springen",
    language: "Sprache",
    loading: "Wird geladen …",
    bookTitle: "Termin buchen",
    service: "Leistung",
    minutes: "{n} Min.",
    seats: "{n} Plätze",
    staff: "Bei",
    anyone: "Egal, wer frei ist",
    timeZone: "Zeitzone",
    day: "Tag",
    earlier: "Frühere Tage",
    later: "Spätere Tage",
    noDays: "An diesen Tagen ist nichts frei.",
    times: "Freie Zeiten",
    noTimes: "An diesem Tag ist nichts mehr frei.",
    liveHint: "Die Zeiten werden live aktualisiert.",
    seatsLeft: "noch {n}",
    yourDetails: "Ihre Angaben",
    firstName: "Vorname",
    lastName: "Nachname",
    email: "E-Mail",
    phone: "Telefon (optional)",
    notes: "Anmerkungen (optional)",
    discountCode: "Rabattcode (optional)",
    applyCode: "Einlösen",
    price: "Preis",
    total: "Gesamt",
    discount: "Rabatt",
    payOnSite: "Sie bezahlen vor Ort.",
    paymentNeeded: "Zahlung erforderlich",
    payOnlineUnsupported: "Diese Leistung wird online bezahlt, was diese Seite noch nicht kann. Ihre Zeit ist bis {until} reserviert; bitte wenden Sie sich zum Bezahlen an {business} oder sagen Sie mit dem Link unten ab.",
    book: "Jetzt buchen",
    booking: "Wird gebucht …",
    chooseTime: "Bitte wählen Sie zuerst eine Zeit.",
    booked: "Ihr Termin ist gebucht!",
    confirmationText: "{service} bei {staff} am {when}.",
    pendingConfirmation: "Das Geschäft bestätigt Ihre Buchung in Kürze.",
    addToCalendar: "Zum Kalender hinzufügen (.ics)",
    manageLink: "Diese Buchung ändern oder absagen",
    manageLinkHint: "Bewahren Sie diesen Link auf: Mit ihm können Sie die Buchung ändern oder absagen.",
    bookAnother: "Noch einen Termin buchen",
    yourBooking: "Ihre Buchung",
    status_PENDING: "Wartet auf Bestätigung",
    status_CONFIRMED: "Bestätigt",
    status_COMPLETED: "Erledigt",
    status_CANCELLED: "Abgesagt",
    status_NO_SHOW: "Nicht erschienen",
    when: "Wann",
    with: "Bei",
    statusLabel: "Status",
    reschedule: "Zeit ändern",
    rescheduleTo: "Meine Buchung auf {when} verschieben",
    rescheduled: "Ihre Buchung ist auf {when} verschoben.",
    cancel: "Buchung absagen",
    cancelReason: "Grund (optional)",
    confirmCancel: "Ja, Buchung absagen",
    keepBooking: "Buchung behalten",
    cancelled: "Ihre Buchung ist abgesagt.",
    refundFree: "Eine Absage ist jetzt kostenlos.",
    refundLate: "Eine Absage weniger als {hours} Stunden vor Beginn ist kurzfristig: {percent} % des Bezahlten werden erstattet.",
    refundAmount: "Sie erhalten {amount} zurück.",
    nothingPaid: "Sie haben nichts bezahlt, es wird also nichts berechnet.",
    refunded: "{amount} werden Ihnen erstattet.",
    policy: "Kostenlose Absage bis {hours} Stunden vor Beginn.",
    close: "Schließen",
    err_SLOT_UNAVAILABLE: "Diese Zeit wurde gerade vergeben. Bitte wählen Sie eine andere.",
    err_DISCOUNT_INVALID: "Dieser Rabattcode gilt für diese Buchung nicht.",
    err_DISCOUNT_EXHAUSTED: "Dieser Rabattcode ist aufgebraucht.",
    err_DISCOUNT_ALREADY_USED: "Sie haben diesen Rabattcode schon benutzt.",
    err_INVALID_EMAIL: "Bitte prüfen Sie Ihre E-Mail-Adresse.",
    err_INVALID_TRANSITION: "Diese Buchung kann nicht mehr geändert werden.",
    err_PAYMENT_DECLINED: "Die Zahlung wurde abgelehnt. Es wurde nichts gebucht.",
    err_PAYMENT_UNAVAILABLE: "Zahlungen sind gerade nicht möglich; es wurde nichts gebucht. Bitte versuchen Sie es erneut.",
    err_INVALID_INPUT: "Bitte prüfen Sie Ihre Angaben: {message}",
    err_NOT_FOUND: "Das haben wir nicht gefunden. Der Link ist vielleicht unvollständig oder nicht mehr gültig.",
    err_RATE_LIMITED: "Zu viele Versuche in kurzer Zeit. Bitte warten Sie eine Minute.",
    err_NETWORK: "Der Buchungsdienst ist nicht erreichbar. Bitte prüfen Sie Ihre Verbindung.",
    err_IDEMPOTENCY_IN_PROGRESS: "Ihre Buchung wird noch angelegt. Bitte einen Moment Geduld.",
    err_other: "Bei uns ist etwas schiefgegangen. Bitte versuchen Sie es gleich noch einmal.",
  },
};

const SUPPORTED = Object.keys(STRINGS);
const STORAGE_KEY = "boka.language";

function initialLanguage() {
  const asked = new URLSearchParams(location.search).get("lang");
  let stored = null;
  try { stored = localStorage.getItem(STORAGE_KEY); } catch { /* private mode */ }
  for (const candidate of [asked, stored, ...(navigator.languages || [navigator.language])]) {
    const base = (candidate || "").slice(0, 2).toLowerCase();
    if (SUPPORTED.includes(base)) return base;
  }
  return "en";
}

export let language = initialLanguage();

export function setLanguage(next) {
  language = SUPPORTED.includes(next) ? next : "en";
  try { localStorage.setItem(STORAGE_KEY, language); } catch { /* private mode */ }
  document.documentElement.lang = language;
}

/** The string `key` with {name} placeholders filled from `values`. */
export function t(key, values = {}) {
  const text = STRINGS[language][key] ?? STRINGS.en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => (name in values ? String(values[name]) : `{${name}}`));
}

/** What to tell the customer about an ApiError (or any failure). */
export function errorText(error) {
  const code = error && error.code;
  if (code && STRINGS.en[`err_${code}`]) return t(`err_${code}`, { message: error.message });
  return t("err_other");
}

/** Fills every [data-i18n] element of the static page; sets up the language picker. */
export function translateStatic(onChange) {
  document.documentElement.lang = language;
  for (const element of document.querySelectorAll("[data-i18n]")) element.textContent = t(element.dataset.i18n);
  const picker = document.getElementById("language");
  picker.value = language;
  picker.addEventListener("change", () => {
    setLanguage(picker.value);
    for (const element of document.querySelectorAll("[data-i18n]")) element.textContent = t(element.dataset.i18n);
    onChange();
  });
}
