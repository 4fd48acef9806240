// Security headers on the page, and a full send and receive without CSP
// violations or uncaught errors.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { redactFragments } from './secrets.mjs';
import {
  CSP_CONSOLE_PATTERN,
  testServerKeepsNoSecrets,
  useSuiteEnvironment,
  withBrowserSession,
} from './harness.mjs';
import { downloadThroughPage, makeRandomFile, openLink, sendThroughPage, sha256OfFile } from './flows.mjs';

/** Parses a Content-Security-Policy header into a map of directive name to its source list. */
function parseCsp(header) {
  const directives = new Map();
  for (const part of header.split(';')) {
    const [name, ...values] = part.trim().split(/\s+/);
    if (name) {
      directives.set(name.toLowerCase(), values);
    }
  }
  return directives;
}

describe('headers and CSP', () => {
  const environment = useSuiteEnvironment('headers');

  for (const path of ['/', '/index.html']) {
    test(`security headers on ${path}`, async () => {
      const response = await fetch(`${environment.server.url}${path}`);
      assert.equal(response.status, 200);

      const csp = response.headers.get('content-security-policy');
      assert.ok(csp, 'Content-Security-Policy header missing');
      assert.deepEqual(parseCsp(csp).get('frame-ancestors'), ["'none'"], `CSP is "${csp}"`);
      assert.equal(response.headers.get('referrer-policy'), 'no-referrer');
      assert.equal(response.headers.get('x-content-type-options'), 'nosniff');
      const cacheControl = response.headers.get('cache-control') ?? '';
      assert.ok(/\bno-store\b/.test(cacheControl), `Cache-Control is "${cacheControl}"`);
    });
  }

  test('full transfer without CSP violations', async (t) => {
    const file = await makeRandomFile(environment.workDir, 'csp check.bin', 500_000);
    environment.sensitive.addFile(file, 'CSP');

    await withBrowserSession(t, environment, async (session) => {
      const sendPage = await session.newPage();
      const link = await sendThroughPage(sendPage, environment.server.url, file);
      environment.sensitive.addLink(link, 'CSP');

      const receivePage = await session.newPage();
      assert.equal((await openLink(receivePage, link)).kind, 'file');
      const download = await downloadThroughPage(receivePage, environment.workDir);
      assert.equal(await sha256OfFile(download.path), file.sha256, 'downloaded bytes differ from the original');

      const violations = [
        ...(await session.cspViolations(sendPage)),
        ...(await session.cspViolations(receivePage)),
      ];
      assert.deepEqual(violations, [], 'securitypolicyviolation events');
      const cspConsoleErrors = session.consoleErrors.filter((text) => CSP_CONSOLE_PATTERN.test(text));
      assert.deepEqual(cspConsoleErrors, [], 'console errors about CSP');
      assert.deepEqual(session.pageErrors, [], 'uncaught page errors');

      const otherErrors = session.consoleErrors.filter((text) => !CSP_CONSOLE_PATTERN.test(text));
      if (otherErrors.length > 0) {
        t.diagnostic(`${otherErrors.length} other console error(s), first: ${redactFragments(otherErrors[0]).slice(0, 200)}`);
      }
    });
  });

  testServerKeepsNoSecrets(environment);
});
