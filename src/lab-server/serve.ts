/**
 * A small static file server for the built lab (src/lab/dist, made by
 * `npm run lab:build`). It binds to loopback by default, serves only files
 * under its root, and answers with a page saying how to build the lab when the
 * build is missing. `synod lab` and `synod up` start it.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface LabServerOptions {
  /** 0 picks a free port. Defaults to 8080. */
  readonly port?: number;
  /** Defaults to 127.0.0.1: the lab is a local tool. */
  readonly host?: string;
  /** The directory to serve; defaults to the repository's src/lab/dist. */
  readonly root?: string;
}

export interface LabServer {
  readonly url: string;
  close(): Promise<void>;
}

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
  '.woff2': 'font/woff2',
};

/** src/lab/dist, found from this file both as source (src/lab-server) and compiled (dist/src/lab-server). */
export function defaultLabRoot(): string {
  const here = fileURLToPath(new URL('.', import.meta.url));
  const up = here.includes(`${sep}dist${sep}src${sep}`) ? '../../..' : '../..';
  return resolve(here, up, 'src', 'lab', 'dist');
}

const NOT_BUILT = `<!doctype html><meta charset="utf-8"><title>Synod lab</title>
<p>The lab is not built yet. Run <code>npm run lab:build</code> and reload.</p>\n`;

export async function startLabServer(options: LabServerOptions = {}): Promise<LabServer> {
  const host = options.host ?? '127.0.0.1';
  const root = resolve(options.root ?? defaultLabRoot());
  const server = createServer((request, response) => {
    serve(root, request, response).catch(() => {
      if (!response.headersSent) response.writeHead(500, { 'content-type': 'text/plain' });
      response.end('internal error\n');
    });
  });
  await new Promise<void>((done, fail) => {
    server.once('error', fail);
    server.listen(options.port ?? 8080, host, () => done());
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : options.port;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${shownHost}:${port}/`,
    close: () =>
      new Promise<void>((done) => {
        server.close(() => done());
        server.closeAllConnections();
      }),
  };
}

async function serve(root: string, request: IncomingMessage, response: ServerResponse): Promise<void> {
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    response.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' });
    response.end('method not allowed\n');
    return;
  }
  let path: string;
  try {
    path = decodeURIComponent(new URL(request.url ?? '/', 'http://lab').pathname);
  } catch {
    response.writeHead(400, { 'content-type': 'text/plain' });
    response.end('bad path\n');
    return;
  }
  if (path.endsWith('/')) path += 'index.html';
  const file = normalize(join(root, path));
  // Never serve anything outside the root, whatever the path says.
  if (file !== root && !file.startsWith(root + sep)) {
    response.writeHead(403, { 'content-type': 'text/plain' });
    response.end('forbidden\n');
    return;
  }
  const info = await stat(file).catch(() => null);
  if (info === null || !info.isFile()) {
    const missingBuild = path === '/index.html';
    response.writeHead(missingBuild ? 503 : 404, { 'content-type': missingBuild ? CONTENT_TYPES['.html'] : 'text/plain' });
    response.end(missingBuild ? NOT_BUILT : 'not found\n');
    return;
  }
  response.writeHead(200, {
    'content-type': CONTENT_TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream',
    'content-length': info.size,
    // Built assets carry a content hash in their names; the page itself must not be cached.
    'cache-control': path.startsWith('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache',
    'x-content-type-options': 'nosniff',
  });
  if (request.method === 'HEAD') {
    response.end();
    return;
  }
  await new Promise<void>((done, fail) => {
    const stream = createReadStream(file);
    stream.once('error', fail);
    stream.once('end', () => done());
    stream.pipe(response);
  });
}
