// Link parsing, key derivation and the leak scan of the server's data dir
// and log. Formats follow docs/FORMAT.md (version 1).

import { createHash, hkdfSync, randomBytes } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';

const B64U_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** Link fragment `<id>.<secret>`: 12-byte id and 16-byte secret, both b64u. */
export const FRAGMENT_PATTERN = /^([A-Za-z0-9_-]{16})\.([A-Za-z0-9_-]{22})$/;

/**
 * Splits a share link into its page URL, id and secret, and derives the
 * claim token. Throws without echoing the link, because the link is a secret.
 */
export function parseLink(link) {
  const hashIndex = link.indexOf('#');
  if (hashIndex < 0) {
    throw new Error('share link has no fragment');
  }
  const match = FRAGMENT_PATTERN.exec(link.slice(hashIndex + 1));
  if (!match) {
    throw new Error('share link fragment is not <16-char id>.<22-char secret>');
  }
  const [, id, secret] = match;
  const secretBytes = Buffer.from(secret, 'base64url');
  return {
    page: link.slice(0, hashIndex),
    id,
    secret,
    secretBytes,
    claimToken: deriveClaimToken(secretBytes),
  };
}

/** Derives the 32-byte claim token: HKDF-SHA256(secret, salt "", info "safebox v1 claim token"). */
export function deriveClaimToken(secretBytes) {
  return Buffer.from(hkdfSync('sha256', secretBytes, Buffer.alloc(0), 'safebox v1 claim token', 32));
}

/** Returns `length` random bytes as canonical b64u. */
export function randomB64u(length) {
  return randomBytes(length).toString('base64url');
}

/**
 * Returns `encoded` with its last character replaced by one that decodes to
 * the same bytes in lenient decoders but sets an unused low bit, so a strict
 * (canonical) b64u parser must reject it. Only valid for lengths whose last
 * character carries unused bits (16 bytes: 22 characters, 4 unused bits).
 */
export function makeNonCanonical(encoded) {
  const lastIndex = B64U_ALPHABET.indexOf(encoded.at(-1));
  return encoded.slice(0, -1) + B64U_ALPHABET[lastIndex | 1];
}

export function sha256Hex(bytes) {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * Values that must never reach the server's disk or log, each with a label
 * that a failure message may print in place of the value.
 */
export class SensitiveValues {
  constructor() {
    this.needles = [];
  }

  /**
   * Adds one value. `sentByDesign` marks a value that the page must send to
   * the server (the claim token), so only the request check skips it.
   */
  add(label, value, { sentByDesign = false } = {}) {
    const bytes = Buffer.isBuffer(value) ? value : Buffer.from(value, 'utf8');
    this.needles.push({ label, bytes, sentByDesign });
  }

  /** Records every form of a link's secret and claim token that a bug could write out. */
  addLink(link, label) {
    const { secret, secretBytes, claimToken } = parseLink(link);
    this.add(`${label}: secret (b64u)`, secret);
    this.add(`${label}: secret (hex)`, secretBytes.toString('hex'));
    this.add(`${label}: secret (raw bytes)`, secretBytes);
    this.add(`${label}: claim token (b64u)`, claimToken.toString('base64url'), { sentByDesign: true });
    this.add(`${label}: claim token (hex)`, claimToken.toString('hex'), { sentByDesign: true });
    this.add(`${label}: claim token (raw bytes)`, claimToken, { sentByDesign: true });
  }

  /** Records a plaintext file's name (as UTF-8 and percent-encoded) and a 32-byte sample of its content. */
  addFile(file, label) {
    this.add(`${label}: file name`, file.name);
    this.add(`${label}: file name (percent-encoded)`, encodeURIComponent(file.name));
    if (file.sample.length > 0) {
      this.add(`${label}: 32-byte plaintext sample`, file.sample);
    }
  }
}

async function listFilesRecursively(directory) {
  const entries = await readdir(directory, { withFileTypes: true, recursive: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath ?? entry.path, entry.name));
}

/** Returns the paths under `directory`, relative to it, of files of at least `size` bytes. */
export async function filesAtLeast(directory, size) {
  const paths = await listFilesRecursively(directory);
  const large = [];
  for (const path of paths) {
    const { size: fileSize } = await stat(path).catch(() => ({ size: -1 }));
    if (fileSize >= size) {
      large.push(path.slice(directory.length + 1));
    }
  }
  return large;
}

/**
 * Scans every file under `dataDir` and every line of the log at `logPath`
 * for the sensitive values. Returns one finding per hit, naming the file or
 * log line and the value's label but never the value itself.
 */
export async function findLeaks({ dataDir, logPath, sensitive }) {
  const findings = [];

  for (const path of await listFilesRecursively(dataDir)) {
    // A file the server removed after the listing has nothing left to leak.
    const content = await readFile(path).catch(() => Buffer.alloc(0));
    for (const { label, bytes } of sensitive.needles) {
      if (content.indexOf(bytes) >= 0) {
        findings.push(`${label} found in data file ${path.slice(dataDir.length + 1)}`);
      }
    }
  }

  const logLines = (await readFile(logPath)).toString('latin1').split('\n');
  logLines.forEach((line, index) => {
    const lineBytes = Buffer.from(line, 'latin1');
    for (const { label, bytes } of sensitive.needles) {
      if (lineBytes.indexOf(bytes) >= 0) {
        findings.push(`${label} found in server log line ${index + 1}`);
      }
    }
  });

  return findings;
}

/**
 * Checks the URL and body of every recorded browser request for the
 * sensitive values, except those sent by design. Returns one finding per
 * hit, naming the method, path and label. A request whose body Chromium did
 * not expose (`body` null) is checked by URL only.
 */
export function findLeaksInRequests(requests, sensitive) {
  const findings = [];
  for (const { method, url, body } of requests) {
    // Playwright reports navigations with their fragment, which Chromium
    // never puts on the wire, so only the part before '#' is checked.
    const sentUrl = url.split('#')[0];
    const rawUrlBytes = Buffer.from(sentUrl, 'utf8');
    let urlBytes = rawUrlBytes;
    try {
      urlBytes = Buffer.from(decodeURIComponent(sentUrl), 'utf8');
    } catch {
      // A malformed percent escape leaves only the raw form to check.
    }
    const path = new URL(sentUrl).pathname;
    for (const { label, bytes, sentByDesign } of sensitive.needles) {
      if (sentByDesign) {
        continue;
      }
      if (urlBytes.indexOf(bytes) >= 0 || rawUrlBytes.indexOf(bytes) >= 0) {
        findings.push(`${label} found in the URL of ${method} ${path}`);
      }
      if (body && body.indexOf(bytes) >= 0) {
        findings.push(`${label} found in the body of ${method} ${path}`);
      }
    }
  }
  return findings;
}

/** Replaces anything shaped like a link fragment, so failure messages can quote output safely. */
export function redactFragments(text) {
  return text.replace(/#[A-Za-z0-9_-]{8,}(\.[A-Za-z0-9_-]*)*/g, '#<redacted>');
}
