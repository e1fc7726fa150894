import { isIP } from 'node:net';

export interface ClientAddressSource {
  /** `socket.remoteAddress`; `undefined` once the socket is gone. */
  socketAddress: string | undefined;
  /** The raw `X-Forwarded-For` header; Node joins repeated headers with `, `. */
  forwardedFor: string | string[] | undefined;
}

/** Dual-stack sockets report IPv4 peers as `::ffff:a.b.c.d`; one client, one bucket. */
function normalize(address: string): string {
  return address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}

/**
 * The client address for the anonymous bucket (SPEC §7). With `trustProxyHops` = n, the address n hops
 * to the left of the socket peer in `X-Forwarded-For, socket` is the client; entries further left were
 * written by the client itself and are ignored, so the header cannot be spoofed past trusted proxies.
 * 0 ignores the header. Same rule as Fastify's numeric `trustProxy` (proxy-addr).
 */
export function clientIpOf(source: ClientAddressSource, trustProxyHops: number): string {
  const socketAddress = source.socketAddress === undefined ? 'unknown' : normalize(source.socketAddress);
  if (trustProxyHops <= 0 || source.forwardedFor === undefined) return socketAddress;
  const header = Array.isArray(source.forwardedFor) ? source.forwardedFor.join(',') : source.forwardedFor;
  const forwarded = header
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry.length > 0);
  if (forwarded.length === 0) return socketAddress;
  const chosen = forwarded[Math.max(0, forwarded.length - trustProxyHops)];
  // A bad entry would become a bucket key of the client's choosing; count it against the peer instead.
  return isIP(chosen) === 0 ? socketAddress : normalize(chosen);
}
