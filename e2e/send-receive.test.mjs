// Sending a file from the page and receiving it in a fresh browser context.

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, test } from 'node:test';

import { filesAtLeast, findLeaks, parseLink } from './secrets.mjs';
import { testServerKeepsNoSecrets, useSuiteEnvironment, withBrowserSession } from './harness.mjs';
import {
  downloadThroughPage,
  makeRandomFile,
  openLink,
  sendThroughPage,
  sha256OfFile,
  sizeTextMatches,
  waitForShareLink,
} from './flows.mjs';

const FILE_SIZE = 3 * 1024 * 1024 + 12_345;

describe('send and receive', () => {
  const environment = useSuiteEnvironment('send-receive');

  /** Sends `file` from a new page and records its link and content as sensitive. */
  async function sendFile(session, file, label, options) {
    const page = await session.newPage();
    const link = await sendThroughPage(page, environment.server.url, file, options);
    environment.sensitive.addLink(link, label);
    return { page, link };
  }

  /** Opens `link` in a fresh context, downloads it and checks bytes and suggested name. */
  async function receiveAndCheck(t, session, link, file) {
    const page = await session.newPage();
    const { kind } = await openLink(page, link);
    assert.equal(kind, 'file', 'receive page shows a message instead of the file');

    const result = await downloadThroughPage(page, environment.workDir);
    t.diagnostic(`download delivered via ${result.mechanism}`);
    assert.equal(await sha256OfFile(result.path), file.sha256, 'downloaded bytes differ from the original');
    assert.equal(result.suggestedFilename, file.name, 'suggested file name differs from the original');
    return page;
  }

  test('round trip of multi-MB file', async (t) => {
    const file = await makeRandomFile(environment.workDir, 'contrat été 2026.pdf', FILE_SIZE);
    environment.sensitive.addFile(file, 'round trip');

    await withBrowserSession(t, environment, async (session) => {
      const { page: sendPage, link } = await sendFile(session, file, 'round trip');

      assert.ok(link.startsWith(`${environment.server.url}/`), 'share link does not point at the server page');

      // The browser does not expose the PUT body, so the stored object is
      // checked instead, while it still exists.
      const storedObjects = await filesAtLeast(environment.server.dataDir, file.size);
      assert.equal(storedObjects.length, 1, 'expected one stored object as large as the file');
      const atRest = await findLeaks({
        dataDir: environment.server.dataDir,
        logPath: environment.server.logPath,
        sensitive: environment.sensitive,
      });
      assert.deepEqual(atRest, [], 'stored upload or log contains a secret or plaintext');

      const expiryNote = await sendPage.getByTestId('expiry-note').textContent();
      assert.match(expiryNote, /\bonce\b/i, 'expiry note does not say the link works once');

      const receivePage = await session.newPage();
      const { kind } = await openLink(receivePage, link);
      assert.equal(kind, 'file', 'receive page shows a message instead of the file');
      assert.equal((await receivePage.getByTestId('file-name').textContent()).trim(), file.name);
      const sizeText = await receivePage.getByTestId('file-size').textContent();
      assert.ok(sizeTextMatches(sizeText, file.size), `file-size "${sizeText}" does not match ${file.size} bytes`);
      assert.notEqual((await receivePage.getByTestId('expires-at').textContent()).trim(), '', 'expires-at is empty');

      const result = await downloadThroughPage(receivePage, environment.workDir);
      t.diagnostic(`download delivered via ${result.mechanism}`);
      // 127.0.0.1 is a secure context, so the page must stream through its
      // service worker instead of gathering the file in memory.
      assert.notEqual(result.mechanism, 'blob', 'page fell back to an in-memory download');
      assert.equal(await receivePage.getByTestId('in-memory-notice').count(), 0, 'in-memory notice shown');
      assert.equal(await sha256OfFile(result.path), file.sha256, 'downloaded bytes differ from the original');
      assert.equal(result.suggestedFilename, file.name, 'suggested file name differs from the original');

      const secondPage = await session.newPage();
      const second = await openLink(secondPage, link);
      assert.equal(second.kind, 'already-downloaded');
      assert.equal(await secondPage.getByTestId('download-button').count(), 0, 'a claimed link still offers Download');
    });
  });

  test('download without service worker', async (t) => {
    const file = await makeRandomFile(environment.workDir, 'sans worker é.bin', 700_000);
    environment.sensitive.addFile(file, 'no service worker');

    await withBrowserSession(t, environment, async (session) => {
      const { link } = await sendFile(session, file, 'no service worker');

      // Blocking registration makes the page fall back to an in-memory Blob.
      const page = await session.newPage({ serviceWorkers: 'block' });
      assert.equal((await openLink(page, link)).kind, 'file');
      const result = await downloadThroughPage(page, environment.workDir);
      t.diagnostic(`download delivered via ${result.mechanism}`);
      assert.equal(result.mechanism, 'blob', 'download did not use the in-memory fallback');
      assert.ok(await page.getByTestId('in-memory-notice').isVisible(), 'in-memory notice not shown');
      assert.equal(await sha256OfFile(result.path), file.sha256, 'downloaded bytes differ from the original');
      assert.equal(result.suggestedFilename, file.name, 'suggested file name differs from the original');
    });
  });

  test('round trip of empty file', async (t) => {
    const file = await makeRandomFile(environment.workDir, 'empty.txt', 0);
    environment.sensitive.addFile(file, 'empty file');

    await withBrowserSession(t, environment, async (session) => {
      const { link } = await sendFile(session, file, 'empty file');
      await receiveAndCheck(t, session, link, file);
    });
  });

  test('drop zone accepts file', async (t) => {
    const file = await makeRandomFile(environment.workDir, 'dropped file.txt', 120_000);
    environment.sensitive.addFile(file, 'drop');
    const content = await readFile(file.path);

    await withBrowserSession(t, environment, async (session) => {
      const page = await session.newPage();
      await page.goto(`${environment.server.url}/`);

      // Builds the DataTransfer that a drag from the desktop carries.
      const dataTransfer = await page.evaluateHandle(
        ({ name, base64 }) => {
          const bytes = Uint8Array.from(atob(base64), (character) => character.charCodeAt(0));
          const transfer = new DataTransfer();
          transfer.items.add(new File([bytes], name, { type: 'text/plain' }));
          return transfer;
        },
        { name: file.name, base64: content.toString('base64') },
      );
      const dropZone = page.getByTestId('drop-zone');
      await dropZone.dispatchEvent('dragenter', { dataTransfer });
      await dropZone.dispatchEvent('dragover', { dataTransfer });
      await dropZone.dispatchEvent('drop', { dataTransfer });

      await page.getByTestId('send-button').click();
      const link = await waitForShareLink(page);
      environment.sensitive.addLink(link, 'drop');

      await receiveAndCheck(t, session, link, file);
    });
  });

  test('copy button copies link', async (t) => {
    const file = await makeRandomFile(environment.workDir, 'copied link.bin', 1_000);
    environment.sensitive.addFile(file, 'copy');

    await withBrowserSession(t, environment, async (session) => {
      const { page, link } = await sendFile(session, file, 'copy');
      await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], {
        origin: environment.server.url,
      });
      await page.bringToFront();

      await page.getByTestId('copy-button').click();
      const copied = await page.evaluate(() => navigator.clipboard.readText());
      // Compared without assert.equal so that a failure does not print the link.
      assert.ok(copied === link, 'clipboard does not contain the share link');
    });
  });

  test('link preview fetch burns nothing', async (t) => {
    const file = await makeRandomFile(environment.workDir, 'preview check.bin', 200_000);
    environment.sensitive.addFile(file, 'preview');

    await withBrowserSession(t, environment, async (session) => {
      const { link } = await sendFile(session, file, 'preview');

      // A chat link previewer fetches the URL without its fragment and may
      // follow it with a second request.
      for (let attempt = 0; attempt < 2; attempt += 1) {
        const response = await fetch(link, { headers: { 'User-Agent': 'e2e-link-previewer/1.0' } });
        assert.equal(response.status, 200, 'server did not serve the page for the link URL');
        const body = await response.text();
        assert.ok(!body.includes(file.name), 'page HTML contains the file name');
      }

      await receiveAndCheck(t, session, link, file);

      const againPage = await session.newPage();
      assert.equal((await openLink(againPage, link)).kind, 'already-downloaded');
    });
  });

  test('opening link without click burns nothing', async (t) => {
    const file = await makeRandomFile(environment.workDir, 'opened twice.bin', 150_000);
    environment.sensitive.addFile(file, 'open without click');

    await withBrowserSession(t, environment, async (session) => {
      const { link } = await sendFile(session, file, 'open without click');

      // A previewer that runs scripts, or a recipient who looks but closes the tab.
      for (let attempt = 0; attempt < 2; attempt += 1) {
        const lookPage = await session.newPage();
        assert.equal((await openLink(lookPage, link)).kind, 'file');
        await lookPage.context().close();
      }

      await receiveAndCheck(t, session, link, file);
    });
  });

  test('expiry choice reaches server', async (t) => {
    const file = await makeRandomFile(environment.workDir, 'short lived.bin', 1_000);
    environment.sensitive.addFile(file, 'expiry');

    await withBrowserSession(t, environment, async (session) => {
      const sentAt = Math.floor(Date.now() / 1000);
      const { link } = await sendFile(session, file, 'expiry', { expirySeconds: 300 });

      // The info call is the one the receive page makes first, and it burns nothing.
      const { id, claimToken } = parseLink(link);
      const response = await fetch(`${environment.server.url}/api/v1/files/${id}/info`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ claim_token: claimToken.toString('base64url') }),
      });
      assert.equal(response.status, 200);
      const info = await response.json();
      const remaining = info.expires_at - sentAt;
      assert.ok(remaining >= 240, `expires_at is ${remaining} s after sending, expected about 300`);
      assert.ok(remaining <= 360, `expires_at is ${remaining} s after sending, expected about 300`);

      await receiveAndCheck(t, session, link, file);
    });
  });

  test('downloaded ciphertext is deleted', async () => {
    // Every file sent above has been downloaded, so no stored object may be
    // as large as the big file (its ciphertext is 28 + L + 16 per record bytes).
    const deadline = Date.now() + 5_000;
    let largeFiles = await filesAtLeast(environment.server.dataDir, FILE_SIZE);
    while (largeFiles.length > 0 && Date.now() < deadline) {
      await new Promise((resolveWait) => setTimeout(resolveWait, 200));
      largeFiles = await filesAtLeast(environment.server.dataDir, FILE_SIZE);
    }
    assert.deepEqual(largeFiles, [], 'ciphertext still on disk after the download');
  });

  testServerKeepsNoSecrets(environment);
});
