// The demo's web server: static files from demo/ and dist/browser/, the page's /config.json, and a
// same-origin proxy of /__control/* to the simulator's always-up control port (so the fault panel
// keeps working during an outage, without CORS). Used by scripts/start.mjs and the browser tests.
//
//   const demo = await startDemo({ port: 0, simulatorPort: 0 });  // simulator (bot on) + this server
//   demo.url  // http://127.0.0.1:PORT/
//   await demo.close();
import { createServer, request } from 'node:http';
import { readFile } from 'node:fs/promises';
import { extname, join, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** The deployment id the simulator knows by default. */
export const DEPLOYMENT_ID = 'sim-deployment';

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.ico': 'image/x-icon',
};

/** URL prefix → directory. Only these are served; `server.mjs` itself is not. */
const MOUNTS = [
  { prefix: '/dist/browser/', dir: join(ROOT, 'dist', 'browser') },
  { prefix: '/', dir: join(ROOT, 'demo'), hide: new Set(['server.mjs']) },
];

/**
 * The file for a URL path, or undefined (outside every mount, a hidden file, `..`, or a NUL).
 * Resolution happens after decoding, and the result must stay inside the mount's directory.
 */
export function resolveStatic(pathname) {
  let decoded;
  try {
    decoded = decodeURIComponent(pathname);
  } catch {
    return undefined;
  }
  if (decoded.includes('\0') || decoded.includes('\\')) return undefined;
  if (decoded === '/') decoded = '/index.html';
  for (const { prefix, dir, hide } of MOUNTS) {
    if (!decoded.startsWith(prefix)) continue;
    const rel = decoded.slice(prefix.length);
    const file = resolve(dir, rel);
    if (!file.startsWith(dir + sep)) return undefined;
    if (hide?.has(rel)) return undefined;
    return file;
  }
  return undefined;
}

function send(res, status, type, body, extra = {}) {
  res.writeHead(status, {
    'content-type': type,
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    ...extra,
  });
  res.end(body);
}

/** Forwards `/__control/*` to the simulator's control port, body and status as they are. */
function proxyControl(req, res, controlUrl) {
  const target = new URL(req.url ?? '/', controlUrl);
  const upstream = request(
    target,
    {
      method: req.method,
      headers: { 'content-type': req.headers['content-type'] ?? 'application/json' },
    },
    (answer) => {
      res.writeHead(answer.statusCode ?? 502, {
        'content-type': answer.headers['content-type'] ?? 'application/json',
        'cache-control': 'no-store',
      });
      answer.pipe(res);
    },
  );
  upstream.on('error', () => {
    if (!res.headersSent) send(res, 502, 'application/json', '{"message":"simulator unreachable"}');
    else res.destroy();
  });
  req.pipe(upstream);
}

/**
 * Starts the static server.
 * @param {{ port?: number, host?: string, config?: object, controlUrl?: string }} options
 *   `config` is served as /config.json; `controlUrl` enables the /__control/* proxy.
 * @returns {Promise<{ url: string, port: number, close(): Promise<void> }>}
 *   Rejects with the listen error (e.g. code `EADDRINUSE`).
 */
export async function startDemoServer({
  port = 0,
  host = '127.0.0.1',
  config = {},
  controlUrl,
} = {}) {
  const sockets = new Set();
  const server = createServer((req, res) => {
    const { pathname } = new URL(req.url ?? '/', 'http://demo.invalid');
    if (controlUrl !== undefined && pathname.startsWith('/__control/')) {
      proxyControl(req, res, controlUrl);
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      send(res, 405, 'text/plain; charset=utf-8', 'method not allowed', { allow: 'GET, HEAD' });
      return;
    }
    if (pathname === '/config.json') {
      send(res, 200, TYPES['.json'], JSON.stringify(config));
      return;
    }
    const file = resolveStatic(pathname);
    if (file === undefined) {
      send(res, 404, 'text/plain; charset=utf-8', 'not found');
      return;
    }
    readFile(file).then(
      (body) =>
        send(
          res,
          200,
          TYPES[extname(file)] ?? 'application/octet-stream',
          req.method === 'HEAD' ? undefined : body,
        ),
      () => send(res, 404, 'text/plain; charset=utf-8', 'not found'),
    );
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise((done, fail) => {
    server.once('error', fail);
    server.listen(port, host, () => {
      server.off('error', fail);
      done();
    });
  });
  const actual = server.address().port;
  const shown = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${shown}:${actual}/`,
    port: actual,
    close: () =>
      new Promise((done) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => done());
      }),
  };
}

/**
 * Starts the simulator (bot on) from dist/simulator and the demo server in front of it.
 * @param {{ port?: number, simulatorPort?: number, host?: string, simulator?: object }} options
 *   `simulator`: extra options for startSimulator (e.g. `{ botDelayMs: 400 }`).
 * @returns {Promise<{ url: string, port: number, sim: object, config: object, close(): Promise<void> }>}
 *   Rejects with the listen error; the error carries `port` and `which` ('simulator' | 'demo').
 */
export async function startDemo({
  port = 0,
  simulatorPort = 0,
  host = '127.0.0.1',
  simulator = {},
} = {}) {
  const { startSimulator } = await import(
    pathToFileURL(join(ROOT, 'dist', 'simulator', 'index.js')).href
  );
  let sim;
  try {
    sim = await startSimulator({
      botDelayMs: 600,
      ...simulator,
      port: simulatorPort,
      host,
      bot: true,
    });
  } catch (error) {
    throw tag(error, 'simulator', simulatorPort);
  }
  const config = {
    deploymentId: DEPLOYMENT_ID,
    webSocketUrl: sim.wsUrl,
    apiBaseUrl: sim.url,
    controlPath: '/__control',
  };
  let web;
  try {
    web = await startDemoServer({ port, host, config, controlUrl: sim.controlUrl });
  } catch (error) {
    await sim.close();
    throw tag(error, 'demo', port);
  }
  return {
    url: web.url,
    port: web.port,
    sim,
    config,
    close: async () => {
      await web.close();
      await sim.close();
    },
  };
}

function tag(error, which, port) {
  if (typeof error === 'object' && error !== null) {
    error.which = which;
    if (error.port === undefined) error.port = port;
  }
  return error;
}
