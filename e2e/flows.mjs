// User-level steps on the Safebox page: make a file, send it, open a link,
// download. Element names follow the page's data-testid contract.

import { randomBytes, randomUUID } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { FRAGMENT_PATTERN, sha256Hex } from './secrets.mjs';

const SEND_TIMEOUT_MS = 90_000;
const DOWNLOAD_TIMEOUT_MS = 90_000;
const RECEIVE_PAGE_TIMEOUT_MS = 30_000;

/**
 * Writes `size` random bytes to `directory/name` and returns the path, name,
 * size, SHA-256 and a 32-byte sample from the middle of the content.
 */
export async function makeRandomFile(directory, name, size) {
  const content = randomBytes(size);
  const path = join(directory, name);
  await writeFile(path, content);
  const sampleStart = Math.max(0, Math.floor(size / 2) - 16);
  return {
    path,
    name,
    size,
    sha256: sha256Hex(content),
    sample: Buffer.from(content.subarray(sampleStart, sampleStart + 32)),
  };
}

export async function sha256OfFile(path) {
  return sha256Hex(await readFile(path));
}

/** Returns the `data-kind` of the page's message element, or null if none is shown. */
export async function visibleMessageKind(page) {
  const message = page.getByTestId('message');
  if ((await message.count()) === 0 || !(await message.first().isVisible())) {
    return null;
  }
  return message.first().getAttribute('data-kind');
}

/**
 * Polls until `check()` returns a truthy value, and returns it. Throws,
 * naming `description`, if the page shows a message first or on timeout.
 */
async function waitForPage(page, description, timeoutMs, check) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const result = await check();
    if (result) {
      return result;
    }
    const kind = await visibleMessageKind(page);
    if (kind !== null) {
      throw new Error(`page showed message data-kind="${kind}" while waiting for ${description}`);
    }
    await page.waitForTimeout(200);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${description}`);
}

/**
 * Opens the send page, chooses `file` in the file input, optionally picks an
 * expiry (seconds, as in the `expiry` select), clicks Send and returns the
 * share link once it appears.
 */
export async function sendThroughPage(page, serverUrl, file, { expirySeconds } = {}) {
  await page.goto(`${serverUrl}/`);
  await page.getByTestId('file-input').setInputFiles(file.path);
  if (expirySeconds !== undefined) {
    await page.getByTestId('expiry').selectOption(String(expirySeconds));
  }
  await page.getByTestId('send-button').click();
  return waitForShareLink(page);
}

/** Waits until the send page shows a well-formed share link and returns it. */
export async function waitForShareLink(page) {
  const shareLink = page.getByTestId('share-link');
  return waitForPage(page, 'the share link', SEND_TIMEOUT_MS, async () => {
    if ((await shareLink.count()) === 0) {
      return null;
    }
    const value = await shareLink.inputValue();
    const fragment = value.slice(value.indexOf('#') + 1);
    return value.includes('#') && FRAGMENT_PATTERN.test(fragment) ? value : null;
  });
}

/**
 * Waits until the page shows a message and returns its `data-kind`.
 * Throws if none appears within `timeoutMs`.
 */
export async function waitForMessageKind(page, timeoutMs = RECEIVE_PAGE_TIMEOUT_MS) {
  const message = page.getByTestId('message').first();
  await message.waitFor({ state: 'visible', timeout: timeoutMs });
  return message.getAttribute('data-kind');
}

/**
 * Opens `link` in `page` and waits until the receive page shows either the
 * file name or a message. Returns `{ kind }`: "file" or the message's data-kind.
 */
export async function openLink(page, link) {
  await page.goto(link);
  const fileName = page.getByTestId('file-name');
  const message = page.getByTestId('message');
  await fileName.or(message).first().waitFor({ state: 'visible', timeout: RECEIVE_PAGE_TIMEOUT_MS });
  if (await fileName.isVisible()) {
    return { kind: 'file' };
  }
  return { kind: await message.first().getAttribute('data-kind') };
}

/**
 * Clicks Download (or the button named by `buttonTestId`, such as
 * `retry-button`) on an open receive page, saves the browser download into
 * `directory` and waits for `download-done`. Returns the saved path, the
 * suggested file name and how the bytes reached the browser: "blob" for an
 * in-memory Blob link, otherwise the download URL's scheme and path prefix.
 */
export async function downloadThroughPage(page, directory, { buttonTestId = 'download-button' } = {}) {
  const downloadEvent = page.waitForEvent('download', { timeout: DOWNLOAD_TIMEOUT_MS });
  await page.getByTestId(buttonTestId).click();
  const download = await downloadEvent;

  const path = join(directory, `download-${randomUUID()}`);
  await download.saveAs(path);
  const failure = await download.failure();
  if (failure !== null) {
    throw new Error(`browser download failed: ${failure}`);
  }

  await waitForPage(page, 'download-done', DOWNLOAD_TIMEOUT_MS, () =>
    page.getByTestId('download-done').isVisible(),
  );

  const downloadUrl = new URL(download.url());
  const mechanism =
    downloadUrl.protocol === 'blob:'
      ? 'blob'
      : `${downloadUrl.protocol}//${downloadUrl.host}${downloadUrl.pathname.split('/').slice(0, 2).join('/')}/…`;
  return { path, suggestedFilename: download.suggestedFilename(), mechanism };
}

const SIZE_UNITS = {
  b: [1],
  byte: [1],
  bytes: [1],
  kb: [1000, 1024],
  kib: [1024],
  mb: [1000 ** 2, 1024 ** 2],
  mib: [1024 ** 2],
  gb: [1000 ** 3, 1024 ** 3],
  gib: [1024 ** 3],
};

/**
 * Returns whether a human-readable size such as "3.1 MB", "3,0 MiB" or
 * "3,145,851 bytes" describes `sizeInBytes`. A count in bytes must be exact,
 * and a larger unit may be off by one unit of its last displayed digit for
 * rounding. "KB", "MB" and "GB" may be decimal or binary.
 */
export function sizeTextMatches(text, sizeInBytes) {
  const match = /(\d[\d.,\u00a0\u202f ]*)\s*(bytes|byte|b|kib|kb|mib|mb|gib|gb)\b/i.exec(text);
  if (!match) {
    return false;
  }
  const unit = match[2].toLowerCase();
  let digits = match[1].trim().replace(/[\u00a0\u202f ]/g, '');
  if (SIZE_UNITS[unit][0] === 1) {
    digits = digits.replace(/[.,]/g, '');
  } else {
    digits = digits.replace(',', '.');
  }
  const value = Number(digits);
  if (!Number.isFinite(value)) {
    return false;
  }
  if (SIZE_UNITS[unit][0] === 1) {
    return value === sizeInBytes;
  }
  const decimals = digits.includes('.') ? digits.length - digits.indexOf('.') - 1 : 0;
  const lastDigitStep = 10 ** -decimals;
  return SIZE_UNITS[unit].some((unitSize) => Math.abs(value - sizeInBytes / unitSize) <= lastDigitStep);
}
