"""Message wording: built-in defaults per (kind, channel, language), tenant overrides, and
safe rendering.

Rendering uses ``string.Template`` (``$name`` placeholders). Templates are written by tenants,
so they must not be able to run code or reach into objects: ``string.Template`` only replaces
names with strings we computed (no attribute access, no filters, no loops), unlike a general
template language, which would need a sandbox. Messages are plain text (email text/plain and
SMS), so a customer's name cannot inject markup either. Unknown placeholders are refused when
a template is saved, so a typo is caught by the owner and not by their customers.
"""

from __future__ import annotations

import string
from dataclasses import dataclass

from boka.notifications.kinds import Channel, MessageKind

BOOKING_VARIABLES = frozenset({
    "customer_name", "business_name", "service_name", "staff_name", "date", "start_time",
    "end_time", "time_zone", "manage_url", "unsubscribe_url",
})
PAYMENT_VARIABLES = BOOKING_VARIABLES | {"amount"}
VARIABLES: dict[MessageKind, frozenset[str]] = {
    MessageKind.BOOKING_CONFIRMED: BOOKING_VARIABLES,
    MessageKind.BOOKING_RESCHEDULED: BOOKING_VARIABLES,
    MessageKind.BOOKING_CANCELLED: BOOKING_VARIABLES | {"reason"},
    MessageKind.BOOKING_REMINDER: BOOKING_VARIABLES,
    MessageKind.PAYMENT_RECEIPT: PAYMENT_VARIABLES,
    MessageKind.PAYMENT_REFUND: PAYMENT_VARIABLES,
    MessageKind.STAFF_DAILY_AGENDA: frozenset(
        {"staff_name", "business_name", "date", "time_zone", "count", "agenda"}
    ),
    MessageKind.TEAM_ALERT: frozenset({"business_name", "title", "details"}),
    MessageKind.WAITLIST_OFFER: BOOKING_VARIABLES | {"claim_url", "expires_at"},
}
MAX_SMS_LENGTH = 1600  # Twilio refuses longer bodies
MAX_EMAIL_BODY = 20_000
LANGUAGES = ("en", "de")


@dataclass(frozen=True)
class Wording:
    subject: str  # empty for SMS
    body: str


_EMAIL_FOOTER_EN = "\n\nManage your booking: $manage_url\nStop these emails: $unsubscribe_url\n"
_EMAIL_FOOTER_DE = "\n\nTermin verwalten: $manage_url\nKeine E-Mails mehr: $unsubscribe_url\n"

DEFAULTS: dict[tuple[MessageKind, Channel, str], Wording] = {
    # English
    (MessageKind.BOOKING_CONFIRMED, Channel.EMAIL, "en"): Wording(
        "Booking confirmed: $service_name on $date",
        "Hello $customer_name,\n\nyour booking at $business_name is confirmed:\n"
        "$service_name with $staff_name on $date, $start_time-$end_time ($time_zone).\n"
        "The attached invitation adds it to your calendar." + _EMAIL_FOOTER_EN),
    (MessageKind.BOOKING_CONFIRMED, Channel.SMS, "en"): Wording(
        "", "$business_name: $service_name on $date at $start_time is confirmed. $manage_url"),
    (MessageKind.BOOKING_RESCHEDULED, Channel.EMAIL, "en"): Wording(
        "Booking moved: $service_name on $date",
        "Hello $customer_name,\n\nyour booking at $business_name has moved to\n"
        "$date, $start_time-$end_time ($time_zone), $service_name with $staff_name.\n"
        "The attached invitation updates your calendar." + _EMAIL_FOOTER_EN),
    (MessageKind.BOOKING_RESCHEDULED, Channel.SMS, "en"): Wording(
        "", "$business_name: your $service_name has moved to $date at $start_time. $manage_url"),
    (MessageKind.BOOKING_CANCELLED, Channel.EMAIL, "en"): Wording(
        "Booking cancelled: $service_name on $date",
        "Hello $customer_name,\n\nyour booking at $business_name for $service_name on $date "
        "at $start_time ($time_zone) is cancelled.\n$reason" + _EMAIL_FOOTER_EN),
    (MessageKind.BOOKING_CANCELLED, Channel.SMS, "en"): Wording(
        "", "$business_name: your $service_name on $date at $start_time is cancelled."),
    (MessageKind.BOOKING_REMINDER, Channel.EMAIL, "en"): Wording(
        "Reminder: $service_name on $date at $start_time",
        "Hello $customer_name,\n\na reminder of your booking at $business_name:\n"
        "$service_name with $staff_name on $date, $start_time-$end_time ($time_zone)."
        + _EMAIL_FOOTER_EN),
    (MessageKind.BOOKING_REMINDER, Channel.SMS, "en"): Wording(
        "", "Reminder from $business_name: $service_name on $date at $start_time. $manage_url"),
    (MessageKind.PAYMENT_RECEIPT, Channel.EMAIL, "en"): Wording(
        "Receipt: $amount for $service_name",
        "Hello $customer_name,\n\nwe received your payment of $amount for $service_name "
        "on $date at $start_time ($time_zone). Thank you!" + _EMAIL_FOOTER_EN),
    (MessageKind.PAYMENT_RECEIPT, Channel.SMS, "en"): Wording(
        "", "$business_name: payment of $amount received for $service_name on $date."),
    (MessageKind.PAYMENT_REFUND, Channel.EMAIL, "en"): Wording(
        "Refund: $amount for $service_name",
        "Hello $customer_name,\n\nwe refunded $amount for $service_name on $date. "
        "It can take a few days to reach your account." + _EMAIL_FOOTER_EN),
    (MessageKind.PAYMENT_REFUND, Channel.SMS, "en"): Wording(
        "", "$business_name: $amount refunded for $service_name on $date."),
    (MessageKind.STAFF_DAILY_AGENDA, Channel.EMAIL, "en"): Wording(
        "Your day on $date: $count bookings",
        "Hello $staff_name,\n\nyour bookings at $business_name on $date ($time_zone):\n\n$agenda\n"),
    (MessageKind.STAFF_DAILY_AGENDA, Channel.SMS, "en"): Wording(
        "", "$business_name, $date: $count bookings.\n$agenda"),
    (MessageKind.TEAM_ALERT, Channel.EMAIL, "en"): Wording(
        "$business_name: $title", "Hello,\n\n$title.\n\n$details\n"),
    (MessageKind.TEAM_ALERT, Channel.SMS, "en"): Wording("", "$business_name: $title."),
    (MessageKind.WAITLIST_OFFER, Channel.EMAIL, "en"): Wording(
        "A time opened up: $service_name on $date at $start_time",
        "Hello $customer_name,\n\na time you were waiting for at $business_name is free:\n"
        "$service_name with $staff_name on $date, $start_time-$end_time ($time_zone).\n\n"
        "We hold it for you until $expires_at. Claim it here:\n$claim_url\n\n"
        "(The same page lets you pass it on to the next in line.)"
        "\n\nStop these emails: $unsubscribe_url\n"),
    (MessageKind.WAITLIST_OFFER, Channel.SMS, "en"): Wording(
        "", "$business_name: $service_name on $date at $start_time is free for you until "
        "$expires_at. Claim it: $claim_url"),
    # German
    (MessageKind.BOOKING_CONFIRMED, Channel.EMAIL, "de"): Wording(
        "Termin bestätigt: $service_name am $date",
        "Hallo $customer_name,\n\nIhr Termin bei $business_name ist bestätigt:\n"
        "$service_name bei $staff_name am $date, $start_time-$end_time ($time_zone).\n"
        "Mit der angehängten Einladung kommt er in Ihren Kalender." + _EMAIL_FOOTER_DE),
    (MessageKind.BOOKING_CONFIRMED, Channel.SMS, "de"): Wording(
        "", "$business_name: $service_name am $date um $start_time ist bestätigt. $manage_url"),
    (MessageKind.BOOKING_RESCHEDULED, Channel.EMAIL, "de"): Wording(
        "Termin verschoben: $service_name am $date",
        "Hallo $customer_name,\n\nIhr Termin bei $business_name ist verschoben auf\n"
        "$date, $start_time-$end_time ($time_zone), $service_name bei $staff_name.\n"
        "Die angehängte Einladung aktualisiert Ihren Kalender." + _EMAIL_FOOTER_DE),
    (MessageKind.BOOKING_RESCHEDULED, Channel.SMS, "de"): Wording(
        "", "$business_name: $service_name ist verschoben auf $date um $start_time. $manage_url"),
    (MessageKind.BOOKING_CANCELLED, Channel.EMAIL, "de"): Wording(
        "Termin storniert: $service_name am $date",
        "Hallo $customer_name,\n\nIhr Termin bei $business_name ($service_name am $date "
        "um $start_time, $time_zone) ist storniert.\n$reason" + _EMAIL_FOOTER_DE),
    (MessageKind.BOOKING_CANCELLED, Channel.SMS, "de"): Wording(
        "", "$business_name: $service_name am $date um $start_time ist storniert."),
    (MessageKind.BOOKING_REMINDER, Channel.EMAIL, "de"): Wording(
        "Erinnerung: $service_name am $date um $start_time",
        "Hallo $customer_name,\n\nwir erinnern an Ihren Termin bei $business_name:\n"
        "$service_name bei $staff_name am $date, $start_time-$end_time ($time_zone)."
        + _EMAIL_FOOTER_DE),
    (MessageKind.BOOKING_REMINDER, Channel.SMS, "de"): Wording(
        "", "Erinnerung von $business_name: $service_name am $date um $start_time. $manage_url"),
    (MessageKind.PAYMENT_RECEIPT, Channel.EMAIL, "de"): Wording(
        "Zahlungsbeleg: $amount für $service_name",
        "Hallo $customer_name,\n\nwir haben Ihre Zahlung über $amount für $service_name am "
        "$date um $start_time ($time_zone) erhalten. Vielen Dank!" + _EMAIL_FOOTER_DE),
    (MessageKind.PAYMENT_RECEIPT, Channel.SMS, "de"): Wording(
        "", "$business_name: Zahlung über $amount für $service_name am $date erhalten."),
    (MessageKind.PAYMENT_REFUND, Channel.EMAIL, "de"): Wording(
        "Erstattung: $amount für $service_name",
        "Hallo $customer_name,\n\nwir haben $amount für $service_name am $date erstattet. "
        "Es kann einige Tage dauern, bis der Betrag auf Ihrem Konto ist." + _EMAIL_FOOTER_DE),
    (MessageKind.PAYMENT_REFUND, Channel.SMS, "de"): Wording(
        "", "$business_name: $amount für $service_name am $date erstattet."),
    (MessageKind.STAFF_DAILY_AGENDA, Channel.EMAIL, "de"): Wording(
        "Ihr Tag am $date: $count Termine",
        "Hallo $staff_name,\n\nIhre Termine bei $business_name am $date ($time_zone):\n\n$agenda\n"),
    (MessageKind.STAFF_DAILY_AGENDA, Channel.SMS, "de"): Wording(
        "", "$business_name, $date: $count Termine.\n$agenda"),
    (MessageKind.TEAM_ALERT, Channel.EMAIL, "de"): Wording(
        "$business_name: $title", "Hallo,\n\n$title.\n\n$details\n"),
    (MessageKind.TEAM_ALERT, Channel.SMS, "de"): Wording("", "$business_name: $title."),
    (MessageKind.WAITLIST_OFFER, Channel.EMAIL, "de"): Wording(
        "Ein Termin ist frei: $service_name am $date um $start_time",
        "Hallo $customer_name,\n\nein Termin, auf den Sie bei $business_name warten, ist frei:\n"
        "$service_name bei $staff_name am $date, $start_time-$end_time ($time_zone).\n\n"
        "Wir halten ihn für Sie bis $expires_at. Hier buchen:\n$claim_url\n\n"
        "(Auf derselben Seite können Sie ihn an den Nächsten weitergeben.)"
        "\n\nKeine E-Mails mehr: $unsubscribe_url\n"),
    (MessageKind.WAITLIST_OFFER, Channel.SMS, "de"): Wording(
        "", "$business_name: $service_name am $date um $start_time ist bis $expires_at für Sie "
        "frei. Buchen: $claim_url"),
}


def default_wording(kind: MessageKind, channel: Channel, language: str) -> Wording:
    return DEFAULTS.get((kind, channel, language)) or DEFAULTS[(kind, channel, "en")]


def template_problems(kind: MessageKind, channel: Channel, subject: str, body: str) -> list[tuple[str, str]]:
    """What is wrong with a tenant's template, as (field, message) pairs; empty if it is fine."""
    problems: list[tuple[str, str]] = []
    allowed = VARIABLES[kind]
    for field, text in (("subject", subject), ("body", body)):
        template = string.Template(text)
        if not template.is_valid():
            problems.append((field, "A '$' must start a placeholder like $service_name (write $$ for '$')."))
            continue
        unknown = sorted(set(template.get_identifiers()) - allowed)
        if unknown:
            problems.append((field, f"Unknown placeholders: {', '.join(unknown)}. "
                                    f"Available: {', '.join(sorted(allowed))}."))
    if not body.strip():
        problems.append(("body", "The body must not be empty."))
    if channel is Channel.EMAIL:
        if not subject.strip():
            problems.append(("subject", "An email needs a subject."))
        if "\n" in subject or "\r" in subject:
            problems.append(("subject", "A subject is one line."))
        if len(subject) > 300:
            problems.append(("subject", "The subject is too long (300 characters at most)."))
        if len(body) > MAX_EMAIL_BODY:
            problems.append(("body", f"The body is too long ({MAX_EMAIL_BODY} characters at most)."))
    elif subject:
        problems.append(("subject", "An SMS has no subject."))
    elif len(body) > MAX_SMS_LENGTH:
        problems.append(("body", f"An SMS is at most {MAX_SMS_LENGTH} characters."))
    return problems


def render(wording: Wording, values: dict[str, str]) -> Wording:
    """Fill in the placeholders. The subject stays one line whatever the values hold."""
    subject = string.Template(wording.subject).safe_substitute(values)
    subject = " ".join(subject.split())
    body = string.Template(wording.body).safe_substitute(values)
    return Wording(subject=subject, body=body)
