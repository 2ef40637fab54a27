import { expect } from 'chai';
import { BSON, MongoInvalidArgumentError, MongoNetworkError, MongoNetworkTimeoutError, MongoNotConnectedError, MongoServerError, MongoServerSelectionError } from 'mongodb';
import { HubError } from '../../../hub/core/hubError.ts';
import { storeErrorKind } from '../../../hub/store/storeErrorKind.ts';

const serverError = (code: number, errmsg: string, errorLabels?: string[]) =>
  new MongoServerError({ ok: 0, code, errmsg, ...(errorLabels ? { errorLabels } : {}) });

/** How the resource store reports a failed write: its own code, the driver's error as cause. */
const wrapped = (cause: unknown) => new HubError('STORE_WRITE_FAILED', 'cannot write Patient/p1', {}, { cause });

describe('store error classification', () => {
  describe('permanent: the data itself is refused', () => {
    it('FerretDB refusing an infinite number (BadValue, code 2)', () => {
      expect(storeErrorKind(serverError(2, 'invalid value: { "v": +Inf } (infinity values are not allowed)'))).to.equal('permanent');
    });

    it('keys the server cannot hold and documents it cannot validate', () => {
      for (const code of [52, 57, 121]) expect(storeErrorKind(serverError(code, 'refused')), `code ${code}`).to.equal('permanent');
    });

    it('a document too large', () => {
      expect(storeErrorKind(serverError(10334, 'BSONObj size is invalid'))).to.equal('permanent');
      expect(storeErrorKind(new MongoInvalidArgumentError('Document is larger than the maximum size 16777216'))).to.equal('permanent');
      expect(storeErrorKind(new RangeError('The value of "offset" is out of range'))).to.equal('permanent');
    });

    it('a key the BSON encoder refuses (NUL in a key)', () => {
      let refusal: unknown;
      try {
        BSON.serialize({ 'a\u0000b': 1 });
      } catch (err) {
        refusal = err;
      }
      expect(refusal, 'the encoder refuses the key').to.be.instanceOf(Error);
      expect(storeErrorKind(refusal)).to.equal('permanent');
    });

    it('a duplicate key with other content', () => {
      expect(storeErrorKind(serverError(11000, 'E11000 duplicate key error'))).to.equal('permanent');
    });

    it('a refusal the store wrapped in its own HubError, read through the cause', () => {
      expect(storeErrorKind(wrapped(serverError(2, 'infinity values are not allowed')))).to.equal('permanent');
    });

    it('an invalid resource type named by the store', () => {
      expect(storeErrorKind(new HubError('STORE_TYPE_INVALID', '"bad type" is not a resource type'))).to.equal('permanent');
    });
  });

  describe('transient: the store could not take it now', () => {
    it('network errors and timeouts', () => {
      expect(storeErrorKind(new MongoNetworkError('connection 1 to 127.0.0.1:27017 closed'))).to.equal('transient');
      expect(storeErrorKind(new MongoNetworkTimeoutError('connection timed out'))).to.equal('transient');
      expect(storeErrorKind(serverError(50, 'operation exceeded time limit'))).to.equal('transient');
    });

    it('no server to select, and a client not connected', () => {
      expect(storeErrorKind(new MongoServerSelectionError('connect ECONNREFUSED 127.0.0.1:27017', { type: 'Unknown', servers: new Map() } as never))).to.equal('transient');
      expect(storeErrorKind(new MongoNotConnectedError('client not connected'))).to.equal('transient');
    });

    it('a primary that stepped down or is not writable', () => {
      for (const code of [189, 10107, 13435, 11602, 91]) expect(storeErrorKind(serverError(code, 'not primary')), `code ${code}`).to.equal('transient');
    });

    it('an error labelled retryable, even with a code that alone would be permanent', () => {
      expect(storeErrorKind(serverError(2, 'odd', ['RetryableWriteError']))).to.equal('transient');
    });

    it('a pool cleared by the driver, by its class name', () => {
      const cleared = Object.assign(new Error('Connection pool for 127.0.0.1:27017 was cleared'), { name: 'MongoPoolClearedError' });
      expect(storeErrorKind(cleared)).to.equal('transient');
    });

    it('an outage the store wrapped in its own HubError', () => {
      expect(storeErrorKind(wrapped(new MongoNetworkError('connection reset')))).to.equal('transient');
    });

    it('anything unrecognised (retried, and bounded by the attempt limit)', () => {
      expect(storeErrorKind(new Error('something odd'))).to.equal('transient');
      expect(storeErrorKind(new HubError('STORE_WRITE_CONFLICT', 'kept changing'))).to.equal('transient');
      expect(storeErrorKind('a string')).to.equal('transient');
    });
  });
});
