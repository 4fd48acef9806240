// Damaged, forged and unknown links on the receive page.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { makeNonCanonical, parseLink, randomB64u } from './secrets.mjs';
import { testServerKeepsNoSecrets, useSuiteEnvironment, withBrowserSession } from './harness.mjs';
import { downloadThroughPage, makeRandomFile, openLink, sendThroughPage, sha256OfFile } from './flows.mjs';

/** Fragments that a version 1 parser must reject, built from a real link's id and secret. */
function damagedFragments(id, secret) {
  const replaceAt = (text, index, character) => text.slice(0, index) + character + text.slice(index + 1);
  return [
    ['truncated secret', `${id}.${secret.slice(0, -5)}`],
    ['secret one char short', `${id}.${secret.slice(0, -1)}`],
    ['secret one char long', `${id}.${secret}A`],
    ['id only', id],
    ['id and dot', `${id}.`],
    ['id one char short', `${id.slice(1)}.${secret}`],
    ['third field', `${id}.${secret}.p`],
    ['non-canonical secret', `${id}.${makeNonCanonical(secret)}`],
    ['standard base64 character', `${id}.${replaceAt(secret, 3, '+')}`],
    ['no separator', `${id}${secret}`],
    ['free text', 'hello'],
  ];
}

describe('links', () => {
  const environment = useSuiteEnvironment('links');

  async function sendFile(session, name, label) {
    const file = await makeRandomFile(environment.workDir, name, 300_000);
    environment.sensitive.addFile(file, label);
    const page = await session.newPage();
    const link = await sendThroughPage(page, environment.server.url, file);
    environment.sensitive.addLink(link, label);
    await page.context().close();
    return { file, link };
  }

  async function downloadAndCheck(session, link, file) {
    const page = await session.newPage();
    assert.equal((await openLink(page, link)).kind, 'file', 'the real link no longer shows the file');
    const result = await downloadThroughPage(page, environment.workDir);
    assert.equal(await sha256OfFile(result.path), file.sha256, 'downloaded bytes differ from the original');
  }

  test('damaged link shows invalid-link', async (t) => {
    await withBrowserSession(t, environment, async (session) => {
      const { file, link } = await sendFile(session, 'damaged link.bin', 'damaged link');
      const { page: pageUrl, id, secret } = parseLink(link);

      for (const [caseName, fragment] of damagedFragments(id, secret)) {
        const page = await session.newPage();
        const apiRequests = [];
        page.on('request', (request) => {
          if (new URL(request.url()).pathname.startsWith('/api/')) {
            apiRequests.push(new URL(request.url()).pathname);
          }
        });

        const { kind } = await openLink(page, `${pageUrl}#${fragment}`);
        assert.equal(kind, 'invalid-link', `case "${caseName}"`);
        assert.deepEqual(apiRequests, [], `case "${caseName}": page called the API for a link it cannot parse`);
        await page.context().close();
      }

      await downloadAndCheck(session, link, file);
    });
  });

  test('wrong secret shows not-found', async (t) => {
    await withBrowserSession(t, environment, async (session) => {
      const { file, link } = await sendFile(session, 'wrong secret.bin', 'wrong secret');
      const { page: pageUrl, id, secret } = parseLink(link);

      const forgedCases = [
        ['wrong secret', `${id}.${randomB64u(16)}`],
        ['unknown id', `${randomB64u(12)}.${secret}`],
      ];
      for (const [caseName, fragment] of forgedCases) {
        const page = await session.newPage();
        const { kind } = await openLink(page, `${pageUrl}#${fragment}`);
        assert.equal(kind, 'not-found', `case "${caseName}"`);
        assert.equal(await page.getByTestId('download-button').count(), 0, `case "${caseName}": Download offered`);
        await page.context().close();
      }

      await downloadAndCheck(session, link, file);
    });
  });

  test('deleted upload shows expired', async (t) => {
    await withBrowserSession(t, environment, async (session) => {
      const file = await makeRandomFile(environment.workDir, 'deleted early.bin', 20_000);
      environment.sensitive.addFile(file, 'deleted early');

      // The page keeps the owner token to itself, so the test reads it from
      // the create response to delete the upload as its owner would.
      const page = await session.newPage();
      const createResponse = page.waitForResponse(
        (response) => response.request().method() === 'POST' && new URL(response.url()).pathname === '/api/v1/uploads',
      );
      const link = await sendThroughPage(page, environment.server.url, file);
      environment.sensitive.addLink(link, 'deleted early');
      const { id, owner_token: ownerToken } = await (await createResponse).json();
      assert.equal(id, parseLink(link).id, 'create response is for another upload');

      const deleted = await fetch(`${environment.server.url}/api/v1/uploads/${id}`, {
        method: 'DELETE',
        headers: { Authorization: `Bearer ${ownerToken}` },
      });
      assert.equal(deleted.status, 204);

      const receivePage = await session.newPage();
      assert.equal((await openLink(receivePage, link)).kind, 'expired');
      assert.equal(await receivePage.getByTestId('download-button').count(), 0, 'a deleted upload offers Download');
    });
  });

  test('send page has no message', async (t) => {
    await withBrowserSession(t, environment, async (session) => {
      const page = await session.newPage();
      await page.goto(`${environment.server.url}/`);
      await page.getByTestId('file-input').waitFor({ state: 'attached' });
      assert.equal(await page.getByTestId('message').count(), 0, 'send page without a fragment shows a message');
      assert.equal(await page.getByTestId('download-button').count(), 0);
    });
  });

  testServerKeepsNoSecrets(environment);
});
