// What a schedule did to the promise, counted at the simulator: lost, duplicated, repeats the
// server's de-duplication hid, repeats nothing explains, reordered, stuck.

/**
 * @param {object} r
 * @param {{text: string, key: string, order: number, slot: number}[]} r.plan  every message a schedule may send;
 *   `key` groups the messages whose delivery order is promised (one conversation of one producer), `order` their call order
 * @param {Set<string>} r.committed  texts whose send() resolved
 * @param {Map<string, string>} r.ids  text → entry id (the idempotency key), where known
 * @param {object[]} r.deliveries  simulator `delivered()`
 * @param {object[]} r.attempts  simulator `attempts()`
 * @param {{text: string}[] | undefined} r.left  what the outbox still held at the end (undefined: unknown)
 * @param {{at: number, kind: string}[]} r.disruptions  kills, crashes, outages, socket drops, expiries, slow links
 */
export function analyse({ plan, committed, deliveries, attempts, left, disruptions }) {
  const byText = new Map(plan.map((m) => [m.text, m]));
  const ours = deliveries.filter((d) => byText.has(d.text));
  const copies = new Map();
  for (const d of ours) copies.set(d.text, (copies.get(d.text) ?? 0) + 1);
  const leftTexts = new Set((left ?? []).map((e) => e.text));

  let lost = 0;
  let stuck = 0;
  const lostTexts = [];
  const stuckTexts = [];
  for (const text of committed) {
    if (copies.has(text)) continue;
    if (leftTexts.has(text)) {
      stuck += 1;
      stuckTexts.push(text);
    } else {
      lost += 1;
      lostTexts.push(text);
    }
  }
  // Delivered, but still held by the outbox at the end: it would be sent again.
  for (const text of leftTexts) {
    if (copies.has(text)) {
      stuck += 1;
      stuckTexts.push(text);
    }
  }

  let duplicated = 0;
  for (const n of copies.values()) duplicated += n - 1;

  // Order: the first copy of each message, per promised line, must follow call order.
  let reordered = 0;
  const reorderedTexts = [];
  const highest = new Map();
  for (const d of ours) {
    if (d.duplicate) continue;
    const m = byText.get(d.text);
    const top = highest.get(m.key) ?? -1;
    if (m.order < top) {
      reordered += 1;
      reorderedTexts.push(d.text);
    } else highest.set(m.key, m.order);
  }

  // Repeats: attempts that arrived when the message was already stored.
  const keys = new Set(ours.map((d) => d.externalId).filter((k) => k !== undefined));
  const storedAt = new Map();
  for (const d of ours) if (!storedAt.has(d.externalId)) storedAt.set(d.externalId, d.receivedAt);
  const dropped = new Set(
    attempts.filter((a) => a.answerDropped && !a.alreadyStored).map((a) => a.key),
  );
  let repeats = 0;
  let unneeded = 0;
  const unneededKeys = [];
  for (const a of attempts) {
    if (!a.alreadyStored || !keys.has(a.key)) continue;
    repeats += 1;
    if (dropped.has(a.key)) continue;
    const t0 = storedAt.get(a.key) - 50;
    const explained = disruptions.some((e) => e.at >= t0 && e.at <= a.at);
    if (!explained) {
      unneeded += 1;
      unneededKeys.push(a.key);
    }
  }
  const attemptsOurs = attempts.filter((a) => keys.has(a.key)).length;
  return {
    messages: committed.size,
    lost,
    duplicated,
    // Repeats that were not stored again: the server's de-duplication (409, tracingId) hid them.
    hidden: Math.max(0, repeats - duplicated),
    repeats,
    unneeded,
    reordered,
    stuck,
    attempts: attemptsOurs,
    detail: { lostTexts, stuckTexts, reorderedTexts, unneededKeys: [...new Set(unneededKeys)] },
  };
}
