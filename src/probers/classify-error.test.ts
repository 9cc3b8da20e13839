// Every code a network library throws reads in plain words first; the code follows in brackets.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { classifyCause } from './classify-error.js';

const error = (code: string, message: string, name = 'Error') => Object.assign(new Error(message), { code, name });

const table: Array<{ thrown: Error; stage: 'connect' | 'exchange'; code: string; headline: RegExp }> = [
  { thrown: error('UND_ERR_SOCKET', 'other side closed'), stage: 'exchange', code: 'closed', headline: /^the server closed the connection \(UND_ERR_SOCKET: other side closed\)$/ },
  { thrown: error('ECONNRESET', 'read ECONNRESET'), stage: 'exchange', code: 'closed', headline: /^connection reset by the peer \(read ECONNRESET\)$/ },
  { thrown: error('ECONNRESET', 'read ECONNRESET'), stage: 'connect', code: 'connect', headline: /^connection reset by the peer/ },
  { thrown: error('HPE_INVALID_EOF_STATE', 'Invalid EOF state', 'HTTPParserError'), stage: 'exchange', code: 'closed', headline: /^the server closed the connection mid-response \(HPE_INVALID_EOF_STATE: Invalid EOF state\)$/ },
  { thrown: error('HPE_INVALID_CONSTANT', 'Expected HTTP/', 'HTTPParserError'), stage: 'exchange', code: 'protocol', headline: /^the response is not valid HTTP \(HPE_INVALID_CONSTANT: Expected HTTP\/\)$/ },
  { thrown: error('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:1'), stage: 'connect', code: 'connect', headline: /^connection refused: nothing listens there \(connect ECONNREFUSED 127\.0\.0\.1:1\)$/ },
  { thrown: error('ENOTFOUND', 'getaddrinfo ENOTFOUND nowhere.invalid'), stage: 'connect', code: 'dns', headline: /^host name not found \(DNS\) \(getaddrinfo ENOTFOUND nowhere\.invalid\)$/ },
  { thrown: error('DEPTH_ZERO_SELF_SIGNED_CERT', 'self-signed certificate'), stage: 'connect', code: 'tls', headline: /^TLS: the server presents a self-signed certificate \(DEPTH_ZERO_SELF_SIGNED_CERT: self-signed certificate\)$/ },
  { thrown: error('ERR_SSL_WRONG_VERSION_NUMBER', 'wrong version number'), stage: 'connect', code: 'tls', headline: /^TLS handshake failed \(ERR_SSL_WRONG_VERSION_NUMBER: wrong version number\)$/ },
  { thrown: error('UND_ERR_HEADERS_TIMEOUT', 'Headers Timeout Error'), stage: 'exchange', code: 'timeout', headline: /^no response headers in time \(UND_ERR_HEADERS_TIMEOUT: Headers Timeout Error\)$/ },
];

for (const row of table) {
  it(`${row.thrown.message} (${(row.thrown as { code?: string }).code}, ${row.stage}) → ${row.code}, said in words`, () => {
    const failure = classifyCause(row.thrown, row.stage);
    assert.equal(failure.code, row.code);
    assert.match(failure.message, row.headline);
  });
}
