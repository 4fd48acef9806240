// Safebox download service worker.
//
// The page decrypts a file and must hand it to the browser's download
// manager without holding all of it in memory. It registers a one-time URL
// here (a "register" message with a MessagePort), then loads that URL in a
// hidden iframe. This worker answers the request with a stream fed through
// the port: it posts "pull" each time the stream wants one more chunk, and
// the page sends exactly one "chunk" per "pull", so the page never runs
// ahead of the disk. Nothing here caches, logs or touches any other request.

'use strict';

const STREAM_PREFIX = 'download-stream/';
// A registered URL that is not fetched within this time is forgotten.
const REGISTRATION_TIMEOUT_MS = 60 * 1000;
// Chunks the stream buffers before it stops asking the page for more.
const QUEUED_CHUNKS = 4;

const pending = new Map();

self.addEventListener('install', () => {
  self.skipWaiting();
});

self.addEventListener('activate', (event) => {
  event.waitUntil(self.clients.claim());
});

self.addEventListener('message', (event) => {
  const data = event.data;
  const port = event.ports && event.ports[0];
  if (!data || data.type !== 'register' || !port) {
    // "ping" messages only keep this worker alive during a download.
    return;
  }

  const url = new URL(data.url, self.registration.scope);
  const prefix = new URL(STREAM_PREFIX, self.registration.scope).pathname;
  if (url.origin !== self.location.origin || !url.pathname.startsWith(prefix)) {
    port.postMessage({ type: 'rejected' });
    port.close();
    return;
  }

  pending.set(url.pathname, { port, headers: data.headers });
  setTimeout(() => {
    const entry = pending.get(url.pathname);
    if (entry && entry.port === port) {
      pending.delete(url.pathname);
      port.close();
    }
  }, REGISTRATION_TIMEOUT_MS);
  port.postMessage({ type: 'registered' });
});

self.addEventListener('fetch', (event) => {
  if (event.request.method !== 'GET') {
    return;
  }
  const url = new URL(event.request.url);
  const entry = pending.get(url.pathname);
  if (!entry) {
    return;
  }
  pending.delete(url.pathname);
  event.respondWith(new Response(streamFromPort(entry.port), { headers: entry.headers }));
});

function streamFromPort(port) {
  return new ReadableStream(
    {
      start(controller) {
        port.onmessage = (event) => {
          const data = event.data || {};
          if (data.type === 'chunk') {
            controller.enqueue(data.bytes);
          } else if (data.type === 'end') {
            controller.close();
            port.close();
          } else if (data.type === 'abort') {
            controller.error(new Error('the download was stopped'));
            port.close();
          }
        };
      },
      pull() {
        port.postMessage({ type: 'pull' });
      },
      cancel() {
        port.postMessage({ type: 'cancel' });
        port.close();
      },
    },
    new CountQueuingStrategy({ highWaterMark: QUEUED_CHUNKS }),
  );
}
