// All data access of the pages, in one module: the public GraphQL API over fetch (queries,
// mutations) and graphql-transport-ws (subscriptions). Nothing else talks to the server.
import { createClient } from "./vendor/graphql-ws/client.js";

/** A failure the page shows to the customer: a code (UserError or GraphQL extensions code). */
export class ApiError extends Error {
  constructor(code, message, field = null) {
    super(message);
    this.code = code;
    this.field = field;
  }
}

/** The database id inside a Relay global ID (base64 of "Type:id"). */
export function rowId(globalId) {
  try {
    return atob(globalId).split(":")[1] || globalId;
  } catch {
    return globalId;
  }
}

export class BokaApi {
  /** tenant: a slug (X-Tenant), or null for the tenant of this host's domain. */
  constructor(tenant, token = null) {
    this.tenant = tenant || null;
    this.token = token; // a staff session (the calendar); guests have none
    this.ws = null;
    this.onReconnect = null;
    this.onDisconnect = null;
  }

  headers(extra = {}) {
    const headers = { "Content-Type": "application/json", Accept: "application/json", ...extra };
    if (this.tenant) headers["X-Tenant"] = this.tenant;
    if (this.token) headers.Authorization = `Bearer ${this.token}`;
    return headers;
  }

  /** keepalive: the request outlives the page (a hold given back as the customer leaves). */
  async request(query, variables = {}, extraHeaders = {}, { keepalive = false } = {}) {
    let response;
    try {
      response = await fetch("/graphql", {
        method: "POST",
        headers: this.headers(extraHeaders),
        body: JSON.stringify({ query, variables }),
        credentials: "same-origin",
        keepalive,
      });
    } catch {
      throw new ApiError("NETWORK", "network");
    }
    let body;
    try {
      body = await response.json();
    } catch {
      throw new ApiError(response.status === 429 ? "RATE_LIMITED" : "INTERNAL", "bad response");
    }
    if (body.errors && body.errors.length) {
      const first = body.errors[0];
      throw new ApiError((first.extensions && first.extensions.code) || "INTERNAL", first.message);
    }
    return body.data;
  }

  /** A mutation's payload; its first UserError is thrown as an ApiError. */
  async mutate(query, variables, name, extraHeaders = {}, options = {}) {
    const payload = (await this.request(query, variables, extraHeaders, options))[name];
    if (payload.errors && payload.errors.length) {
      const { code, message, field } = payload.errors[0];
      throw new ApiError(code, message, field);
    }
    return payload;
  }

  socket() {
    if (!this.ws) {
      const scheme = location.protocol === "https:" ? "wss:" : "ws:";
      let connections = 0;
      this.ws = createClient({
        url: `${scheme}//${location.host}/graphql`,
        connectionParams: () => ({
          ...(this.tenant ? { tenant: this.tenant } : {}),
          ...(this.token ? { authorization: `Bearer ${this.token}` } : {}),
        }),
        retryAttempts: Infinity,
        shouldRetry: () => true,
        // back soon after a short drop, at most every 10 s during a long one (with jitter)
        retryWait: (retries) => new Promise((resolve) => {
          setTimeout(resolve, Math.min(10_000, 250 * 2 ** retries) + Math.random() * 250);
        }),
        // Subscriptions are hints: after a dropped socket, whoever listens refetches.
        on: {
          connected: () => { connections += 1; if (connections > 1 && this.onReconnect) this.onReconnect(); },
          closed: () => { if (this.onDisconnect) this.onDisconnect(); },
        },
      });
    }
    return this.ws;
  }

  /** Runs onData with each result of a subscription; returns a function that stops it. */
  subscribe(query, variables, onData, onError) {
    return this.socket().subscribe(
      { query, variables },
      {
        next: (result) => {
          if (result.errors && result.errors.length) {
            const first = result.errors[0];
            onError(new ApiError((first.extensions && first.extensions.code) || "INTERNAL", first.message));
          } else {
            onData(result.data);
          }
        },
        error: () => onError(new ApiError("NETWORK", "socket")),
        complete: () => {},
      },
    );
  }

  // --- what the pages ask ----------------------------------------------------------------

  /** The tenant, with its booking page's branding (business(slug): logo, colour, texts) and
   * how it takes payment (payments: online by card with Stripe's publishable key, or on site). */
  async business() {
    const data = await this.request(`{ tenant { name slug timeZone currency } }`);
    if (!data.tenant) throw new ApiError("NOT_FOUND", "no tenant");
    const page = await this.request(
      `query($slug: String!) { business(slug: $slug) {
        name logoUrl brandColor bookingPageTitle bookingPageIntro
        payments { online stripePublishableKey stripeJsUrl } } }`,
      { slug: data.tenant.slug },
    );
    return { ...data.tenant, ...(page.business || {}) };
  }

  async services() {
    const data = await this.request(`{
      services(first: 100) { edges { node {
        id name description durationMinutes capacity price { amount currency }
        cancellationPolicy { freeCancelHours lateCancelRefundPercent }
        staff { id displayName }
      } } } }`);
    return data.services.edges.map((edge) => edge.node);
  }

  async availabilityDays({ serviceId, staffId, from, to, timeZone }) {
    const data = await this.request(
      `query($serviceId: ID!, $from: DateTime!, $to: DateTime!, $staffId: ID, $timeZone: String) {
        availabilityDays(serviceId: $serviceId, from: $from, to: $to, staffId: $staffId, timeZone: $timeZone) {
          date slots { start }
        } }`,
      { serviceId, staffId, from, to, timeZone },
    );
    return data.availabilityDays;
  }

  /** Live slots of [from, to): onSlots gets the whole list now and after each change. */
  watchSlots({ serviceId, staffId, from, to, timeZone }, onSlots, onError) {
    return this.subscribe(
      `subscription($serviceId: ID!, $from: DateTime!, $to: DateTime!, $staffId: ID, $timeZone: String) {
        availabilityChanged(serviceId: $serviceId, from: $from, to: $to, staffId: $staffId, timeZone: $timeZone) {
          start end seatsLeft staff { id displayName }
        } }`,
      { serviceId, staffId, from, to, timeZone },
      (data) => onSlots(data.availabilityChanged),
      onError,
    );
  }

  async quote({ serviceId, start, staffId, discountCode, seats }) {
    const payload = await this.mutate(
      `query($input: QuoteInput!) { quote(input: $input) {
        quote { base { amount currency } lines { label amount { amount currency } }
                discount { amount currency } total { amount currency } }
        errors { field code message } } }`,
      { input: { serviceId, start, staffId, discountCode: discountCode || null, seats } },
      "quote",
    );
    return payload.quote;
  }

  /** idempotencyKey: the same key for every retry of one booking, so it is made once. */
  async book(input, idempotencyKey) {
    return this.mutate(
      `mutation($input: CreateBookingInput!) { createBooking(input: $input) {
        booking { ${BOOKING_FIELDS} }
        manageToken
        payment { status amount { amount currency } clientSecret expiresAt }
        errors { field code message } } }`,
      { input },
      "createBooking",
      { "Idempotency-Key": idempotencyKey },
    );
  }

  /** Holds a time while the customer fills in the checkout: { holdId, start, expiresAt }, or
   * an ApiError (SLOT_UNAVAILABLE: just taken; HOLD_LIMIT: this guest holds enough already). */
  async holdSlot({ serviceId, start, staffId, seats }) {
    const payload = await this.mutate(
      `mutation($input: HoldSlotInput!) { holdSlot(input: $input) {
        hold { holdId status start end expiresAt } errors { field code message } } }`,
      { input: { serviceId, start, staffId, seats } },
      "holdSlot",
    );
    return payload.hold;
  }

  /** Gives a held time back; keepalive when the page is being left. */
  async releaseHold(holdId, { keepalive = false } = {}) {
    return this.mutate(
      `mutation($input: ReleaseHoldInput!) { releaseHold(input: $input) {
        hold { status } errors { field code message } } }`,
      { input: { holdId } },
      "releaseHold",
      {},
      { keepalive },
    );
  }

  /** A place in line for a service (optionally one staff member, a time range); a guest names
   * themself in input.customer. The entry, or an ApiError (DUPLICATE: already in this line). */
  async joinWaitlist(input) {
    const payload = await this.mutate(
      `mutation($input: JoinWaitlistInput!) { joinWaitlist(input: $input) {
        entry { id status earliest latest } errors { field code message } } }`,
      { input },
      "joinWaitlist",
    );
    return payload.entry;
  }

  async bookingByLink(manageToken) {
    const data = await this.request(
      `query($token: String!) { bookingByLink(manageToken: $token) { ${BOOKING_FIELDS} } }`,
      { token: manageToken },
    );
    return data.bookingByLink;
  }

  async reschedule(manageToken, start, staffId) {
    const payload = await this.mutate(
      `mutation($input: RescheduleBookingInput!) { rescheduleBooking(input: $input) {
        booking { ${BOOKING_FIELDS} } errors { field code message } } }`,
      { input: { manageToken, start, staffId } },
      "rescheduleBooking",
    );
    return payload.booking;
  }

  async cancel(manageToken, reason) {
    return this.mutate(
      `mutation($input: CancelBookingInput!) { cancelBooking(input: $input) {
        booking { ${BOOKING_FIELDS} } refund { amount currency } refundPercent
        errors { field code message } } }`,
      { input: { manageToken, reason } },
      "cancelBooking",
    );
  }
}

// --- the staff calendar ---------------------------------------------------------------

export async function signIn(api, email, password) {
  return api.mutate(
    `mutation($input: SignInInput!) { signIn(input: $input) {
      token mfaChallenge { token } errors { field code message } } }`,
    { input: { email, password } }, "signIn",
  );
}

export async function completeMfaSignIn(api, challenge, code) {
  return api.mutate(
    `mutation($input: CompleteMfaSignInInput!) { completeMfaSignIn(input: $input) {
      token errors { field code message } } }`,
    { input: { challenge, code } }, "completeMfaSignIn",
  );
}

export async function calendarData(api, from, to) {
  const data = await api.request(
    `query($from: DateTime!, $to: DateTime!) {
      viewer { role user { email } tenant { name timeZone } }
      staffMembers(first: 100) { edges { node { id displayName timeZone weeklyHours { weekday start end isBreak } } } }
      bookings(first: 100, filter: { startsFrom: $from, startsBefore: $to }) { edges { node {
        id status startTime endTime seats
        customer { firstName lastName email } service { name } staff { id }
      } } }
    }`,
    { from, to },
  );
  return {
    viewer: data.viewer,
    staff: data.staffMembers.edges.map((edge) => edge.node),
    bookings: data.bookings.edges.map((edge) => edge.node),
  };
}

/** Time off of [from, to) by staff id: for managers and owners; null when not allowed. */
export async function timeOff(api, from, to) {
  try {
    const data = await api.request(
      `query($from: DateTime!, $to: DateTime!) { staffMembers(first: 100) { edges { node {
        id timeOff(from: $from, to: $to) { startsAt endsAt reason } } } } }`,
      { from, to },
    );
    return Object.fromEntries(data.staffMembers.edges.map((edge) => [edge.node.id, edge.node.timeOff]));
  } catch {
    return null;
  }
}

export function watchBookings(api, onEvent, onError) {
  return api.subscribe(
    `subscription { bookingEvents { eventId type status booking { id } } }`, {},
    (data) => onEvent(data.bookingEvents), onError,
  );
}

const ACTIONS = { confirm: "confirmBooking", complete: "completeBooking", noShow: "markNoShow" };

export async function bookingAction(api, action, id) {
  if (action === "cancel") {
    return api.mutate(
      `mutation($input: CancelBookingInput!) { cancelBooking(input: $input) { booking { id status } errors { field code message } } }`,
      { input: { id } }, "cancelBooking",
    );
  }
  const name = ACTIONS[action];
  return api.mutate(
    `mutation($input: BookingActionInput!) { ${name}(input: $input) { booking { id status } errors { field code message } } }`,
    { input: { id } }, name,
  );
}

const BOOKING_FIELDS = `id status startTime endTime seats price { amount currency }
  service { id name durationMinutes capacity cancellationPolicy { freeCancelHours lateCancelRefundPercent }
            staff { id displayName } }
  staff { id displayName }
  payments { kind status amount { amount currency } refunds { amount { amount currency } } }`;

// --- the pages behind the links in account mails (verify, invitation, reset) -------------

export async function verifyEmail(api, token) {
  return api.mutate(
    `mutation($token: String!) { verifyEmail(input: { token: $token }) { verified errors { field code message } } }`,
    { token }, "verifyEmail",
  );
}

/** A new verification link for the signed-in account (this browser's session). */
export async function resendVerificationEmail(api) {
  return api.mutate(
    `mutation { resendVerificationEmail { sent errors { field code message } } }`, {}, "resendVerificationEmail",
  );
}

/** The business and role of the invitation, or null when the link is not valid any more. */
export async function invitationByToken(api, token) {
  const data = await api.request(
    `query($token: String!) { invitationByToken(token: $token) { businessName role email hasAccount } }`,
    { token },
  );
  return data.invitationByToken;
}

export async function acceptInvitation(api, token, fullName, password) {
  return api.mutate(
    `mutation($input: AcceptInvitationInput!) { acceptInvitation(input: $input) {
      token viewer { role tenant { name } } errors { field code message } } }`,
    { input: { token, fullName, password } }, "acceptInvitation",
  );
}

export async function resetPassword(api, token, newPassword, mfaCode) {
  return api.mutate(
    `mutation($input: ResetPasswordInput!) { resetPassword(input: $input) { passwordReset errors { field code message } } }`,
    { input: { token, newPassword, mfaCode: mfaCode || null } }, "resetPassword",
  );
}
