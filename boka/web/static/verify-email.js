// /verify-email?token=…, the link in the "confirm your email address" mail: it verifies at once
// and says so; an expired or used link offers a new one (to a signed-in browser).
import { BokaApi, resendVerificationEmail, verifyEmail } from "./api.js";
import { errorText, t, translateStatic } from "./i18n.js";

const token = new URLSearchParams(location.search).get("token") || "";
const api = new BokaApi(null);
const $ = (id) => document.getElementById(id);
let shown = null; // [key of the status line, alert text]

function show(statusKey, alert = "") {
  shown = [statusKey, alert];
  $("status").textContent = statusKey ? t(statusKey) : "";
  $("alert").textContent = alert;
  $("alert").hidden = !alert;
}

async function resend() {
  $("resend").disabled = true;
  try {
    const { sent } = await resendVerificationEmail(api);
    show(sent ? "verificationResent" : "alreadyVerified");
    $("resend-actions").hidden = true;
  } catch (error) {
    show("", error.code === "UNAUTHENTICATED" ? t("resendSignInFirst") : errorText(error));
  } finally {
    $("resend").disabled = false;
  }
}

async function start() {
  translateStatic(() => shown && show(shown[0], shown[1]));
  document.title = t("verifyTitle");
  $("resend").addEventListener("click", resend);
  if (!token) {
    show("", t("err_INVALID_TOKEN"));
    return;
  }
  show("verifying");
  try {
    await verifyEmail(api, token);
    show("emailVerified");
  } catch (error) {
    show("", errorText(error));
    $("resend-actions").hidden = error.code !== "INVALID_TOKEN";
  }
}

start();
