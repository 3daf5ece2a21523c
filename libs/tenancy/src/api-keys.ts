import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * API keys: `kb_<env>_` + 32 base62 characters of randomness (~190 bits) + a 6-character base62 checksum
 * of everything before it. The checksum lets the gateway refuse mistyped or made-up keys without any store
 * or NATS call, and makes leaked keys recognisable to secret scanners. Keys are stored only as a keyed
 * hash (HMAC-SHA-256 under KB_KEY_HASH_SECRET).
 */
export const KEY_ENVIRONMENTS = { live: 'live', test: 'test' } as const;
export type KeyEnvironment = keyof typeof KEY_ENVIRONMENTS;

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const RANDOM_LENGTH = 32;
const CHECKSUM_LENGTH = 6;
const KEY_PATTERN = /^kb_(live|test)_([0-9A-Za-z]{32})([0-9A-Za-z]{6})$/;
/** Characters shown in key listings: enough to tell keys apart, far too few to guess the rest. */
export const KEY_PREFIX_LENGTH = 12;

function base62(bytes: Buffer, length: number): string {
  let out = '';
  // Rejection sampling keeps every character uniform (256 is not a multiple of 62).
  let pool = bytes;
  let i = 0;
  while (out.length < length) {
    if (i >= pool.length) {
      pool = randomBytes(length * 2);
      i = 0;
    }
    const byte = pool[i++] as number;
    if (byte < 248) out += ALPHABET[byte % 62];
  }
  return out;
}

function checksum(body: string): string {
  // 48 bits of a fixed-key HMAC, in base62: not a secret, only a guard against typos and made-up keys.
  let value = BigInt(`0x${createHmac('sha256', 'kb-key-checksum').update(body).digest('hex').slice(0, 12)}`);
  let out = '';
  for (let i = 0; i < CHECKSUM_LENGTH; i += 1) {
    out = ALPHABET[Number(value % 62n)] + out;
    value /= 62n;
  }
  return out;
}

export function generateApiKey(environment: KeyEnvironment): { key: string; prefix: string } {
  const body = `kb_${environment}_${base62(randomBytes(RANDOM_LENGTH * 2), RANDOM_LENGTH)}`;
  const key = `${body}${checksum(body)}`;
  return { key, prefix: key.slice(0, KEY_PREFIX_LENGTH) };
}

/** Shape and checksum only; says nothing of whether the key exists. Runs in constant time for its length. */
export function isWellFormedApiKey(value: string): boolean {
  const match = KEY_PATTERN.exec(value);
  if (!match) return false;
  const body = value.slice(0, value.length - CHECKSUM_LENGTH);
  const expected = Buffer.from(checksum(body));
  const given = Buffer.from(value.slice(-CHECKSUM_LENGTH));
  return timingSafeEqual(expected, given);
}

export function apiKeyEnvironment(key: string): KeyEnvironment | null {
  const match = KEY_PATTERN.exec(key);
  return match ? (match[1] as KeyEnvironment) : null;
}

/** The stored form of a key: HMAC-SHA-256 under the service's secret, hex. */
export function hashApiKey(key: string, secret: string): string {
  return createHmac('sha256', secret).update(key).digest('hex');
}
