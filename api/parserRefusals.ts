import type http from 'node:http';
import type net from 'node:net';
import type { Duplex } from 'node:stream';
import { operationOutcome } from '../hub/core/operationOutcome.ts';
import type { AuditTrail } from '../hub/store/mongoAuditTrail.ts';
import { auditEventForUnparsedRequest } from './auditMiddleware.ts';
import { FHIR_JSON } from './httpOutcome.ts';

/**
 * Requests Node's HTTP parser refuses before express sees them (headers larger than
 * --max-http-header-size, malformed request lines, a header timeout). Node would answer them
 * with a bare status line and nobody would know; here they get the API's OperationOutcome and
 * an AuditEvent, like every other refused request. As Node does, nothing is written into a
 * response already under way; the connection is closed after the answer.
 */
const REFUSALS: Record<string, { status: number; text: string; hubCode: string; diagnostics: string }> = {
  HPE_HEADER_OVERFLOW: { status: 431, text: 'Request Header Fields Too Large', hubCode: 'API_HEADERS_TOO_LARGE', diagnostics: 'the request headers are larger than the server accepts' },
  HPE_CHUNK_EXTENSIONS_OVERFLOW: { status: 413, text: 'Payload Too Large', hubCode: 'API_BODY_TOO_LARGE', diagnostics: 'the chunk extensions are larger than the server accepts' },
  ERR_HTTP_REQUEST_TIMEOUT: { status: 408, text: 'Request Timeout', hubCode: 'API_REQUEST_TIMEOUT', diagnostics: 'the request was not received in time' },
};
const MALFORMED = { status: 400, text: 'Bad Request', hubCode: 'API_REQUEST_MALFORMED', diagnostics: 'the request is not valid HTTP' };

export function answerParserRefusals(server: http.Server, trail?: AuditTrail): void {
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    const s = socket as net.Socket & { _httpMessage?: { headersSent: boolean } };
    // a reset connection, or one whose response has begun (Node's own test, on its own socket
    // field: bytes written cannot tell, TLS writes handshake bytes): nothing can be answered
    if (err.code === 'ECONNRESET' || !s.writable || s._httpMessage?.headersSent) {
      s.destroy();
      return;
    }
    const refusal = REFUSALS[err.code ?? ''] ?? MALFORMED;
    const body = JSON.stringify(operationOutcome({ code: refusal.status === 408 ? 'timeout' : refusal.status === 400 ? 'structure' : 'too-long', diagnostics: refusal.diagnostics, hubCode: refusal.hubCode }));
    s.end(`HTTP/1.1 ${refusal.status} ${refusal.text}\r\nContent-Type: ${FHIR_JSON}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
    trail?.record(auditEventForUnparsedRequest(refusal.status, refusal.hubCode, s.remoteAddress ?? 'unknown'));
  });
}
