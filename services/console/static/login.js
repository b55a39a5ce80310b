// The login page: its language (remembered, and sent with the form) and the failure message.

import { initialLang, setLang, translatePage } from "./i18n.js";

const select = document.getElementById("lang-switch");

function use(lang, remember) {
  setLang(lang, remember);
  select.value = lang;
  translatePage();
}

use(initialLang(), false);
select.addEventListener("change", () => use(select.value, true));
document.getElementById("login-form").addEventListener("submit", () => setLang(select.value, true));
if (new URLSearchParams(window.location.search).get("error")) {
  const error = document.getElementById("login-error");
  error.hidden = false;
  document.getElementById("ident").setAttribute("aria-describedby", "login-error");
}
