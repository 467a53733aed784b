import { randomBytes, randomUUID } from 'node:crypto';

/** A UUID v4, used for conversation ids, message ids, correlation ids and context ids. */
export function newUuid(): string {
  return randomUUID();
}

/** 32 lowercase hex characters: the shape of Genesys guest message ids (`ebb7e3aa58…`). */
export function newHexId(): string {
  return randomBytes(16).toString('hex');
}

/** An opaque random token with a readable prefix (access tokens, JWTs). */
export function newOpaqueToken(prefix: string): string {
  return `${prefix}${randomBytes(24).toString('base64url')}`;
}
