// Signs in to a running provider as a staff user through the real login form,
// then captures the admin's application list and add page.
// Usage: BASE=http://127.0.0.1:8765 USERNAME=admin PASSWORD=… OUT=../ node capture.mjs
import { chromium } from "playwright-core";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const base = process.env.BASE ?? "http://127.0.0.1:8765";
const out = process.env.OUT ?? "..";
const flags = [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
  "--window-size=1280,900",
];

const context = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), "lk-shot-")), {
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: flags,
  viewport: { width: 1280, height: 900 },
});
const page = context.pages()[0] ?? (await context.newPage());

await page.goto(`${base}/admin/oauth2/application/`);
// Anonymous: redirected to the login page with ?next=…
await page.fill("#id_username", process.env.USERNAME ?? "admin");
await page.fill("#id_password", process.env.PASSWORD ?? "admin");
await Promise.all([page.waitForNavigation(), page.click("button[type=submit]")]);
if (!page.url().includes("/admin/oauth2/application/")) {
  console.error(await page.content());
  throw new Error(`login did not land on the admin: ${page.url()}`);
}
await page.screenshot({ path: join(out, "admin-applications.png"), fullPage: true });

await page.goto(`${base}/admin/oauth2/application/add/`);
await page.screenshot({ path: join(out, "admin-add-application.png"), fullPage: true });

if (process.env.EXTRA) {
  // For review only (not committed): the show-once secret page and an invalid form.
  await page.fill("#id_name", "Review app");
  await page.fill("#id_redirect_uris", "https://app.example/cb");
  await Promise.all([page.waitForNavigation(), page.click("main button[type=submit]")]);
  await page.screenshot({ path: join(process.env.EXTRA, "secret.png"), fullPage: true });
  await page.goto(`${base}/admin/oauth2/application/add/`);
  await page.fill("#id_redirect_uris", "http://evil.example/cb#x");
  await Promise.all([page.waitForNavigation(), page.click("main button[type=submit]")]);
  await page.screenshot({ path: join(process.env.EXTRA, "invalid.png"), fullPage: true });
  for (const [name, path] of [["users", "/admin/users/"], ["tokens", "/admin/oauth2/accesstoken/"], ["index", "/admin/"]]) {
    await page.goto(`${base}${path}`);
    await page.screenshot({ path: join(process.env.EXTRA, `${name}.png`), fullPage: true });
  }
  await page.goto(`${base}/admin/users/`);
  await Promise.all([page.waitForNavigation(), page.click("table a >> nth=1")]);
  await page.screenshot({ path: join(process.env.EXTRA, "user.png"), fullPage: true });
}
if (process.env.PHONE) {
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto(`${base}/admin/oauth2/application/`);
  await page.screenshot({ path: join(out, "admin-applications-phone.png"), fullPage: true });
}
await context.close();
