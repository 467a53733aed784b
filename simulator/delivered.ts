/** Which endpoint received a message. */
export type DeliveryKind = 'tutorial' | 'open' | 'guest';

/** One message the simulator stored, in arrival order. Duplicates appear once per copy stored. */
export interface DeliveryRecord {
  /** 1, 2, 3… across all endpoints, in the order messages were stored. */
  seq: number;
  kind: DeliveryKind;
  /** Request path (for guest messages: `/v1`). */
  path: string;
  /**
   * The client's idempotency key: `externalId` (tutorial), `channel.messageId` (Open Messaging),
   * `tracingId` (guest). `undefined` when the client sent none.
   */
  externalId: string | undefined;
  /** Tutorial: the request's; Open Messaging: the simulator's per-sender conversation; guest: the session's. */
  conversationId: string;
  text: string;
  /** Simulator clock, epoch milliseconds. */
  receivedAt: number;
  /** The id the simulator gave the stored message. */
  serverId: string;
  /** True when a message with the same `externalId` (same kind) had already been stored. */
  duplicate: boolean;
  /** Guest session token (guest messages only). */
  sessionToken?: string;
  /** Open Messaging integration id (Open Messaging only). */
  integrationId?: string;
}

/** The record of everything delivered, so tests can assert "exactly once". */
export class DeliveryLog {
  private records: DeliveryRecord[] = [];
  private seq = 0;
  private readonly seen = new Set<string>();

  add(record: Omit<DeliveryRecord, 'seq' | 'duplicate'>): DeliveryRecord {
    const key =
      record.externalId === undefined ? undefined : `${record.kind}\u0000${record.externalId}`;
    const duplicate = key !== undefined && this.seen.has(key);
    if (key !== undefined) this.seen.add(key);
    this.seq += 1;
    const full: DeliveryRecord = { ...record, seq: this.seq, duplicate };
    this.records.push(full);
    return full;
  }

  /** A message with this key (same kind) has been stored. */
  has(kind: DeliveryKind, externalId: string): boolean {
    return this.seen.has(`${kind}\u0000${externalId}`);
  }

  list(): DeliveryRecord[] {
    return this.records.map((r) => ({ ...r }));
  }

  clear(): void {
    this.records = [];
    this.seen.clear();
    this.seq = 0;
  }
}
