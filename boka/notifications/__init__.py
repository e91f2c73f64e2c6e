"""Notifications: email (SMTP) and SMS (Twilio) about bookings and payments, tenant templates,
customer preferences, calendar invites and staff calendar feeds."""
