// Network faults, a cancelled upload and tampered ciphertext, as a user
// would meet them on the page.

import assert from 'node:assert/strict';
import { open } from 'node:fs/promises';
import { describe, test } from 'node:test';

import { filesAtLeast } from './secrets.mjs';
import { testServerKeepsNoSecrets, useSuiteEnvironment, withBrowserSession } from './harness.mjs';
import {
  downloadThroughPage,
  makeRandomFile,
  openLink,
  sendThroughPage,
  sha256OfFile,
  waitForMessageKind,
  waitForShareLink,
} from './flows.mjs';

const FILE_SIZE = 400_000;

const isBlobUrl = (url) => url.pathname.startsWith('/blob/');
const isClaimUrl = (url) => /^\/api\/v1\/files\/[^/]+\/claim$/.test(url.pathname);
const isInfoUrl = (url) => /^\/api\/v1\/files\/[^/]+\/info$/.test(url.pathname);

describe('faults', () => {
  const environment = useSuiteEnvironment('faults');

  async function makeFile(name, label) {
    const file = await makeRandomFile(environment.workDir, name, FILE_SIZE);
    environment.sensitive.addFile(file, label);
    return file;
  }

  async function openSendPageWithFile(session, file) {
    const page = await session.newPage();
    await page.goto(`${environment.server.url}/`);
    await page.getByTestId('file-input').setInputFiles(file.path);
    return page;
  }

  /**
   * Makes requests that match `urlMatches` and `method` fail at the network
   * level until the returned function is called.
   */
  async function failRequests(page, urlMatches, method) {
    let failing = true;
    await page.route(urlMatches, (route) => {
      if (failing && route.request().method() === method) {
        return route.abort('connectionfailed');
      }
      return route.continue();
    });
    return () => {
      failing = false;
    };
  }

  async function receiveAndCheck(session, link, file) {
    const page = await session.newPage();
    assert.equal((await openLink(page, link)).kind, 'file');
    const result = await downloadThroughPage(page, environment.workDir);
    assert.equal(await sha256OfFile(result.path), file.sha256, 'downloaded bytes differ from the original');
  }

  test('upload network failure offers retry', async (t) => {
    const file = await makeFile('upload retry.bin', 'upload retry');

    await withBrowserSession(t, environment, async (session) => {
      const page = await openSendPageWithFile(session, file);
      const restoreNetwork = await failRequests(page, isBlobUrl, 'PUT');
      await page.getByTestId('send-button').click();

      assert.equal(await waitForMessageKind(page), 'network');
      assert.equal(await page.getByTestId('share-link').count(), 0, 'a share link appeared after a failed upload');

      restoreNetwork();
      await page.getByTestId('retry-button').click();
      const link = await waitForShareLink(page);
      environment.sensitive.addLink(link, 'upload retry');

      await receiveAndCheck(session, link, file);
    });
  });

  test('info network failure offers retry', async (t) => {
    const file = await makeFile('info retry.bin', 'info retry');

    await withBrowserSession(t, environment, async (session) => {
      const link = await sendThroughPage(await session.newPage(), environment.server.url, file);
      environment.sensitive.addLink(link, 'info retry');

      const page = await session.newPage();
      const restoreNetwork = await failRequests(page, isInfoUrl, 'POST');
      assert.equal((await openLink(page, link)).kind, 'network');

      restoreNetwork();
      await page.getByTestId('retry-button').click();
      await page.getByTestId('file-name').waitFor({ state: 'visible' });
      assert.equal((await page.getByTestId('file-name').textContent()).trim(), file.name);

      const result = await downloadThroughPage(page, environment.workDir);
      assert.equal(await sha256OfFile(result.path), file.sha256, 'downloaded bytes differ from the original');
    });
  });

  test('claim network failure offers retry', async (t) => {
    const file = await makeFile('claim retry.bin', 'claim retry');

    await withBrowserSession(t, environment, async (session) => {
      const link = await sendThroughPage(await session.newPage(), environment.server.url, file);
      environment.sensitive.addLink(link, 'claim retry');

      const page = await session.newPage();
      assert.equal((await openLink(page, link)).kind, 'file');
      const restoreNetwork = await failRequests(page, isClaimUrl, 'POST');
      await page.getByTestId('download-button').click();
      assert.equal(await waitForMessageKind(page), 'network');

      restoreNetwork();
      const result = await downloadThroughPage(page, environment.workDir, { buttonTestId: 'retry-button' });
      assert.equal(await sha256OfFile(result.path), file.sha256, 'downloaded bytes differ from the original');
    });
  });

  test('lost claim response retried by the same page', async (t) => {
    const file = await makeFile('lost claim.bin', 'lost claim');

    await withBrowserSession(t, environment, async (session) => {
      const link = await sendThroughPage(await session.newPage(), environment.server.url, file);
      environment.sensitive.addLink(link, 'lost claim');

      const page = await session.newPage();
      assert.equal((await openLink(page, link)).kind, 'file');
      // The server handles the first claim and uses up the link, but its
      // response never reaches the page.
      const serverStatuses = [];
      let losing = true;
      await page.route(isClaimUrl, async (route) => {
        if (!losing || route.request().method() !== 'POST') {
          return route.continue();
        }
        const response = await route.fetch();
        serverStatuses.push(response.status());
        return route.abort('connectionfailed');
      });
      await page.getByTestId('download-button').click();
      assert.equal(await waitForMessageKind(page), 'network');
      assert.deepEqual(serverStatuses, [200], 'the server did not claim the file');

      losing = false;
      const result = await downloadThroughPage(page, environment.workDir, { buttonTestId: 'retry-button' });
      assert.equal(await sha256OfFile(result.path), file.sha256, 'downloaded bytes differ from the original');
    });
  });

  test('ciphertext fetch failure offers retry', async (t) => {
    const file = await makeFile('fetch retry.bin', 'fetch retry');

    await withBrowserSession(t, environment, async (session) => {
      const link = await sendThroughPage(await session.newPage(), environment.server.url, file);
      environment.sensitive.addLink(link, 'fetch retry');

      // The claim succeeds and burns the link, so the retry must reuse it.
      const page = await session.newPage();
      assert.equal((await openLink(page, link)).kind, 'file');
      const restoreNetwork = await failRequests(page, isBlobUrl, 'GET');
      await page.getByTestId('download-button').click();
      assert.equal(await waitForMessageKind(page), 'network');

      restoreNetwork();
      const result = await downloadThroughPage(page, environment.workDir, { buttonTestId: 'retry-button' });
      assert.equal(await sha256OfFile(result.path), file.sha256, 'downloaded bytes differ from the original');
    });
  });

  test('upload cancel shows no link', async (t) => {
    const file = await makeFile('cancelled.bin', 'cancel');

    await withBrowserSession(t, environment, async (session) => {
      const page = await openSendPageWithFile(session, file);

      // Hold the ciphertext upload so that Cancel is pressed while it runs.
      const heldRoutes = [];
      let markUploadStarted;
      const uploadStarted = new Promise((resolveStarted) => {
        markUploadStarted = resolveStarted;
      });
      await page.route(isBlobUrl, (route) => {
        heldRoutes.push(route);
        markUploadStarted();
      });

      try {
        await page.getByTestId('send-button').click();
        await uploadStarted;
        await page.getByTestId('cancel-button').click();

        await page.getByTestId('cancel-button').waitFor({ state: 'detached', timeout: 15_000 });
        assert.equal(await page.getByTestId('share-link').count(), 0, 'a share link appeared after Cancel');
        assert.ok(await page.getByTestId('send-button').isVisible(), 'send form is gone after Cancel');
        const messageKind = await page.getByTestId('message').first().getAttribute('data-kind', { timeout: 1_000 })
          .catch(() => null);
        t.diagnostic(`message after Cancel: ${messageKind ?? 'none'}`);
      } finally {
        for (const route of heldRoutes) {
          await route.abort().catch(() => {});
        }
      }
    });
  });

  test('tampered ciphertext shows decrypt-failed', async (t) => {
    const file = await makeFile('tampered.bin', 'tampered');

    await withBrowserSession(t, environment, async (session) => {
      const link = await sendThroughPage(await session.newPage(), environment.server.url, file);
      environment.sensitive.addLink(link, 'tampered');

      // The stored object is the only file larger than the plaintext:
      // ciphertext adds a 28-byte header and a 16-byte tag per record.
      const candidates = await filesAtLeast(environment.server.dataDir, FILE_SIZE + 44);
      assert.equal(candidates.length, 1, `expected one stored ciphertext, found ${candidates.length}`);
      const handle = await open(`${environment.server.dataDir}/${candidates[0]}`, 'r+');
      try {
        const middle = Buffer.alloc(1);
        const offset = Math.floor(FILE_SIZE / 2);
        await handle.read(middle, 0, 1, offset);
        middle[0] ^= 0x01;
        await handle.write(middle, 0, 1, offset);
      } finally {
        await handle.close();
      }

      const page = await session.newPage();
      assert.equal((await openLink(page, link)).kind, 'file');
      const downloads = [];
      page.on('download', (download) => downloads.push(download));
      await page.getByTestId('download-button').click();

      assert.equal(await waitForMessageKind(page, 60_000), 'decrypt-failed');
      assert.equal(await page.getByTestId('download-done').count(), 0, 'download-done shown for tampered data');
      for (const download of downloads) {
        assert.notEqual(await download.failure(), null, 'the browser kept a tampered download as complete');
      }
      t.diagnostic(`browser downloads started before the failure: ${downloads.length}`);
    });
  });

  testServerKeepsNoSecrets(environment);
});
