// Capped exponential backoff with jitter, for the outbox's retries. Pure.

export const BASE_MS = 2000;
export const CAP_MS = 5 * 60 * 1000;

/** The wait before retry number `attempt` (1 = after the first failure): base * 2^(attempt-1),
 *  capped, with "equal jitter" (half fixed, half random) so phones that lost the network together
 *  do not come back together. `random` is injectable for tests. */
export function delay(attempt, { base = BASE_MS, cap = CAP_MS, random = Math.random } = {}) {
  const n = Math.max(1, Math.floor(attempt));
  const exp = Math.min(cap, base * 2 ** Math.min(n - 1, 30));
  return Math.round(exp / 2 + random() * (exp / 2));
}

/** When a record that failed `attempt` times may be tried again. */
export function nextAttemptAt(attempt, now = Date.now(), options = {}) {
  return now + delay(attempt, options);
}

/** Whether the record is due (a forced run — the "立即同步" button — ignores the wait). */
export function due(record, now = Date.now(), force = false) {
  return force || !record.next_attempt_at || record.next_attempt_at <= now;
}
