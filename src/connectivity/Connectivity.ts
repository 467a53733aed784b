/**
 * A small subscribable view of "can we reach the network?". Offline pauses the drain loop
 * without spending attempts; coming online wakes it at once.
 */
export interface Connectivity {
  isOnline(): boolean;
  /** Calls `listener` on every change; returns the unsubscribe function. */
  subscribe(listener: (online: boolean) => void): () => void;
  /** Evidence from a transport: a successful exchange proves online, a network failure suggests offline. */
  report?(online: boolean): void;
  close?(): void;
}
