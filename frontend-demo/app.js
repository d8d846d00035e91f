// The Latchkey demo SPA. It never sees a token: it calls only same-origin /auth/* and
// /api/* with the session cookie (credentials: "same-origin") and sends the BFF's CSRF
// header. The only thing it keeps is a "was signed in" flag, to explain an ended session.

const CSRF_HEADER = { "X-CSRF": "1" };
const WAS_SIGNED_IN = "latchkey-demo:was-signed-in";
const SIGNED_OUT = "latchkey-demo:signed-out";
const RETRY = "Retry in a moment.";
const $ = (id) => document.getElementById(id);

const LOGIN_ERRORS = {
  access_denied: "you declined the request on the sign-in page",
  state_mismatch: "the sign-in response did not match this browser's request",
  no_login_in_progress: "the sign-in took too long or was started in another browser",
  token_exchange_failed: "the BFF could not redeem the sign-in with the provider",
  temporarily_unavailable: "the provider is briefly unavailable",
};

function show(signedIn) {
  $("signed-in").hidden = !signedIn;
  $("signed-out").hidden = signedIn;
}

function report(status, text, body) {
  $("status").textContent = text;
  $("status").dataset.status = String(status);
  $("result").textContent =
    body === undefined ? "" : typeof body === "string" ? body : JSON.stringify(body, null, 2);
}

function signedOut(reason) {
  sessionStorage.removeItem(WAS_SIGNED_IN);
  show(false);
  $("who").textContent = "";
  $("reason").textContent = reason || "";
}

function signedIn(session) {
  sessionStorage.setItem(WAS_SIGNED_IN, "1");
  const user = session.user || {};
  const name = user.username || user.preferred_username || user.sub || "unknown user";
  $("username").textContent = name;
  $("who").textContent = name;
  $("scope").textContent = session.scope || "";
  $("expires").textContent = session.expires_at
    ? new Date(session.expires_at * 1000).toLocaleString()
    : "—";
  show(true);
}

async function readBody(res) {
  const type = res.headers.get("content-type") || "";
  if (res.status === 204) return undefined;
  if (type.includes("application/json")) return res.json().catch(() => undefined);
  return res.text();
}

/** One same-origin call; flips to signed out on 401. Returns {status, data} or null. */
async function call(method, path, body) {
  const headers = { ...CSRF_HEADER };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let res;
  try {
    res = await fetch(path, {
      method,
      credentials: "same-origin",
      // The page's policy is no-referrer, which would send `Origin: null` on a POST.
      referrerPolicy: "same-origin",
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    report(0, `${method} ${path}: network error — check your connection. ${RETRY}`);
    return null;
  }
  const data = await readBody(res);
  if (res.status === 401) {
    signedOut(
      data && data.error === "session_expired"
        ? "Your session expired. Sign in again."
        : "You are signed out. Sign in to continue.",
    );
    report(401, `${method} ${path} → 401: signed out`, data);
    return null;
  }
  if (res.status === 503) {
    report(503, `${method} ${path} → 503: the service is briefly unavailable. ${RETRY}`, data);
    return null;
  }
  report(res.status, `${method} ${path} → ${res.status}`, data);
  return { status: res.status, data };
}

function loginErrorReason() {
  const code = new URLSearchParams(location.search).get("login_error");
  if (!code) return "";
  return `Sign-in failed: ${LOGIN_ERRORS[code] || code}. Try again.`;
}

async function loadSession() {
  const loginError = loginErrorReason();
  if (location.search) history.replaceState(null, "", location.pathname);
  // Set before going to the provider's logout, which sends the browser back here.
  const backFromProvider = sessionStorage.getItem(SIGNED_OUT);
  sessionStorage.removeItem(SIGNED_OUT);
  let res;
  try {
    res = await fetch("/auth/session", {
      credentials: "same-origin",
      referrerPolicy: "same-origin",
      headers: CSRF_HEADER,
    });
  } catch {
    report(0, `Cannot reach the server. ${RETRY}`);
    return;
  }
  if (res.status === 503) {
    report(503, `The service is briefly unavailable. ${RETRY}`);
    return;
  }
  const data = await res.json().catch(() => ({}));
  if (res.ok && data.authenticated) {
    signedIn(data);
    report(200, "Signed in.");
    return;
  }
  const ended = backFromProvider
    ? "You signed out."
    : sessionStorage.getItem(WAS_SIGNED_IN)
      ? "Your session ended (it expired or you signed out elsewhere). Sign in again."
      : "";
  signedOut(loginError || ended);
  report(res.status, "Signed out.");
}

$("sign-in").addEventListener("click", () => {
  location.assign(`/auth/login?return_to=${encodeURIComponent(location.pathname)}`);
});
$("call-me").addEventListener("click", () => call("GET", "/api/me/"));
$("call-groups").addEventListener("click", () => call("GET", "/api/groups/"));
$("call-note").addEventListener("click", () =>
  call("POST", "/api/notes/", { text: `Hello from the demo at ${new Date().toISOString()}` }),
);
$("sign-out").addEventListener("click", async () => {
  const result = await call("POST", "/auth/logout");
  if (result && result.status < 300) {
    signedOut("You signed out.");
    report(result.status, "Signed out.");
    // The BFF's session is gone; {"redirect"} means the provider's session ends too
    // (RP-Initiated Logout): go there, it comes back to this page.
    if (result.data && typeof result.data.redirect === "string") {
      sessionStorage.setItem(SIGNED_OUT, "1");
      location.assign(result.data.redirect);
    }
  }
});

loadSession();
