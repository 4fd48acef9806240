// Browser end-to-end tests for Safebox: processes and browser sessions.
//
// Run from the repository root, after building the server, the CLI and the
// web app:
//
//   cargo build -p safebox-server -p safebox-cli
//   PATH=$PWD/node_modules/.bin:$PATH TRUNK_SKIP_VERSION_CHECK=true trunk build --release
//   node --test e2e/
//
// Each test file starts its own safebox-server on a free 127.0.0.1 port with
// a temporary data dir, and its own headless Chromium (/usr/bin/chromium, or
// SAFEBOX_E2E_CHROMIUM). Failure screenshots and server logs go to
// .e2e-artifacts/.
//
// Chromium 156 still contacts update and account hosts in the background
// despite the flags below, so every non-loopback request goes to a proxy on
// a closed local port, and host names other than localhost do not resolve.

import { spawn, execFile } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, existsSync, openSync, rmSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { chromium } from 'playwright-core';

import { SensitiveValues, findLeaks, findLeaksInRequests, redactFragments } from './secrets.mjs';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const DIST_DIR = join(REPO_ROOT, 'dist');
export const ARTIFACTS_DIR = join(REPO_ROOT, '.e2e-artifacts');
export const SERVER_BIN = join(REPO_ROOT, 'target', 'debug', 'safebox-server');
export const CLI_BIN = join(REPO_ROOT, 'target', 'debug', 'safebox');
const CHROMIUM_PATH = process.env.SAFEBOX_E2E_CHROMIUM ?? '/usr/bin/chromium';

const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const SERVER_START_TIMEOUT_MS = 20_000;
const SERVER_STOP_TIMEOUT_MS = 5_000;

/** Child processes still running, killed when Node exits even after a crash. */
const runningChildren = new Set();
/** Temporary directories not yet removed, removed when Node exits. */
const temporaryDirs = new Set();
process.on('exit', () => {
  for (const child of runningChildren) {
    child.kill('SIGKILL');
  }
  for (const directory of temporaryDirs) {
    rmSync(directory, { recursive: true, force: true });
  }
});
// Node skips 'exit' handlers when a signal ends it, so a signal becomes an
// explicit exit (128 + signal number, as shells report it).
process.once('SIGINT', () => process.exit(130));
process.once('SIGTERM', () => process.exit(143));

/** Throws one error that lists every missing build output and the command that makes it. */
export function checkPrerequisites() {
  const missing = [];
  if (!existsSync(SERVER_BIN) || !existsSync(CLI_BIN)) {
    missing.push(
      `${SERVER_BIN} or ${CLI_BIN} is missing: run \`cargo build -p safebox-server -p safebox-cli\``,
    );
  }
  if (!existsSync(join(DIST_DIR, 'index.html'))) {
    missing.push(
      `${join(DIST_DIR, 'index.html')} is missing: run ` +
        '`PATH=$PWD/node_modules/.bin:$PATH TRUNK_SKIP_VERSION_CHECK=true trunk build --release` ' +
        'in the repository root',
    );
  }
  if (!existsSync(CHROMIUM_PATH)) {
    missing.push(`${CHROMIUM_PATH} is missing: install Debian's chromium package (scripts/setup.sh does)`);
  }
  if (missing.length > 0) {
    throw new Error(`e2e prerequisites missing:\n  ${missing.join('\n  ')}`);
  }
}

/** Returns a TCP port on 127.0.0.1 that was free a moment ago. */
export async function findFreePort() {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address();
  server.close();
  await once(server, 'close');
  return port;
}

function sleep(milliseconds) {
  return new Promise((resolveSleep) => setTimeout(resolveSleep, milliseconds));
}

async function readLogTail(logPath, lineCount = 20) {
  const text = await readFile(logPath, 'utf8').catch(() => '');
  return redactFragments(text.split('\n').slice(-lineCount).join('\n'));
}

/** The server could not bind its port because another process took it first. */
class PortTakenError extends Error {}

/**
 * A safebox-server child process bound to 127.0.0.1 on a free port, with a
 * fresh data dir and its stdout and stderr in one log file.
 */
export class ServerProcess {
  /**
   * Starts the server and waits until it serves HTTP. Retries on another port
   * when the chosen one was taken between the check and the bind.
   */
  static async start(label, attempts = 3) {
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await ServerProcess.startOnce(label);
      } catch (error) {
        if (!(error instanceof PortTakenError) || attempt >= attempts) {
          throw error;
        }
      }
    }
  }

  static async startOnce(label) {
    const port = await findFreePort();
    const workDir = await mkdtemp(join(tmpdir(), `safebox-e2e-${label}-`));
    temporaryDirs.add(workDir);
    const dataDir = join(workDir, 'data');
    await mkdir(dataDir);
    const logPath = join(workDir, 'server.log');
    const logFd = openSync(logPath, 'a');

    const child = spawn(
      SERVER_BIN,
      ['--listen', `127.0.0.1:${port}`, '--data-dir', dataDir, '--web-dir', DIST_DIR],
      {
        cwd: workDir,
        stdio: ['ignore', logFd, logFd],
        // Debug level adds the per-request log lines, so the leak scan covers them too.
        env: { ...process.env, RUST_LOG: process.env.RUST_LOG ?? 'info,safebox_server=debug' },
      },
    );
    closeSync(logFd);
    runningChildren.add(child);
    child.once('exit', () => runningChildren.delete(child));

    const server = new ServerProcess({ label, child, port, workDir, dataDir, logPath });
    try {
      await server.waitUntilReady();
    } catch (error) {
      await server.stop();
      const log = await readFile(logPath, 'utf8').catch(() => '');
      await rm(workDir, { recursive: true, force: true });
      temporaryDirs.delete(workDir);
      if (/cannot listen|address already in use/i.test(log)) {
        throw new PortTakenError(error.message);
      }
      throw error;
    }
    return server;
  }

  constructor({ label, child, port, workDir, dataDir, logPath }) {
    this.label = label;
    this.child = child;
    this.url = `http://127.0.0.1:${port}`;
    this.workDir = workDir;
    this.dataDir = dataDir;
    this.logPath = logPath;
  }

  async waitUntilReady() {
    const deadline = Date.now() + SERVER_START_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if (this.child.exitCode !== null || this.child.signalCode !== null) {
        throw new Error(
          `safebox-server exited during startup (code ${this.child.exitCode}, ` +
            `signal ${this.child.signalCode}). Log tail:\n${await readLogTail(this.logPath)}`,
        );
      }
      let answered = false;
      try {
        await fetch(`${this.url}/`, { signal: AbortSignal.timeout(1_000) });
        answered = true;
      } catch {
        await sleep(100);
      }
      // A response while the child has exited came from another process on the port.
      if (answered && this.running) {
        return;
      }
    }
    throw new Error(
      `safebox-server did not answer on ${this.url} within ${SERVER_START_TIMEOUT_MS} ms. ` +
        `Log tail:\n${await readLogTail(this.logPath)}`,
    );
  }

  get running() {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Stops the server (SIGTERM, then SIGKILL after a timeout). Safe to call twice. */
  async stop() {
    if (this.running) {
      const exited = once(this.child, 'exit');
      this.child.kill('SIGTERM');
      const timer = sleep(SERVER_STOP_TIMEOUT_MS).then(() => 'timeout');
      if ((await Promise.race([exited, timer])) === 'timeout') {
        this.child.kill('SIGKILL');
        await exited;
      }
    }
  }

  /** Stops the server, keeps its log in .e2e-artifacts/ and removes the data dir. */
  async dispose() {
    await this.stop();
    await mkdir(ARTIFACTS_DIR, { recursive: true });
    await copyFile(this.logPath, join(ARTIFACTS_DIR, `${this.label}-server.log`)).catch(() => {});
    await rm(this.workDir, { recursive: true, force: true });
    temporaryDirs.delete(this.workDir);
  }
}

/** Launches headless Chromium with a fresh profile, unable to reach any host but this one. */
export async function launchBrowser() {
  const closedPort = await findFreePort();
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    timeout: 30_000,
    // Playwright gives each launch its own temporary --user-data-dir.
    args: [
      ...CHROMIUM_FLAGS,
      `--proxy-server=http://127.0.0.1:${closedPort}`,
      '--proxy-bypass-list=127.0.0.1;localhost;[::1]',
      '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1',
    ],
  });
}

function isLoopbackUrl(url) {
  const { protocol, hostname } = new URL(url);
  if (!['http:', 'https:', 'ws:', 'wss:'].includes(protocol)) {
    return true;
  }
  return ['127.0.0.1', 'localhost', '[::1]'].includes(hostname);
}

function sanitizeForFileName(text) {
  return text.replace(/[^A-Za-z0-9_-]+/g, '-').slice(0, 80);
}

/**
 * Browser contexts opened by one test. Records console errors, uncaught
 * page errors, CSP violations and any request to a non-loopback host, and
 * screenshots every open page when the test fails.
 */
export class BrowserSession {
  constructor(browser) {
    this.browser = browser;
    this.contexts = [];
    this.consoleErrors = [];
    this.pageErrors = [];
    this.offsiteRequests = [];
    this.requests = [];
  }

  /**
   * Opens a fresh context (no cookies, storage or service workers shared
   * with others). `options` go to Playwright's browser.newContext.
   */
  async newContext(options = {}) {
    const context = await this.browser.newContext({ acceptDownloads: true, ...options });
    context.setDefaultTimeout(30_000);
    context.on('request', (request) => {
      if (!isLoopbackUrl(request.url())) {
        this.offsiteRequests.push(request.url());
      }
      this.requests.push({ method: request.method(), url: request.url(), body: request.postDataBuffer() });
    });
    // Collects CSP violations from the document itself, independent of the
    // wording of Chromium's console messages.
    await context.addInitScript(() => {
      window.__safeboxCspViolations = [];
      document.addEventListener('securitypolicyviolation', (event) => {
        window.__safeboxCspViolations.push(`${event.effectiveDirective} blocked ${event.blockedURI}`);
      });
    });
    this.contexts.push(context);
    return context;
  }

  /** Opens a page in a new context and records its console errors and page errors. */
  async newPage(contextOptions = {}) {
    const context = await this.newContext(contextOptions);
    const page = await context.newPage();
    this.watchPage(page);
    return page;
  }

  watchPage(page) {
    page.on('console', (message) => {
      if (message.type() === 'error') {
        this.consoleErrors.push(message.text());
      }
    });
    page.on('pageerror', (error) => {
      this.pageErrors.push(String(error));
    });
  }

  /** Returns the CSP violations recorded in the page so far. */
  async cspViolations(page) {
    return page.evaluate(() => window.__safeboxCspViolations ?? []);
  }

  async screenshotAll(testName) {
    await mkdir(ARTIFACTS_DIR, { recursive: true });
    let index = 0;
    for (const context of this.contexts) {
      for (const page of context.pages()) {
        index += 1;
        const path = join(ARTIFACTS_DIR, `${sanitizeForFileName(testName)}-${index}.png`);
        await page.screenshot({ path, fullPage: true, timeout: 5_000 }).catch(() => {});
      }
    }
  }

  async close() {
    for (const context of this.contexts) {
      await context.close().catch(() => {});
    }
    this.contexts = [];
  }
}

/**
 * Registers before/after hooks that start a server and a browser for the
 * current test file and stop both at the end, also after a failure. Returns
 * an object whose `server`, `browser`, `workDir` and `sensitive` fields are
 * set once the before hook has run.
 */
export function useSuiteEnvironment(label) {
  const environment = {
    server: null,
    browser: null,
    workDir: null,
    sensitive: new SensitiveValues(),
    // Every browser request of the file's sessions, for the request leak check.
    requests: [],
  };

  before(async () => {
    checkPrerequisites();
    environment.workDir = await mkdtemp(join(tmpdir(), `safebox-e2e-${label}-files-`));
    temporaryDirs.add(environment.workDir);
    environment.server = await ServerProcess.start(label);
    environment.browser = await launchBrowser();
  });

  after(async () => {
    await environment.browser?.close().catch(() => {});
    await environment.server?.dispose();
    if (environment.workDir) {
      await rm(environment.workDir, { recursive: true, force: true });
      temporaryDirs.delete(environment.workDir);
    }
  });

  return environment;
}

/**
 * Registers the last tests of a file. No browser request may carry a link
 * secret, file name or plaintext sample that earlier tests recorded. Then
 * the server is stopped so that its log is complete, and no data file or
 * log line may contain any of those values or a claim token.
 */
export function testServerKeepsNoSecrets(environment) {
  test('requests carry no secret or plaintext', (t) => {
    assert.ok(environment.requests.length > 0, 'no browser request was recorded');
    // Chromium may not expose large or Blob bodies, which limits the body check.
    const bodyCounts = new Map();
    for (const { method, body } of environment.requests) {
      const [exposed, total] = bodyCounts.get(method) ?? [0, 0];
      bodyCounts.set(method, [exposed + (body === null ? 0 : 1), total + 1]);
    }
    const summary = [...bodyCounts].map(([method, [exposed, total]]) => `${method} ${exposed}/${total}`);
    t.diagnostic(`requests with a readable body: ${summary.join(', ')}`);
    assert.deepEqual(findLeaksInRequests(environment.requests, environment.sensitive), []);
  });

  test('server keeps no secret or plaintext', async () => {
    assert.ok(environment.sensitive.needles.length > 0, 'no file was sent, so there is nothing to look for');
    await environment.server.stop();
    const findings = await findLeaks({
      dataDir: environment.server.dataDir,
      logPath: environment.server.logPath,
      sensitive: environment.sensitive,
    });
    assert.deepEqual(findings, []);
  });
}

/** Chromium's console wording for a blocked resource or script. */
export const CSP_CONSOLE_PATTERN = /content security policy|refused to (load|execute|connect|apply|create|frame)/i;

/**
 * Runs `body(session)` with a fresh BrowserSession on the environment's
 * browser, screenshots its pages into .e2e-artifacts/ if the body throws,
 * closes its contexts and adds its requests to `environment.requests`.
 * Then fails the test if any page requested a non-loopback URL, threw an
 * uncaught error or logged a CSP violation.
 */
export async function withBrowserSession(testContext, environment, body) {
  const session = new BrowserSession(environment.browser);
  try {
    await body(session);
  } catch (error) {
    await session.screenshotAll(testContext.name);
    throw error;
  } finally {
    await session.close();
    environment.requests.push(...session.requests);
  }
  assert.deepEqual(session.offsiteRequests, [], 'pages requested non-loopback URLs');
  assert.deepEqual(session.pageErrors.map(redactFragments), [], 'uncaught page errors');
  const cspErrors = session.consoleErrors.filter((text) => CSP_CONSOLE_PATTERN.test(text));
  assert.deepEqual(cspErrors.map(redactFragments), [], 'console errors about the Content-Security-Policy');
}

/** Runs the safebox CLI and returns its exit code, stdout and stderr; never throws on a non-zero exit. */
export function runCli(args, { timeoutMs = 60_000 } = {}) {
  return new Promise((resolveRun) => {
    const child = execFile(
      CLI_BIN,
      args,
      { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024, env: { ...process.env, NO_COLOR: '1' } },
      (error, stdout, stderr) => {
        runningChildren.delete(child);
        let code = 0;
        if (error) {
          // execFile reports a spawn failure or a timeout with a non-numeric code.
          code = typeof error.code === 'number' ? error.code : -1;
        }
        resolveRun({ code, signal: error?.signal ?? null, stdout, stderr });
      },
    );
    runningChildren.add(child);
  });
}
