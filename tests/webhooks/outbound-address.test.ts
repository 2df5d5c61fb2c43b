import { createServer, type Server } from 'node:http';
import type { LookupAddress } from 'node:dns';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  isPublicAddress,
  PrivateAddressError,
  publicOnlyLookup,
  type Resolve,
} from '../../activities/webhook-address.js';
import { requestWebhook } from '../../activities/webhook-http.js';

/**
 * Outbound webhooks call public addresses only: every loopback, private, link-local and
 * otherwise special range is refused, in IPv4, IPv6 and IPv6 forms that carry an IPv4 address.
 */
describe('which addresses a webhook may call', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['10.0.0.1', 'private 10/8'],
    ['172.16.0.1', 'private 172.16/12'],
    ['172.31.255.255', 'private 172.16/12'],
    ['192.168.1.1', 'private 192.168/16'],
    ['169.254.169.254', 'link-local (cloud metadata)'],
    ['0.0.0.0', 'this host'],
    ['100.64.0.1', 'carrier-grade NAT'],
    ['192.0.2.10', 'documentation'],
    ['198.18.0.1', 'benchmarking'],
    ['224.0.0.1', 'multicast'],
    ['255.255.255.255', 'broadcast'],
    ['::1', 'IPv6 loopback'],
    ['::', 'IPv6 unspecified'],
    ['fc00::1', 'unique local fc00::/7'],
    ['fd12:3456:789a::1', 'unique local fc00::/7'],
    ['fe80::1', 'link-local fe80::/10'],
    ['fe80::1%eth0', 'link-local with a zone'],
    ['febf:ffff::1', 'link-local fe80::/10'],
    ['ff02::1', 'IPv6 multicast'],
    ['2001:db8::1', 'IPv6 documentation'],
    ['::ffff:127.0.0.1', 'IPv4-mapped loopback'],
    ['::ffff:7f00:1', 'IPv4-mapped loopback, hex'],
    ['::ffff:169.254.169.254', 'IPv4-mapped metadata'],
    ['::ffff:10.1.2.3', 'IPv4-mapped private'],
    ['0:0:0:0:0:ffff:c0a8:0101', 'IPv4-mapped private, long form'],
    ['::127.0.0.1', 'IPv4-compatible'],
    ['64:ff9b::a00:1', 'NAT64 of a private address'],
    ['2002:7f00:1::', '6to4 of loopback'],
  ])('refuses %s (%s)', (address) => {
    expect(isPublicAddress(address)).toBe(false);
  });

  it.each([
    '8.8.8.8',
    '93.184.215.14',
    '172.15.255.255',
    '172.32.0.1',
    '192.169.0.1',
    '169.255.0.1',
    '2606:4700:4700::1111',
    '2a00:1450:4001:82a::200e',
    '::ffff:8.8.8.8',
    '64:ff9b::808:808',
  ])('allows the public address %s', (address) => {
    expect(isPublicAddress(address)).toBe(true);
  });

  it('is not fooled by text that is not an address', () => {
    expect(isPublicAddress('localhost')).toBe(false);
    expect(isPublicAddress('example.com')).toBe(false);
    expect(isPublicAddress('')).toBe(false);
  });
});

describe('resolving a webhook host', () => {
  const lookupWith = (addresses: LookupAddress[], all = true) => {
    const resolve: Resolve = () => Promise.resolve(addresses);
    return new Promise<{ error: Error | null; result: unknown }>((done) =>
      publicOnlyLookup(resolve)('hooks.example.com', { all }, (error, address, family) =>
        done({ error, result: all ? address : { address, family } }),
      ),
    );
  };

  it('refuses a name when any of its addresses is private, even if another is public', async () => {
    const { error } = await lookupWith([
      { address: '93.184.215.14', family: 4 },
      { address: '10.0.0.5', family: 4 },
    ]);
    expect(error).toBeInstanceOf(PrivateAddressError);
    expect(error?.message).toBe(
      "The webhook's address hooks.example.com points to a private network address; webhooks may only call public addresses.",
    );
    // The message never names the address: a refusal tells nothing about the network.
    expect(error?.message).not.toContain('10.0.0.5');
  });

  it('hands the socket exactly the addresses it checked', async () => {
    const addresses = [
      { address: '93.184.215.14', family: 4 },
      { address: '2606:2800:21f:cb07:6820:80da:af6b:8b2c', family: 6 },
    ];
    expect(await lookupWith(addresses)).toEqual({ error: null, result: addresses });
    expect(await lookupWith(addresses, false)).toEqual({
      error: null,
      result: { address: '93.184.215.14', family: 4 },
    });
  });

  it('refuses localhost through the system resolver', async () => {
    const error = await new Promise<Error | null>((done) =>
      publicOnlyLookup()('localhost', { all: true }, (e) => done(e)),
    );
    expect(error).toBeInstanceOf(PrivateAddressError);
  });
});

describe('a webhook request to a receiver on this machine', () => {
  let server: Server;
  let port = 0;
  let calls = 0;

  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url === '/silent') return; // never answers
      if (req.url === '/endless') {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('still going');
        return; // never ends the body
      }
      calls += 1;
      res.statusCode = 204;
      res.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    const address = server.address();
    port = typeof address === 'object' && address ? address.port : 0;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const request = (allowPrivateNetworks: boolean) => ({
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{}',
    timeoutMs: 5000,
    allowPrivateNetworks,
  });

  it.each([
    ['an IP literal', () => `http://127.0.0.1:${port}/hook`],
    ['a name', () => `http://localhost:${port}/hook`],
    ['an IPv4-mapped IPv6 literal', () => `http://[::ffff:127.0.0.1]:${port}/hook`],
    ['a short IPv4 form', () => `http://127.1:${port}/hook`],
  ])('is refused before any connection, by %s', async (_what, url) => {
    await expect(requestWebhook(new URL(url()), request(false))).rejects.toBeInstanceOf(
      PrivateAddressError,
    );
    expect(calls).toBe(0);
  });

  it('gives up on a receiver that does not answer in time', async () => {
    await expect(
      requestWebhook(new URL(`http://127.0.0.1:${port}/silent`), {
        ...request(true),
        timeoutMs: 300,
      }),
    ).rejects.toThrow('no answer within 0.3 s');
  });

  it('answers with the status once the headers arrive, and cuts off a body that never ends', async () => {
    const status = await requestWebhook(new URL(`http://127.0.0.1:${port}/endless`), {
      ...request(true),
      timeoutMs: 300,
    });
    expect(status).toBe(200);
    // The timeout then ends the body, without an unhandled error.
    await new Promise((resolve) => setTimeout(resolve, 600));
  });

  it('is made when private networks are allowed', async () => {
    expect(await requestWebhook(new URL(`http://localhost:${port}/hook`), request(true))).toBe(204);
    expect(calls).toBe(1);
  });
});
