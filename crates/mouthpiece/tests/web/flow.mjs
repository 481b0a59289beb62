// Drives Mouthpiece's web app in a real headless Chromium (Debian's), from
// a photo to a playing video, through the error states, and on a phone-sized
// screen. Screenshots go to SHOTS_DIR.
//
// Usage: node flow.mjs BASE_URL API_KEY PHOTO NO_FACE_PHOTO SHOTS_DIR SPENT_KEY
// (SPENT_KEY: a key whose quota is used up.)
import { chromium } from "playwright-core";
import assert from "node:assert/strict";
import path from "node:path";

const [base, key, photo, noFace, shots, spentKey] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--autoplay-policy=no-user-gesture-required"],
});
const shot = (page, name) => page.screenshot({ path: path.join(shots, `${name}.png`), fullPage: true });
const problems = [];

try {
  const desktop = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  const page = await desktop.newPage();
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));

  // The demo link signs in and the key leaves the address bar.
  await page.goto(`${base}/?key=${encodeURIComponent(key)}`);
  await page.getByRole("tab", { name: "Make a video" }).waitFor();
  assert.equal(new URL(page.url()).search, "", "the key is not left in the address bar");
  await page.getByText("No avatar yet.").waitFor();
  const visiblePanels = async () => (await page.locator("[role=tabpanel]").evaluateAll((panels) =>
    panels.filter((p) => p.offsetParent !== null).map((p) => p.id)));
  assert.deepEqual(await visiblePanels(), ["panel-make"], "one section at a time");
  assert.ok(await page.locator("#player").isHidden(), "no empty player before a video exists");
  assert.ok(await page.locator("#snap").isHidden(), "no camera button before the camera runs");
  await shot(page, "make-empty");

  // A photo without a face: the reason is shown.
  await page.getByRole("tab", { name: "Avatars" }).click();
  assert.deepEqual(await visiblePanels(), ["panel-avatars"]);
  await page.locator("#photo").setInputFiles(noFace);
  await page.getByRole("button", { name: "Make the avatar" }).click();
  const avatarError = page.locator("#avatar-error");
  await avatarError.waitFor({ state: "visible", timeout: 60000 });
  assert.match(await avatarError.textContent(), /face/i);
  await shot(page, "avatar-no-face");

  // A portrait: uploaded, analysed, outlined.
  await page.locator("#photo").setInputFiles(photo);
  await page.getByLabel("Name").fill("Eileen");
  await page.getByRole("button", { name: "Make the avatar" }).click();
  await page.getByText("Ready: “Eileen” can talk now.").waitFor({ timeout: 60000 });
  const outline = await page.locator("#face-outline polygon").getAttribute("points");
  assert.ok(outline.split(" ").length >= 30, `the face is outlined: ${outline}`);
  assert.ok(await page.locator("#face-outline").isVisible());
  await page.getByRole("img", { name: "Photo of Eileen" }).waitFor();
  await shot(page, "avatars");

  // A video: voice filtered by language and gender, text counted, square, with captions.
  await page.getByRole("tab", { name: "Make a video" }).click();
  await page.getByLabel("Language").selectOption("English");
  await page.getByLabel("Gender").selectOption("male");
  const voices = await page.locator("#voice option").allTextContents();
  assert.ok(voices.length >= 2 && voices.every((v) => v.endsWith("male")), voices.join(", "));
  await page.getByLabel("Voice", { exact: true }).selectOption("en-us-joe");
  await page.getByLabel("What should it say?").fill("Hello from the web page. I am talking now.");
  assert.equal(await page.locator("#text-count").textContent(), "42 / 5000 characters");
  await page.getByLabel("Square").check();
  await page.getByLabel("Captions").check();
  await page.getByRole("button", { name: "Make the video" }).click();
  await page.locator("#progress-box").waitFor({ state: "visible" });
  const player = page.locator("#player");
  await player.waitFor({ state: "visible", timeout: 120000 });
  await page.waitForFunction(() => document.getElementById("player").readyState >= 2, null, { timeout: 30000 });
  const video = await player.evaluate((v) => ({ duration: v.duration, width: v.videoWidth, height: v.videoHeight }));
  assert.ok(video.duration > 1.5, `the video plays: ${JSON.stringify(video)}`);
  assert.deepEqual([video.width, video.height], [720, 720]);
  const links = await page.locator("#downloads a").allTextContents();
  assert.deepEqual(links, ["Download MP4", "Captions (SRT)", "Video with captions", "GIF"]);
  await shot(page, "make-video");

  // The library lists it, and deletes it.
  await page.getByRole("tab", { name: "Library" }).click();
  await page.locator("#video-list li").first().waitFor();
  await shot(page, "library");
  page.once("dialog", (dialog) => dialog.accept());
  await page.locator("#video-list li").first().getByRole("button", { name: /^Delete video/ }).click();
  await page.getByText("No videos yet.").waitFor();

  // Keyboard: the tabs move with the arrow keys.
  await page.getByRole("tab", { name: "Library" }).focus();
  await page.keyboard.press("ArrowLeft");
  assert.equal(await page.getByRole("tab", { name: "Avatars" }).getAttribute("aria-selected"), "true");

  // A wrong key: the sign-in form says so.
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.getByLabel("API key").fill("mp_not_a_key");
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByText("That API key is not valid here.").waitFor();
  await shot(page, "sign-in-error");

  // A key whose quota is used up, and a server that is busy: both said plainly.
  const spent = await (await browser.newContext({ viewport: { width: 1280, height: 860 } })).newPage();
  await spent.goto(`${base}/?key=${encodeURIComponent(spentKey)}`);
  await spent.getByRole("tab", { name: "Avatars" }).click();
  await spent.locator("#photo").setInputFiles(photo);
  await spent.getByRole("button", { name: "Make the avatar" }).click();
  await spent.getByText(/can talk now/).waitFor({ timeout: 60000 });
  await spent.getByRole("tab", { name: "Make a video" }).click();
  await spent.getByRole("button", { name: "Make the video" }).click();
  const spentError = spent.locator("#make-error");
  await spentError.waitFor({ state: "visible" });
  assert.match(await spentError.textContent(), /quota/i);
  await shot(spent, "quota-used");
  await spent.route("**/v2/video/generate", (route) => route.fulfill({ status: 503, body: "overloaded" }));
  await spent.getByRole("button", { name: "Make the video" }).click();
  await spent.getByText("The server is busy or failed. Wait a moment and try again.").waitFor();

  // A phone: the same page, no sideways scrolling.
  const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  const small = await phone.newPage();
  await small.goto(`${base}/?key=${encodeURIComponent(key)}`);
  await small.getByRole("button", { name: "Make the video" }).waitFor();
  const overflow = await small.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `no sideways scroll on a phone (${overflow}px too wide)`);
  await shot(small, "phone");
  assert.deepEqual(problems, []);
  console.log("web app: avatar, video, library, errors and phone layout all work");
} finally {
  await browser.close();
}
