// A static file server on 127.0.0.1 for the browser tests: serves one folder with the content
// types a browser insists on (streaming compile needs application/wasm; module scripts need a
// JavaScript type) and records every path requested, so a test can tell which files a page
// actually fetched.

import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize } from 'node:path';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
};

export interface StaticServer {
  /** http://127.0.0.1:<port> (no trailing slash). */
  readonly origin: string;
  /** Paths requested so far, in order (e.g. '/tiny.wasm'). */
  readonly requests: string[];
  close(): Promise<void>;
}

/** Serve `root` (and `index` at '/') until closed. */
export async function serveFolder(root: string, index = '<!doctype html><title>sparsec</title>'): Promise<StaticServer> {
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname);
    requests.push(path);
    if (path === '/') {
      res.writeHead(200, { 'content-type': CONTENT_TYPES['.html']! }).end(index);
      return;
    }
    // normalize() folds '..' away; a path that still climbs out of root is refused.
    const file = normalize(join(root, path));
    if (!file.startsWith(normalize(root))) {
      res.writeHead(403).end();
      return;
    }
    readFile(file).then(
      (bytes) => res.writeHead(200, { 'content-type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream' }).end(bytes),
      () => res.writeHead(404).end(),
    );
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise<void>((done) => server.close(() => done())),
  };
}
