// 'genesys-webmessaging-outbox/react': React (18 or later, an optional peer dependency) hooks over
// the framework-neutral views of src/outbox/views.ts, on useSyncExternalStore: a component
// re-renders when what it shows changed, never on a snapshot that did not (no tearing either).
import { useSyncExternalStore } from 'react';
import type { OutboxEntry } from '../outbox/entry.js';
import type { TranscriptRecord } from '../store/OutboxStore.js';
import {
  outboxConnectivity,
  outboxEntries,
  outboxTranscript,
  type ExternalStore,
  type ViewableOutbox,
} from '../outbox/views.js';

const EMPTY: readonly never[] = Object.freeze([]);
const none: ExternalStore<readonly never[]> = {
  getSnapshot: () => EMPTY,
  subscribe: () => () => {},
};
const online: ExternalStore<boolean> = { getSnapshot: () => true, subscribe: () => () => {} };

function useStore<T>(store: ExternalStore<T>): T {
  // The server snapshot is the client's first one: what is known when the component renders.
  return useSyncExternalStore(store.subscribe, store.getSnapshot, store.getSnapshot);
}

/**
 * The pending, sending and failed entries, oldest first (`outbox.list()`), live. `[]` while
 * `outbox` is `null`/`undefined` (createOutbox has not resolved yet) and until the first read.
 *
 * @example
 * const entries = useOutboxEntries(outbox);
 * const failed = entries.filter((e) => e.status === 'failed');
 */
export function useOutboxEntries(
  outbox: ViewableOutbox | null | undefined,
): readonly OutboxEntry[] {
  return useStore(outbox ? outboxEntries(outbox) : none);
}

/**
 * A conversation's transcript (`outbox.transcript.list(conversationId)`: delivered lines and the
 * guest's messages still in the outbox, with their status), live. Without `conversationId`, the
 * outbox's default conversation.
 *
 * @example
 * const lines = useTranscript(outbox);
 * return <ol>{lines.map((l) => <li key={l.key}>{l.text}</li>)}</ol>;
 */
export function useTranscript(
  outbox: ViewableOutbox | null | undefined,
  conversationId?: string,
): readonly TranscriptRecord[] {
  return useStore(outbox ? outboxTranscript(outbox, conversationId) : none);
}

/** Whether the outbox thinks the network is there (`outbox.online`), live; `true` without an outbox. */
export function useConnectivity(outbox: ViewableOutbox | null | undefined): boolean {
  return useStore(outbox ? outboxConnectivity(outbox) : online);
}

export type { ExternalStore, ViewableOutbox } from '../outbox/views.js';
