import type { AttemptLog } from './attempts.js';
import type { SimClock } from './clock.js';
import type { DeliveryLog } from './delivered.js';
import type { Deployments } from './deployments.js';
import type { Faults } from './faults.js';
import type { TokenStore } from './oauth.js';
import type { ResolvedOptions } from './options.js';
import type { PlatformRateCounter } from './rateLimitHeaders.js';

/** A message stored by the tutorial endpoint. */
export interface TutorialMessage {
  id: string;
  guestId?: string;
  conversationId: string;
  text: string;
  externalId: string;
  timestamp: string;
}

/** An Open Messaging receipt or event as received (`control.openInbound()`). */
export interface OpenInboundRecord {
  kind: 'receipt' | 'event';
  integrationId: string;
  /** The request body as sent. */
  body: Record<string, unknown>;
  /** Simulator clock, epoch ms. */
  receivedAt: number;
}

/** An agentless outbound message as received (`control.agentless()`). */
export interface AgentlessRecord {
  id: string;
  conversationId: string;
  body: Record<string, unknown>;
  /** Simulator clock, epoch ms. */
  receivedAt: number;
}

/** Everything the request handlers share. One per simulator. */
export interface SimulatorContext {
  options: ResolvedOptions;
  clock: SimClock;
  tokens: TokenStore;
  faults: Faults;
  deliveries: DeliveryLog;
  /** Every message request with its idempotency key, before faults and de-duplication. */
  attempts: AttemptLog;
  rateCounter: PlatformRateCounter;
  /** Messenger settings per deployment (Disconnect read-only or not, clear, autostart, typing). */
  deployments: Deployments;
  /** Tutorial endpoint messages by `externalId`. */
  tutorialMessages: Map<string, TutorialMessage>;
  /** Open Messaging: stored message ids by `channel.messageId`, for the optional 409 de-duplication. */
  openMessageIds: Map<string, string>;
  /** Open Messaging conversation id per `integrationId` + sender. */
  openConversations: Map<string, string>;
  /** Open Messaging receipts and events, in arrival order. */
  openInbound: OpenInboundRecord[];
  /** Agentless outbound messages, in arrival order. */
  agentless: AgentlessRecord[];
  /** Open Messaging duplicates refused with 409 (only when de-duplication is on). */
  openDuplicatesRefused: number;
  dedupeOpenMessageId: boolean;
  log(line: string): void;
}
