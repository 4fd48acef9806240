// The message for a failed request depends on where the page and its API
// are. A page opened at another address of its own server shows the right
// address. A page on a static host whose API is unreachable shows a network
// error, because no other address would help.

import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { extname, join, normalize } from 'node:path';
import { describe, test } from 'node:test';

import { DIST_DIR, findFreePort, testServerKeepsNoSecrets, useSuiteEnvironment, withBrowserSession } from './harness.mjs';
import { makeRandomFile, waitForMessageKind } from './flows.mjs';

const FILE_SIZE = 20_000;

const CONTENT_TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript',
  '.wasm': 'application/wasm',
  '.css': 'text/css',
  '.json': 'application/json',
};

/**
 * Starts a static host on 127.0.0.1 that serves the built page from dist/,
 * with a config.json naming `apiUrl`, and 404 for everything else, the API
 * paths among them. Returns its port and a function that stops it.
 */
async function startStaticHost(apiUrl) {
  const server = createServer(async (request, response) => {
    const path = new URL(request.url, 'http://static.invalid').pathname;
    if (path === '/config.json') {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ api_url: apiUrl }));
      return;
    }
    const relative = normalize(path === '/' ? '/index.html' : path);
    if (relative.startsWith('/api/') || relative.includes('..')) {
      response.writeHead(404).end();
      return;
    }
    try {
      const body = await readFile(join(DIST_DIR, relative));
      const type = CONTENT_TYPES[extname(relative)] ?? 'application/octet-stream';
      response.writeHead(200, { 'content-type': type }).end(body);
    } catch {
      response.writeHead(404).end();
    }
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: server.address().port,
    stop: async () => {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}

describe('origins', () => {
  const environment = useSuiteEnvironment('origins');

  async function makeFile(name, label) {
    const file = await makeRandomFile(environment.workDir, name, FILE_SIZE);
    environment.sensitive.addFile(file, label);
    return file;
  }

  test('page at localhost names the server address', async (t) => {
    const file = await makeFile('localhost origin.bin', 'localhost origin');
    // The server's public URL is its 127.0.0.1 address.
    const localhostUrl = environment.server.url.replace('127.0.0.1', 'localhost');

    await withBrowserSession(t, environment, async (session) => {
      const page = await session.newPage();
      await page.goto(`${localhostUrl}/`);
      await page.getByTestId('file-input').setInputFiles(file.path);
      await page.getByTestId('send-button').click();

      assert.equal(await waitForMessageKind(page), 'wrong-origin');
      const text = await page.getByTestId('message').first().textContent();
      assert.ok(text.includes(environment.server.url), `the message does not name ${environment.server.url}: ${text}`);
      assert.equal(await page.getByTestId('share-link').count(), 0, 'a share link appeared after a failed upload');
    });
  });

  test('static host with unreachable API reports network', async (t) => {
    const file = await makeFile('static host.bin', 'static host');
    const closedPort = await findFreePort();
    const host = await startStaticHost(`http://127.0.0.1:${closedPort}`);
    t.after(host.stop);

    await withBrowserSession(t, environment, async (session) => {
      const page = await session.newPage();
      await page.goto(`http://localhost:${host.port}/`);
      await page.getByTestId('file-input').setInputFiles(file.path);
      await page.getByTestId('send-button').click();

      assert.equal(await waitForMessageKind(page), 'network');
      assert.equal(await page.getByTestId('share-link').count(), 0, 'a share link appeared after a failed upload');
    });
  });

  testServerKeepsNoSecrets(environment);
});
