// HTTP client of the moodboard API: bearer token, JSON and multipart bodies, problem-JSON errors.

const TOKEN_KEY = "moodboard.token";
let token = localStorage.getItem(TOKEN_KEY);

/** An API failure, carrying the problem JSON's detail and hint (never a stack trace). */
export class ApiError extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || `request failed (${status})`);
    this.status = status;
    this.title = problem.title || "Error";
    this.detail = problem.detail || this.message;
    this.hint = problem.hint || "";
    this.requestId = problem.request_id || "";
    this.retryAfter = problem.retry_after_s || null;
  }
}

/** Use `value` as the shopper token from now on (null signs out). */
export function setToken(value) {
  token = value || null;
  if (token) localStorage.setItem(TOKEN_KEY, token);
  else localStorage.removeItem(TOKEN_KEY);
}

export function hasToken() {
  return Boolean(token);
}

/** @param {Record<string, string>} [extra] */
function headers(extra = {}) {
  /** @type {Record<string, string>} */
  const h = { ...extra };
  if (token) h.Authorization = `Bearer ${token}`;
  return h;
}

async function problemOf(resp) {
  /** @type {any} */
  let body = {};
  try {
    const type = resp.headers.get("content-type") || "";
    body = type.includes("json") ? await resp.json() : { detail: (await resp.text()).slice(0, 300) };
  } catch {
    body = {};
  }
  if (!body.detail) body.detail = `${resp.status} ${resp.statusText || "error"}`;
  return new ApiError(resp.status, body);
}

/**
 * Send a request; `json` or `form` is the body. Resolves to the parsed JSON (null for 204), or the raw
 * response with `raw`.
 * @param {string} method
 * @param {string} path
 * @param {{ json?: any, form?: FormData, accept?: string, raw?: boolean }} [options]
 * @returns {Promise<any>}
 */
export async function send(method, path, { json, form, accept, raw } = {}) {
  const init = { method, headers: headers(accept ? { Accept: accept } : {}) };
  if (json !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(json);
  } else if (form !== undefined) {
    init.body = form;
  }
  let resp;
  try {
    resp = await fetch(path, init);
  } catch {
    throw new ApiError(0, {
      title: "Offline",
      detail: "cannot reach the moodboard server",
      hint: "check that it is still running, then try again",
    });
  }
  if (!resp.ok) throw await problemOf(resp);
  if (raw) return resp;
  if (resp.status === 204) return null;
  return resp.json();
}

export const get = (path) => send("GET", path);
export const post = (path, json) => send("POST", path, { json });
export const del = (path) => send("DELETE", path);
