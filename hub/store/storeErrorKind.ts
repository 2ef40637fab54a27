/**
 * Whether a failed store operation is worth trying again. `permanent`: the store refused the data
 * itself (a bad value, a key it cannot hold, a document too large, a duplicate key with other
 * content), so the same write fails the same way forever and the record must be dead-lettered.
 * `transient`: the store could not be reached or answered "not now" (network, timeouts, no
 * primary, pool cleared), so the record is retried with back-off.
 *
 * Read from the MongoDB driver's error labels, class names and server codes, following `cause`
 * through the HubErrors the store wraps them in. Anything not recognised counts as transient:
 * the pipeline's attempt limit still bounds it, whereas calling an outage permanent would
 * dead-letter every record while the store is down.
 */
export type StoreErrorKind = 'permanent' | 'transient';

/** Labels the driver and server put on errors that a retry may cure. */
const TRANSIENT_LABELS = [
  'RetryableWriteError', 'TransientTransactionError', 'ResetPool', 'HandshakeError',
  'PoolRequstedRetry', 'PoolRequestedRetry', 'InterruptInUseConnections',
];

/** Driver error classes (by `name`) for an unreachable, closing or timed-out store. */
const TRANSIENT_NAMES = new Set([
  'MongoNetworkError', 'MongoNetworkTimeoutError', 'MongoServerSelectionError', 'MongoPoolClearedError',
  'PoolClearedOnNetworkError', 'MongoPoolClosedError', 'MongoWaitQueueTimeoutError', 'MongoOperationTimeoutError',
  'MongoNotConnectedError', 'MongoTopologyClosedError', 'MongoServerClosedError', 'MongoClientClosedError',
  'MongoStalePrimaryError', 'MongoWriteConcernError',
]);

/** Driver and BSON error classes raised while encoding the data: the same data fails again. */
const PERMANENT_NAMES = new Set(['BSONError', 'BSONVersionError', 'BSONRuntimeError', 'BSONOffsetError', 'MongoInvalidArgumentError']);

/** Server codes for "not now": node state, shutdown, time limits, write conflicts. */
const TRANSIENT_CODES = new Set([
  6, // HostUnreachable
  7, // HostNotFound
  24, // LockTimeout
  46, // LockBusy
  50, // MaxTimeMSExpired
  64, // WriteConcernFailed
  89, // NetworkTimeout
  91, // ShutdownInProgress
  112, // WriteConflict
  133, // FailedToSatisfyReadPreference
  189, // PrimarySteppedDown
  262, // ExceededTimeLimit
  9001, // SocketException
  10107, // NotWritablePrimary
  11600, // InterruptedAtShutdown
  11602, // InterruptedDueToReplStateChange
  13435, // NotPrimaryNoSecondaryOk
  13436, // NotPrimaryOrSecondary
]);

/** Server codes for "never": the document or a value in it is refused. */
const PERMANENT_CODES = new Set([
  2, // BadValue (FerretDB: infinity values, `$`-prefixed and dotted keys)
  9, // FailedToParse
  14, // TypeMismatch
  16, // InvalidLength
  17, // ProtocolError
  22, // InvalidBSON
  52, // DollarPrefixedFieldName
  55, // InvalidDBRef
  56, // EmptyFieldName
  57, // DottedFieldName
  66, // ImmutableField
  121, // DocumentValidationFailure
  10334, // BSONObjectTooLarge
  11000, // DuplicateKey (the store resolves its own races, so one reaching here is other content)
  11001, // DuplicateKey (legacy)
  17419, // document too large after an update
  17420, // document too large after an update
]);

/** Store HubError codes that say what the data is, whatever caused them. */
const PERMANENT_HUB_CODES = new Set(['STORE_TYPE_INVALID']);

interface ErrorShape {
  name?: unknown;
  code?: unknown;
  errorLabels?: unknown;
  cause?: unknown;
  message?: unknown;
}

export function storeErrorKind(err: unknown): StoreErrorKind {
  // HubErrors wrap the driver's error as `cause`; a few levels are plenty, and a cycle must not loop.
  for (let e: unknown = err, depth = 0; typeof e === 'object' && e !== null && depth < 5; e = (e as ErrorShape).cause, depth += 1) {
    const kind = kindOf(e as ErrorShape);
    if (kind) return kind;
  }
  return 'transient';
}

/** The kind one error in the chain shows by itself, or undefined to look at its cause. */
function kindOf(e: ErrorShape): StoreErrorKind | undefined {
  const labels = Array.isArray(e.errorLabels) ? e.errorLabels : [];
  if (labels.some((l) => TRANSIENT_LABELS.includes(String(l)))) return 'transient';
  const name = typeof e.name === 'string' ? e.name : '';
  if (TRANSIENT_NAMES.has(name)) return 'transient';
  if (PERMANENT_NAMES.has(name)) return 'permanent';
  if (typeof e.code === 'number') {
    if (TRANSIENT_CODES.has(e.code)) return 'transient';
    if (PERMANENT_CODES.has(e.code)) return 'permanent';
  }
  if (typeof e.code === 'string' && PERMANENT_HUB_CODES.has(e.code)) return 'permanent';
  // The BSON serializer runs out of buffer or stack on a document too large or too deep to encode.
  if (e instanceof RangeError) return 'permanent';
  return undefined;
}
