"""Analytics: a tenant's (or a staff member's) bookings, money and time over a period, computed
by SQL aggregates bounded by the period, so the cost follows the period, not the history."""
