// The user switcher: demo personas (dev mode) signed in with POST /auth/demo-login.

import { get, hasToken, post, setToken } from "./api.js";
import { $, announce, h } from "./dom.js";
import { showError } from "./notice.js";
import { EVENTS, emit, state } from "./state.js";

const CHOICE_KEY = "moodboard.persona";

async function signIn(externalId) {
  const body = await post("/auth/demo-login", { persona: externalId });
  setToken(body.token);
  state.user = body.user;
  localStorage.setItem(CHOICE_KEY, externalId);
}

function signOut() {
  setToken(null);
  state.user = null;
  localStorage.setItem(CHOICE_KEY, "");
}

/** Fill the switcher and sign in as the remembered persona (or the first one on a first visit). */
export async function initPersonas() {
  const select = $("#persona");
  let personas = [];
  try {
    personas = await get("/personas");
  } catch (err) {
    showError(err, "Personas");
  }
  select.replaceChildren(
    h("option", { value: "" }, "Guest"),
    ...personas.map((p) => h("option", { value: p.external_id }, p.name)),
  );
  const remembered = localStorage.getItem(CHOICE_KEY);
  const wanted = remembered === null ? personas[0]?.external_id || "" : remembered;
  if (wanted && personas.some((p) => p.external_id === wanted)) {
    try {
      if (hasToken()) {
        state.user = await get("/me");
        if (state.user.external_id !== wanted) await signIn(wanted);
      } else {
        await signIn(wanted);
      }
    } catch {
      try {
        await signIn(wanted); // the stored token expired or the server's key changed
      } catch (err) {
        showError(err, "Sign-in");
        signOut();
      }
    }
  } else {
    signOut();
  }
  select.value = state.user ? state.user.external_id : "";
  select.addEventListener("change", async () => {
    try {
      if (select.value) await signIn(select.value);
      else signOut();
      announce(state.user ? `Shopping as ${state.user.name}` : "Shopping as a guest");
      emit(EVENTS.persona, state.user);
    } catch (err) {
      showError(err, "Switching persona");
      select.value = state.user ? state.user.external_id : "";
    }
  });
}
