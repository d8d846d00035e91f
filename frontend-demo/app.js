// The Latchkey demo SPA. It never sees a token: it calls only same-origin
// /auth/* and /api/* with the session cookie, and sends the BFF's CSRF
// header on every call (required on state-changing ones).

const CSRF = { "X-CSRF": "1" };
const $ = (id) => document.getElementById(id);

function show(signedIn) {
  $("signed-in").hidden = !signedIn;
  $("signed-out").hidden = signedIn;
}

function report(status, text, body) {
  $("status").textContent = text;
  $("status").dataset.status = String(status);
  $("result").textContent = body === undefined ? "" : JSON.stringify(body, null, 2);
}

function signedOut(reason) {
  show(false);
  $("who").textContent = "";
  $("reason").textContent = reason || "";
}

async function call(method, path, body) {
  let res;
  try {
    res = await fetch(path, {
      method,
      credentials: "same-origin",
      headers: body === undefined ? { ...CSRF } : { ...CSRF, "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (e) {
    report(0, `${method} ${path}: network error — check your connection and retry.`);
    return null;
  }
  let data;
  const type = res.headers.get("content-type") || "";
  if (type.includes("application/json")) {
    data = await res.json().catch(() => undefined);
  } else if (res.status !== 204) {
    data = await res.text();
  }
  if (res.status === 401) {
    const why = data && data.error === "session_expired"
      ? "Your session expired. Sign in again."
      : "You are signed out. Sign in to continue.";
    signedOut(why);
    report(401, `${method} ${path} → 401`, data);
    return null;
  }
  if (res.status === 503) {
    report(503, `${method} ${path} → 503: the service is briefly unavailable. Retry in a moment.`, data);
    return null;
  }
  report(res.status, `${method} ${path} → ${res.status}`, data);
  return { status: res.status, data };
}

async function refreshSession() {
  let res;
  try {
    res = await fetch("/auth/session", { credentials: "same-origin", headers: CSRF });
  } catch (e) {
    signedOut("");
    report(0, "Cannot reach the server — retry in a moment.");
    return;
  }
  if (res.status === 503) {
    report(503, "The service is briefly unavailable. Retry in a moment.");
    return;
  }
  const data = await res.json().catch(() => ({}));
  if (!res.ok || !data.authenticated) {
    const params = new URLSearchParams(location.search);
    const err = params.get("login_error");
    signedOut(err ? `Sign-in failed: ${err}` : "");
    report(res.status, "Signed out.");
    return;
  }
  const user = data.user || {};
  const name = user.username || user.preferred_username || user.sub || "unknown user";
  $("username").textContent = name;
  $("who").textContent = name;
  $("scope").textContent = data.scope || "";
  $("expires").textContent = data.expires_at ? new Date(data.expires_at * 1000).toLocaleString() : "—";
  show(true);
  report(200, "Signed in.");
  if (location.search) history.replaceState(null, "", location.pathname);
}

$("sign-in").addEventListener("click", () => {
  const back = location.pathname;
  location.assign(`/auth/login?return_to=${encodeURIComponent(back)}`);
});
$("call-me").addEventListener("click", () => call("GET", "/api/me/"));
$("call-groups").addEventListener("click", () => call("GET", "/api/groups/"));
$("call-note").addEventListener("click", () =>
  call("POST", "/api/notes/", { text: `Hello from the demo at ${new Date().toISOString()}` }));
$("sign-out").addEventListener("click", async () => {
  const r = await call("POST", "/auth/logout");
  if (r && (r.status === 204 || r.status === 200)) {
    signedOut("You signed out.");
    report(r.status, "Signed out.");
  }
});

refreshSession();
