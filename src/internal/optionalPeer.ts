// Optional peer dependencies (`better-sqlite3`, `pg`, `react`): never installed with this package,
// imported lazily by the one feature that needs them, and a clear error when the user has not
// installed them.
//
//   const { default: Database } = await importOptionalPeer(
//     { name: 'better-sqlite3', range: '12', feature: 'sqliteStore' },
//     () => import('better-sqlite3'),
//   );
//
// `load` must be a literal `import('…')` of the package (so bundlers and TypeScript see it); the
// helper only turns "the package is not installed" into an OutboxError and rethrows anything else.
// A new optional peer: add it to `peerDependencies` with `peerDependenciesMeta.<name>.optional`
// in package.json and to devDependencies (for the tests), then load it through here.
import { OutboxError } from '../errors/OutboxError.js';

/** The peer a feature needs: npm name, the major version (or range) to install, the feature. */
export interface OptionalPeer {
  name: string;
  range: string;
  feature: string;
}

/**
 * True when `error` says that the package `name` could not be found (Node's ESM
 * `ERR_MODULE_NOT_FOUND`, CommonJS `MODULE_NOT_FOUND`, and bundlers all say "Cannot find
 * package/module 'name'"). Any other failure (a native module that did not build) is not this.
 */
export function isMissingModule(error: unknown, name: string): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { message } = error as { message?: unknown };
  if (typeof message !== 'string' || !/Cannot find (package|module)/.test(message)) return false;
  // "Cannot find package 'x' imported from …", "Cannot find module 'x'" or 'x/sub'
  return [`'${name}'`, `"${name}"`, `'${name}/`, `"${name}/`].some((q) => message.includes(q));
}

/** The error a feature raises when its optional peer is not installed. */
export function missingPeerError(peer: OptionalPeer, cause?: unknown): OutboxError {
  return new OutboxError(
    'missing-dependency',
    `${peer.feature} needs the package '${peer.name}', which is not installed: ` +
      `run \`npm install ${peer.name}@${peer.range}\` (it is an optional peer dependency of ` +
      `genesys-webmessaging-outbox, so it is not installed with it)`,
    { cause, details: { package: peer.name, range: peer.range } },
  );
}

/** Imports an optional peer through `load`; a missing package becomes a `missing-dependency` OutboxError. */
export async function importOptionalPeer<T>(
  peer: OptionalPeer,
  load: () => Promise<T>,
): Promise<T> {
  try {
    return await load();
  } catch (e: unknown) {
    if (isMissingModule(e, peer.name)) throw missingPeerError(peer, e);
    throw e;
  }
}
