// The page and the `safebox` CLI read each other's links.

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';

import { FRAGMENT_PATTERN, redactFragments } from './secrets.mjs';
import { runCli, testServerKeepsNoSecrets, useSuiteEnvironment, withBrowserSession } from './harness.mjs';
import { downloadThroughPage, makeRandomFile, openLink, sendThroughPage, sha256OfFile } from './flows.mjs';

const FILE_SIZE = 1024 * 1024 + 777;

function describeCliFailure(result) {
  return `exit code ${result.code}, signal ${result.signal}, stderr:\n${redactFragments(result.stderr)}`;
}

describe('CLI interop', () => {
  const environment = useSuiteEnvironment('cli-interop');

  /** Sends `file` from the page and returns its link. */
  async function sendFromPage(t, file) {
    let link;
    await withBrowserSession(t, environment, async (session) => {
      const page = await session.newPage();
      link = await sendThroughPage(page, environment.server.url, file);
    });
    return link;
  }

  test('page upload, CLI download', async (t) => {
    const file = await makeRandomFile(environment.workDir, 'from the page ü.bin', FILE_SIZE);
    environment.sensitive.addFile(file, 'page to CLI');
    const link = await sendFromPage(t, file);
    environment.sensitive.addLink(link, 'page to CLI');

    const outputPath = join(environment.workDir, 'cli-download.bin');
    const result = await runCli(['download', link, '--output', outputPath]);
    assert.equal(result.code, 0, describeCliFailure(result));
    assert.equal(await sha256OfFile(outputPath), file.sha256, 'CLI output differs from the original');

    const secondPath = join(environment.workDir, 'cli-download-again.bin');
    const second = await runCli(['download', link, '--output', secondPath]);
    assert.notEqual(second.code, 0, 'second CLI download of a claimed link succeeded');
    assert.ok(!existsSync(secondPath), 'second CLI download left an output file');
  });

  test('CLI download into directory keeps name', async (t) => {
    const file = await makeRandomFile(environment.workDir, 'nom été.bin', 50_000);
    environment.sensitive.addFile(file, 'CLI into directory');
    const link = await sendFromPage(t, file);
    environment.sensitive.addLink(link, 'CLI into directory');

    const outputDir = await mkdtemp(join(environment.workDir, 'cli-output-'));
    const result = await runCli(['download', link, '--output', outputDir]);
    assert.equal(result.code, 0, describeCliFailure(result));
    assert.deepEqual(await readdir(outputDir), [file.name]);
    assert.equal(await sha256OfFile(join(outputDir, file.name)), file.sha256, 'CLI output differs from the original');
  });

  test('CLI existing output keeps link', async (t) => {
    const file = await makeRandomFile(environment.workDir, 'kept link.bin', 50_000);
    environment.sensitive.addFile(file, 'CLI existing output');
    const link = await sendFromPage(t, file);
    environment.sensitive.addLink(link, 'CLI existing output');

    const outputPath = join(environment.workDir, 'already-there.bin');
    await writeFile(outputPath, 'older content');
    const rejected = await runCli(['download', link, '--output', outputPath]);
    assert.notEqual(rejected.code, 0, 'CLI overwrote an existing file without --force');
    assert.equal(await readFile(outputPath, 'utf8'), 'older content');

    // The CLI must reject the output before it claims, so the link still works.
    const forced = await runCli(['download', link, '--output', outputPath, '--force']);
    assert.equal(forced.code, 0, describeCliFailure(forced));
    assert.equal(await sha256OfFile(outputPath), file.sha256, 'CLI output differs from the original');
  });

  test('CLI upload, page download', async (t) => {
    const file = await makeRandomFile(environment.workDir, 'from the CLI é.bin', FILE_SIZE);
    environment.sensitive.addFile(file, 'CLI to page');

    const result = await runCli(['upload', file.path, '--expires', '1h', '--server', environment.server.url]);
    assert.equal(result.code, 0, describeCliFailure(result));
    const link = result.stdout.trim().split('\n').at(-1).trim();
    assert.ok(link.includes('#'), 'last stdout line of upload has no fragment');
    assert.ok(FRAGMENT_PATTERN.test(link.slice(link.indexOf('#') + 1)), 'upload link fragment is malformed');
    assert.ok(link.startsWith(`${environment.server.url}/`), 'CLI link does not point at the server page');
    environment.sensitive.addLink(link, 'CLI to page');

    await withBrowserSession(t, environment, async (session) => {
      const page = await session.newPage();
      assert.equal((await openLink(page, link)).kind, 'file');
      assert.equal((await page.getByTestId('file-name').textContent()).trim(), file.name);

      const download = await downloadThroughPage(page, environment.workDir);
      assert.equal(await sha256OfFile(download.path), file.sha256, 'page download differs from the original');
      assert.equal(download.suggestedFilename, file.name, 'suggested file name differs from the original');
    });

    const againPath = join(environment.workDir, 'cli-after-page.bin');
    const again = await runCli(['download', link, '--output', againPath]);
    assert.notEqual(again.code, 0, 'CLI download after the page download succeeded');
  });

  testServerKeepsNoSecrets(environment);
});
