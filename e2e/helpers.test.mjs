// Checks of the suite's own helpers, so that a wrong claim token derivation
// or a blind leak scan cannot make the browser tests pass vacuously. These
// need no server or browser.

import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';

import { REPO_ROOT } from './harness.mjs';
import { sizeTextMatches } from './flows.mjs';
import {
  SensitiveValues,
  deriveClaimToken,
  findLeaks,
  findLeaksInRequests,
  makeNonCanonical,
  parseLink,
  randomB64u,
  redactFragments,
} from './secrets.mjs';

const VECTORS_PATH = join(REPO_ROOT, 'crypto', 'tests', 'vectors', 'vectors.json');

describe('helpers', () => {
  test('parseLink matches format vectors', async () => {
    const vectors = JSON.parse(await readFile(VECTORS_PATH, 'utf8'));
    const link = parseLink(`http://127.0.0.1:1/#${vectors.link_fragment}`);

    assert.equal(link.page, 'http://127.0.0.1:1/');
    assert.equal(link.id, vectors.id);
    assert.equal(link.secretBytes.toString('hex'), vectors.secret);
    assert.equal(link.claimToken.toString('hex'), vectors.claim_token);
    assert.equal(link.claimToken.toString('base64url'), vectors.claim_token_b64);
  });

  test('deriveClaimToken depends on secret', () => {
    const first = deriveClaimToken(Buffer.alloc(16, 1));
    const second = deriveClaimToken(Buffer.alloc(16, 2));
    assert.equal(first.length, 32);
    assert.notDeepEqual(first, second);
  });

  test('parseLink rejects damaged fragments', () => {
    const id = randomB64u(12);
    const secret = randomB64u(16);
    const damaged = ['', id, `${id}.`, `${id}.${secret.slice(1)}`, `${id}.${secret}A`, `${id}.${secret}.x`];
    for (const fragment of damaged) {
      assert.throws(() => parseLink(`http://127.0.0.1:1/#${fragment}`), `fragment of length ${fragment.length}`);
    }
    assert.throws(() => parseLink('http://127.0.0.1:1/'));
  });

  test('makeNonCanonical keeps lenient bytes', () => {
    for (let attempt = 0; attempt < 20; attempt += 1) {
      const secret = randomB64u(16);
      const changed = makeNonCanonical(secret);
      assert.notEqual(changed, secret);
      assert.deepEqual(Buffer.from(changed, 'base64url'), Buffer.from(secret, 'base64url'));
    }
  });

  test('findLeaks reports planted values', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'safebox-e2e-helpers-'));
    try {
      const link = `http://127.0.0.1:1/#${randomB64u(12)}.${randomB64u(16)}`;
      const { secret, claimToken } = parseLink(link);
      const sensitive = new SensitiveValues();
      sensitive.addLink(link, 'planted');
      sensitive.addFile({ name: 'résumé final.pdf', sample: Buffer.alloc(32, 7) }, 'planted');

      const dataDir = join(directory, 'data');
      await mkdir(join(dataDir, 'blobs'), { recursive: true });
      await writeFile(join(dataDir, 'blobs', 'object'), Buffer.concat([Buffer.alloc(100), claimToken, Buffer.alloc(100)]));
      await writeFile(join(dataDir, 'records.db'), Buffer.from('name=résumé final.pdf', 'utf8'));
      await writeFile(join(directory, 'leaky.log'), `line one\nrequest for #x.${secret} done\n`);

      const findings = await findLeaks({ dataDir, logPath: join(directory, 'leaky.log'), sensitive });
      assert.deepEqual(findings.sort(), [
        'planted: claim token (raw bytes) found in data file blobs/object',
        'planted: file name found in data file records.db',
        'planted: secret (b64u) found in server log line 2',
      ]);
      for (const finding of findings) {
        assert.ok(!finding.includes(secret), 'a finding prints the secret itself');
      }
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });

  test('findLeaks passes clean files', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'safebox-e2e-helpers-'));
    try {
      const sensitive = new SensitiveValues();
      sensitive.addLink(`http://127.0.0.1:1/#${randomB64u(12)}.${randomB64u(16)}`, 'absent');
      sensitive.addFile({ name: 'absent.txt', sample: Buffer.alloc(32, 9) }, 'absent');

      const dataDir = join(directory, 'data');
      await mkdir(dataDir);
      await writeFile(join(dataDir, 'object'), Buffer.alloc(4096, 1));
      await writeFile(join(directory, 'server.log'), 'server started\nupload created\n');

      assert.deepEqual(await findLeaks({ dataDir, logPath: join(directory, 'server.log'), sensitive }), []);
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });

  test('findLeaksInRequests skips claim token', () => {
    const link = `http://127.0.0.1:1/#${randomB64u(12)}.${randomB64u(16)}`;
    const { secret, claimToken } = parseLink(link);
    const sensitive = new SensitiveValues();
    sensitive.addLink(link, 'sent');
    sensitive.addFile({ name: 'été.txt', sample: Buffer.alloc(32, 3) }, 'sent');

    const requests = [
      { method: 'GET', url: link, body: null },
      { method: 'POST', url: 'http://127.0.0.1:1/api/v1/files/x/claim', body: Buffer.from(claimToken.toString('base64url')) },
      { method: 'GET', url: `http://127.0.0.1:1/search?q=${secret}`, body: null },
      { method: 'PUT', url: `http://127.0.0.1:1/blob/${encodeURIComponent('été.txt')}`, body: Buffer.alloc(64, 3) },
    ];
    assert.deepEqual(findLeaksInRequests(requests, sensitive).sort(), [
      'sent: 32-byte plaintext sample found in the body of PUT /blob/%C3%A9t%C3%A9.txt',
      'sent: file name (percent-encoded) found in the URL of PUT /blob/%C3%A9t%C3%A9.txt',
      'sent: file name found in the URL of PUT /blob/%C3%A9t%C3%A9.txt',
      'sent: secret (b64u) found in the URL of GET /search',
    ]);
  });

  test('redactFragments hides link secrets', () => {
    const secret = randomB64u(16);
    const text = `failed to fetch http://127.0.0.1:9/#${randomB64u(12)}.${secret}: refused`;
    const redacted = redactFragments(text);
    assert.ok(!redacted.includes(secret));
    assert.match(redacted, /#<redacted>: refused$/);
  });

  test('sizeTextMatches reads page sizes', () => {
    const cases = [
      ['3.16 MB', 3 * 1024 * 1024 + 12_345, true],
      ['500.0 kB', 500_000, true],
      ['0 bytes', 0, true],
      ['1 byte', 1, true],
      ['3,145,851 bytes', 3_145_851, true],
      ['3.0 MiB', 3 * 1024 * 1024 + 12_345, true],
      ['4.00 MB', 3 * 1024 * 1024 + 12_345, false],
      ['12 bytes', 13, false],
      ['big', 10, false],
    ];
    for (const [text, size, expected] of cases) {
      assert.equal(sizeTextMatches(text, size), expected, `"${text}" for ${size} bytes`);
    }
  });
});
