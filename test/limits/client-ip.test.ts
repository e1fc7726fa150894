import { describe, expect, it } from 'vitest';
import { clientIpOf } from '#src/limits/client-ip.js';

describe('clientIpOf', () => {
  it('uses the socket address and ignores X-Forwarded-For when trustProxy is 0', () => {
    expect(clientIpOf({ socketAddress: '10.0.0.5', forwardedFor: '203.0.113.7' }, 0)).toBe('10.0.0.5');
  });

  it('takes the entry written by the trusted proxy, not what the client sent', () => {
    // client 198.51.100.9 spoofs "1.2.3.4"; the one proxy (10.0.0.5) appends the real peer.
    const source = { socketAddress: '10.0.0.5', forwardedFor: '1.2.3.4, 198.51.100.9' };
    expect(clientIpOf(source, 1)).toBe('198.51.100.9');
    expect(clientIpOf(source, 2)).toBe('1.2.3.4');
  });

  it('counts hops through a chain of proxies', () => {
    const source = { socketAddress: '10.0.0.2', forwardedFor: 'spoofed, 198.51.100.9, 10.0.0.1' };
    expect(clientIpOf(source, 2)).toBe('198.51.100.9');
  });

  it('takes the leftmost entry when there are fewer entries than hops', () => {
    expect(clientIpOf({ socketAddress: '10.0.0.5', forwardedFor: '198.51.100.9' }, 3)).toBe('198.51.100.9');
  });

  it('joins repeated headers', () => {
    const source = { socketAddress: '10.0.0.5', forwardedFor: ['1.2.3.4', '198.51.100.9'] };
    expect(clientIpOf(source, 1)).toBe('198.51.100.9');
  });

  it('falls back to the socket address on a missing, empty or malformed entry', () => {
    expect(clientIpOf({ socketAddress: '10.0.0.5', forwardedFor: undefined }, 1)).toBe('10.0.0.5');
    expect(clientIpOf({ socketAddress: '10.0.0.5', forwardedFor: ' , ' }, 1)).toBe('10.0.0.5');
    expect(clientIpOf({ socketAddress: '10.0.0.5', forwardedFor: 'x'.repeat(500) }, 1)).toBe('10.0.0.5');
  });

  it('unwraps IPv4-mapped IPv6 addresses and keeps real IPv6 ones', () => {
    expect(clientIpOf({ socketAddress: '::ffff:192.0.2.1', forwardedFor: undefined }, 0)).toBe('192.0.2.1');
    expect(clientIpOf({ socketAddress: '10.0.0.5', forwardedFor: '2001:db8::1' }, 1)).toBe('2001:db8::1');
    expect(clientIpOf({ socketAddress: undefined, forwardedFor: undefined }, 0)).toBe('unknown');
  });
});
