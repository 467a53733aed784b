import type { DeliveryKind } from './delivered.js';

/**
 * One message request as it arrived, before any fault, gate or de-duplication decided its fate:
 * the raw attempts per idempotency key, so a harness can count every repeat, including those the
 * server answered 409 (tutorial, Open Messaging with de-duplication on) or would have stored again.
 */
export interface AttemptRecord {
  kind: DeliveryKind;
  /** The idempotency key (`externalId`, `channel.messageId`, `tracingId`); `undefined` when none. */
  key: string | undefined;
  /** Real time (`Date.now()`), so it can be compared with the harness's own events. */
  at: number;
  /** A message with this key (same kind) had already been stored when this attempt arrived. */
  alreadyStored: boolean;
  /** This attempt stored the message (a copy in `delivered()`). */
  stored?: boolean;
  /** This attempt stored the message, then its answer was dropped (commit-then-drop, after-accept). */
  answerDropped?: boolean;
}

/** Every message request, in arrival order. */
export class AttemptLog {
  private records: AttemptRecord[] = [];

  add(kind: DeliveryKind, key: string | undefined, alreadyStored: boolean): AttemptRecord {
    const record: AttemptRecord = { kind, key, at: Date.now(), alreadyStored };
    this.records.push(record);
    return record;
  }

  list(): AttemptRecord[] {
    return this.records.map((r) => ({ ...r }));
  }

  clear(): void {
    this.records = [];
  }
}

/** The string field `path` (e.g. `['channel', 'messageId']`) of a JSON body, if any. */
export function keyOf(body: unknown, path: readonly string[]): string | undefined {
  let value: unknown = body;
  for (const part of path) {
    if (typeof value !== 'object' || value === null) return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return typeof value === 'string' ? value : undefined;
}
