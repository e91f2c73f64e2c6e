// /reset-password?token=…, the link in the password reset mail: a new password, and a code
// from the authenticator app when the API answers that the account has two-factor on.
import { BokaApi, resetPassword } from "./api.js";
import { errorText, t, translateStatic } from "./i18n.js";

const token = new URLSearchParams(location.search).get("token") || "";
const api = new BokaApi(null);
const $ = (id) => document.getElementById(id);
const state = { done: false, error: null };

function render() {
  document.title = t("resetTitle");
  $("alert").textContent = state.error ? errorText(state.error) : "";
  $("alert").hidden = !state.error;
  $("status").textContent = state.done ? t("passwordChanged") : "";
  $("reset-form").hidden = state.done;
}

async function save(event) {
  event.preventDefault();
  $("save").disabled = true;
  state.error = null;
  try {
    await resetPassword(api, token, $("new-password").value, $("mfa-code").value.trim());
    state.done = true;
  } catch (error) {
    state.error = error;
    if (error.field === "mfaCode" || error.code === "MFA_REQUIRED") {
      $("mfa-field").hidden = false;
      $("mfa-code").focus();
    }
  } finally {
    $("save").disabled = false;
  }
  render();
}

function start() {
  translateStatic(render);
  $("reset-form").addEventListener("submit", save);
  if (!token) state.error = { code: "INVALID_TOKEN" };
  render();
}

start();
