"""The booking domain: catalog, schedules, availability, pricing and the booking engine."""
