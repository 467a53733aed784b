/**
 * Per-deployment Messenger settings: the part of a web deployment's configuration that changes what
 * the Guest API does. Field names and values are those of the deployment configuration
 * (`messenger.apps.conversations.*`) that Genesys' Messenger transport SDK reads; see
 * docs/simulator.md ("Deployment settings").
 */

/** `conversationDisconnect.type`: `Send` lets the guest keep writing after an agent Disconnect. */
export type ConversationDisconnectType = 'Send' | 'ReadOnly';

/** The settings a test can change, each optional (the rest keep their value). */
export interface DeploymentSettings {
  /** What an agent Disconnect does. @default { enabled: false, type: 'Send' } */
  conversationDisconnect?: { enabled?: boolean; type?: ConversationDisconnectType };
  /** The guest may clear the conversation (Presence `Clear`). @default { enabled: false } */
  conversationClear?: { enabled?: boolean };
  /** The client sends a Presence `Join` when a new session starts. @default { enabled: false } */
  autoStart?: { enabled?: boolean };
  /** Agent typing indicators shown. @default false */
  showAgentTypingIndicator?: boolean;
  /** The guest's typing events are forwarded. @default false */
  showUserTypingIndicator?: boolean;
}

/** {@link DeploymentSettings} with every field present. */
export interface ResolvedDeploymentSettings {
  conversationDisconnect: { enabled: boolean; type: ConversationDisconnectType };
  conversationClear: { enabled: boolean };
  autoStart: { enabled: boolean };
  showAgentTypingIndicator: boolean;
  showUserTypingIndicator: boolean;
}

/** Genesys' defaults, as the transport SDK's configuration model declares them. */
export function defaultDeploymentSettings(): ResolvedDeploymentSettings {
  return {
    conversationDisconnect: { enabled: false, type: 'Send' },
    conversationClear: { enabled: false },
    autoStart: { enabled: false },
    showAgentTypingIndicator: false,
    showUserTypingIndicator: false,
  };
}

function bool(value: unknown, name: string): boolean | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'boolean') throw new TypeError(`${name} must be a boolean`);
  return value;
}

function object(value: unknown, name: string): Record<string, unknown> | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TypeError(`${name} must be an object`);
  }
  return value as Record<string, unknown>;
}

/** `base` with `patch` applied; throws `TypeError` on a field of the wrong type or value. */
export function mergeDeploymentSettings(
  base: ResolvedDeploymentSettings,
  patch: unknown,
): ResolvedDeploymentSettings {
  const p = object(patch, 'settings') ?? {};
  for (const key of Object.keys(p)) {
    if (!(key in base)) throw new TypeError(`unknown deployment setting ${key}`);
  }
  const out: ResolvedDeploymentSettings = {
    conversationDisconnect: { ...base.conversationDisconnect },
    conversationClear: { ...base.conversationClear },
    autoStart: { ...base.autoStart },
    showAgentTypingIndicator: base.showAgentTypingIndicator,
    showUserTypingIndicator: base.showUserTypingIndicator,
  };
  const disconnect = object(p['conversationDisconnect'], 'conversationDisconnect');
  if (disconnect !== undefined) {
    const enabled = bool(disconnect['enabled'], 'conversationDisconnect.enabled');
    if (enabled !== undefined) out.conversationDisconnect.enabled = enabled;
    const type = disconnect['type'];
    if (type !== undefined) {
      if (type !== 'Send' && type !== 'ReadOnly') {
        throw new TypeError("conversationDisconnect.type must be 'Send' or 'ReadOnly'");
      }
      out.conversationDisconnect.type = type;
    }
  }
  const clear = object(p['conversationClear'], 'conversationClear');
  const clearEnabled = bool(clear?.['enabled'], 'conversationClear.enabled');
  if (clearEnabled !== undefined) out.conversationClear.enabled = clearEnabled;
  const autoStart = object(p['autoStart'], 'autoStart');
  const autoStartEnabled = bool(autoStart?.['enabled'], 'autoStart.enabled');
  if (autoStartEnabled !== undefined) out.autoStart.enabled = autoStartEnabled;
  const agentTyping = bool(p['showAgentTypingIndicator'], 'showAgentTypingIndicator');
  if (agentTyping !== undefined) out.showAgentTypingIndicator = agentTyping;
  const userTyping = bool(p['showUserTypingIndicator'], 'showUserTypingIndicator');
  if (userTyping !== undefined) out.showUserTypingIndicator = userTyping;
  return out;
}

/** The settings of every known deployment. */
export class Deployments {
  private readonly settings = new Map<string, ResolvedDeploymentSettings>();

  constructor(
    private readonly ids: readonly string[],
    private readonly initial: Record<string, DeploymentSettings>,
  ) {
    for (const id of Object.keys(initial)) {
      if (!ids.includes(id)) throw new RangeError(`deploymentSettings: unknown deployment ${id}`);
    }
    this.reset();
  }

  has(id: string): boolean {
    return this.ids.includes(id);
  }

  get(id: string): ResolvedDeploymentSettings {
    const found = this.settings.get(id);
    if (found === undefined) throw new RangeError(`unknown deployment ${id}`);
    return found;
  }

  /** Changes some settings of one deployment (all deployments when `id` is undefined). */
  update(id: string | undefined, patch: unknown): void {
    const targets = id === undefined ? [...this.ids] : [id];
    for (const target of targets) {
      this.settings.set(target, mergeDeploymentSettings(this.get(target), patch));
    }
  }

  /** Back to the options given at start. */
  reset(): void {
    for (const id of this.ids) {
      this.settings.set(
        id,
        mergeDeploymentSettings(defaultDeploymentSettings(), this.initial[id] ?? {}),
      );
    }
  }
}
