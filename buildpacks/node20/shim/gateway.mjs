// On a swarm: a connection to the gateway through the function's relay, over TLS that trusts the platform's authority
// alone, opened by the line that proves which instance this is (` log` for the output's connection).
import fs from 'node:fs';
import tls from 'node:tls';
import { dialInLine, gateway, gatewayAuthority, gatewayName } from './settings.mjs';

let authority;

/** The TLS socket; its line is written the moment the handshake is done, before anything else. */
export function dialGateway(channel = '') {
  authority ??= fs.readFileSync(gatewayAuthority);
  const socket = tls.connect({ host: gateway.hostname, port: Number(gateway.port), servername: gatewayName, ca: authority, minVersion: 'TLSv1.2' });
  // Small answers leave at once: Nagle's algorithm would hold one back for the relay's delayed acknowledgement.
  socket.setNoDelay(true);
  socket.once('secureConnect', () => socket.write(dialInLine(channel)));
  return socket;
}
