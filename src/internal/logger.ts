/**
 * Where the library reports what it does. Message text is never passed to a logger
 * (design rule 10): only ids, codes and counts.
 */
export interface Logger {
  debug(message: string, context?: Record<string, unknown>): void;
  warn(message: string, context?: Record<string, unknown>): void;
  error(message: string, context?: Record<string, unknown>): void;
}

/** Default logger: warnings and errors to the console, debug dropped. */
export const consoleLogger: Logger = {
  debug: () => {},
  warn: (message, context) => console.warn(`[outbox] ${message}`, context ?? ''),
  error: (message, context) => console.error(`[outbox] ${message}`, context ?? ''),
};

/** A logger that drops everything. */
export const silentLogger: Logger = { debug: () => {}, warn: () => {}, error: () => {} };
