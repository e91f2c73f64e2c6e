// /accept-invitation?token=…, the link in a team invitation: shows the business and the role;
// a new person chooses a name and password and joins; the holder of an existing account joins
// as the account signed in in this browser (the session cookie), or is told to sign in first.
import { BokaApi, acceptInvitation, invitationByToken } from "./api.js";
import { errorText, t, translateStatic } from "./i18n.js";

const token = new URLSearchParams(location.search).get("token") || "";
const api = new BokaApi(null);
const $ = (id) => document.getElementById(id);
const state = { invitation: null, joined: null, alert: "" };

function render() {
  document.title = t("invitationTitle");
  const { invitation, joined } = state;
  $("alert").textContent = state.alert;
  $("alert").hidden = !state.alert;
  if (joined) {
    $("status").textContent = t("invitationAccepted", { business: joined.viewer.tenant.name, role: t(`role_${joined.viewer.role}`) });
    $("accept-form").hidden = true;
    return;
  }
  if (!invitation) {
    $("accept-form").hidden = true;
    return;
  }
  $("business-name").textContent = invitation.businessName;
  const facts = { business: invitation.businessName, role: t(`role_${invitation.role}`), email: invitation.email };
  $("status").textContent = invitation.hasAccount
    ? `${t("invitationFor", facts)} ${t("invitationSignInFirst", facts)}`
    : t("invitationFor", facts);
  $("accept-form").hidden = false;
  $("new-account").hidden = invitation.hasAccount;
}

/** In words: a wrong account signed in is told which one the invitation is for. */
function acceptError(error) {
  if (error.code === "INVALID_TOKEN" && state.invitation && state.invitation.hasAccount) {
    return t("invitationOtherAccount", { email: state.invitation.email });
  }
  return errorText(error);
}

async function accept(event) {
  event.preventDefault();
  $("accept").disabled = true;
  state.alert = "";
  try {
    const newAccount = !state.invitation.hasAccount;
    state.joined = await acceptInvitation(
      api, token, newAccount ? $("full-name").value.trim() : "", newAccount ? $("password").value : null,
    );
  } catch (error) {
    state.alert = acceptError(error);
  } finally {
    $("accept").disabled = false;
  }
  render();
}

async function start() {
  translateStatic(render);
  $("accept-form").addEventListener("submit", accept);
  $("status").textContent = t("loading");
  try {
    state.invitation = token ? await invitationByToken(api, token) : null;
    if (!state.invitation) state.alert = t("err_INVALID_TOKEN");
  } catch (error) {
    state.alert = errorText(error);
  }
  $("status").textContent = "";
  render();
}

start();
