import { createHmac } from 'node:crypto';
import type { DataKey } from './keyring.ts';

/**
 * HMAC-SHA256 under the keyring's hash key, for values that must stay findable by equality
 * while unreadable: search postings, blocking keys, Kafka partition keys, content hashes. A
 * plain hash of an ID card number can be reversed by hashing every possible number; a keyed
 * one cannot without the key. The domain separates uses, so the hash of a name as a posting
 * says nothing about the same name as a blocking key.
 *
 * 128 bits of the MAC in base64url (22 characters, no `|` or `%`): collisions are out of reach
 * for equality lookups, and posting ids stay short.
 */
export class KeyedHash {
  constructor(private readonly hashKey: DataKey) {}

  get keyId(): string {
    return this.hashKey.id;
  }

  digest(domain: string, value: string): string {
    return createHmac('sha256', this.hashKey.key).update(domain).update('\u0000').update(value).digest().subarray(0, 16).toString('base64url');
  }
}
