// The claim page of a waitlist offer: /waitlist/offer/<token>?tenant=<slug>, the link in the
// offer's email or SMS. Shows the held time; "Book it" claims it, "Pass it on" declines it.
import { BokaApi } from "./api.js";
import { errorText } from "./i18n.js";
import { detectedTimeZone, el, whenLabel } from "./format.js";

const token = decodeURIComponent(location.pathname.split("/")[3] || "");
const api = new BokaApi(new URLSearchParams(location.search).get("tenant"));
const $ = (id) => document.getElementById(id);
const OFFER = `status expiresAt booking { id status startTime endTime service { name } staff { displayName } }`;

function showAlert(message) {
  $("alert").textContent = message || "";
  $("alert").hidden = !message;
}

async function act(mutation) {
  showAlert("");
  try {
    const payload = await api.mutate(
      `mutation($input: WaitlistOfferActionInput!) { ${mutation}(input: $input) {
        offer { ${OFFER} } errors { field code message } } }`,
      { input: { token } }, mutation,
    );
    render(payload.offer);
  } catch (error) {
    showAlert(errorText(error));
  }
}

function render(offer) {
  const section = $("offer");
  section.hidden = false;
  const zone = detectedTimeZone();
  const { booking } = offer;
  const lines = [
    el("h2", { text: `${booking.service.name} · ${booking.staff.displayName}` }),
    el("p", { text: whenLabel(booking.startTime, zone) }),
  ];
  if (offer.status === "OPEN") {
    lines.push(el("p", { text: `Held for you until ${whenLabel(offer.expiresAt, zone)}.` }));
    const claim = el("button", { type: "button", id: "claim", text: "Book it" });
    const decline = el("button", { type: "button", id: "decline", class: "secondary", text: "Pass it on" });
    claim.addEventListener("click", () => act("claimWaitlistOffer"));
    decline.addEventListener("click", () => act("declineWaitlistOffer"));
    lines.push(el("p", {}, claim, " ", decline));
  } else {
    const said = { CLAIMED: "Booked: see you then.", DECLINED: "Passed on to the next in line.",
                   EXPIRED: "This offer has expired." };
    lines.push(el("p", { id: "outcome", text: said[offer.status] || offer.status }));
  }
  section.replaceChildren(...lines);
}

async function start() {
  try {
    const [business, data] = await Promise.all([api.business(), api.request(
      `query($token: String!) { waitlistOfferByLink(token: $token) { ${OFFER} } }`, { token },
    )]);
    $("business-name").textContent = business.name;
    render(data.waitlistOfferByLink);
  } catch (error) {
    showAlert(errorText(error));
  }
}

start();
