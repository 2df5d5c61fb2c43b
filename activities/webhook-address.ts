import { lookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';

/**
 * A webhook URL whose host is, or resolves to, an address that is not public: calling it would
 * let a journey reach the engine's own network (loopback, private ranges, cloud metadata).
 * The message names the host only, never the address, so refusals reveal nothing about the
 * internal network.
 */
export class PrivateAddressError extends Error {
  override readonly name = 'PrivateAddressError';
  readonly code = 'WEBHOOK_PRIVATE_ADDRESS';
  constructor(readonly host: string) {
    super(
      `The webhook's address ${host} points to a private network address; webhooks may only call public addresses.`,
    );
  }
}

type Cidr = readonly [base: string, bits: number];

/** IPv4 blocks that are not public unicast (IANA special-purpose registry, RFC 6890). */
const IPV4_NOT_PUBLIC: readonly Cidr[] = [
  ['0.0.0.0', 8], // "this network"; 0.0.0.0 reaches the local host
  ['10.0.0.0', 8], // private
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8], // loopback
  ['169.254.0.0', 16], // link-local, including cloud metadata at 169.254.169.254
  ['172.16.0.0', 12], // private
  ['192.0.0.0', 24], // IETF protocol assignments
  ['192.0.2.0', 24], // documentation
  ['192.88.99.0', 24], // 6to4 relay anycast
  ['192.168.0.0', 16], // private
  ['198.18.0.0', 15], // benchmarking
  ['198.51.100.0', 24], // documentation
  ['203.0.113.0', 24], // documentation
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, and 255.255.255.255 broadcast
];

/**
 * IPv6 special blocks inside global unicast (2000::/3); everything outside 2000::/3 (loopback,
 * unspecified, unique-local fc00::/7, link-local fe80::/10, multicast, ...) is refused anyway.
 */
const IPV6_NOT_PUBLIC: readonly Cidr[] = [
  ['2001::', 23], // IETF protocol assignments, Teredo
  ['2001:db8::', 32], // documentation
  ['3fff::', 20], // documentation
];

/**
 * Whether an IP address (v4 or v6 text) is public unicast, the only kind a webhook may call.
 * IPv6 forms that carry an IPv4 address (mapped ::ffff:a.b.c.d, NAT64 64:ff9b::/96, 6to4
 * 2002::/16) are judged by that IPv4 address. Text that is not an IP address is not public.
 */
export function isPublicAddress(address: string): boolean {
  switch (isIP(address)) {
    case 4: {
      const value = ipv4Value(address);
      return value !== null && isPublicIpv4(value);
    }
    case 6: {
      const value = ipv6Value(address);
      return value !== null && isPublicIpv6(value);
    }
    default:
      return false;
  }
}

function isPublicIpv4(value: number): boolean {
  return !IPV4_NOT_PUBLIC.some(([base, bits]) => {
    const size = 2 ** (32 - bits);
    return Math.floor(value / size) === Math.floor((ipv4Value(base) ?? 0) / size);
  });
}

function isPublicIpv6(value: bigint): boolean {
  const embedded = embeddedIpv4(value);
  if (embedded !== null) return isPublicIpv4(embedded);
  if (!inIpv6Block(value, ['2000::', 3])) return false;
  return !IPV6_NOT_PUBLIC.some((block) => inIpv6Block(value, block));
}

/** The IPv4 address inside an IPv4-mapped, NAT64 or 6to4 address, else null. */
function embeddedIpv4(value: bigint): number | null {
  if (inIpv6Block(value, ['::ffff:0:0', 96]) || inIpv6Block(value, ['64:ff9b::', 96]))
    return Number(value & 0xffffffffn);
  if (inIpv6Block(value, ['2002::', 16])) return Number((value >> 80n) & 0xffffffffn);
  return null;
}

function inIpv6Block(value: bigint, [base, bits]: Cidr): boolean {
  const shift = BigInt(128 - bits);
  return value >> shift === (ipv6Value(base) ?? -1n) >> shift;
}

function ipv4Value(text: string): number | null {
  const parts = text.split('.');
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255))
    return null;
  return parts.reduce((value, part) => value * 256 + Number(part), 0);
}

/** An IPv6 address as a 128-bit number (a zone such as `%eth0` is ignored). */
function ipv6Value(text: string): bigint | null {
  let rest = text.split('%')[0] ?? '';
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(rest)?.[1];
  if (dotted !== undefined) {
    const v4 = ipv4Value(dotted);
    if (v4 === null) return null;
    rest = `${rest.slice(0, -dotted.length)}${(v4 >>> 16).toString(16)}:${(v4 & 0xffff).toString(16)}`;
  }
  const halves = rest.split('::');
  if (halves.length > 2) return null;
  const head = halves[0] ? halves[0].split(':') : [];
  const tail = halves[1] ? halves[1].split(':') : [];
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return null;
  let value = 0n;
  for (const group of [...head, ...Array<string>(missing).fill('0'), ...tail]) {
    if (!/^[0-9a-f]{1,4}$/i.test(group)) return null;
    value = (value << 16n) | BigInt(parseInt(group, 16));
  }
  return value;
}

/** How a host name becomes addresses: `dns.lookup` with `all: true`, or a stand-in in tests. */
export type Resolve = (
  hostname: string,
  options: LookupOptions,
) => Promise<readonly LookupAddress[]>;

const systemResolve: Resolve = (hostname, options) =>
  new Promise((resolve, reject) =>
    lookup(hostname, { ...options, all: true }, (error, addresses) =>
      error ? reject(error) : resolve(addresses),
    ),
  );

/**
 * A socket `lookup` that resolves the host and fails with {@link PrivateAddressError} when any
 * of its addresses is not public. The socket connects to the addresses checked here, in the
 * same step, so a name that changes its answer between a check and the call (DNS rebinding)
 * cannot slip through. IP literals never reach a lookup: {@link assertPublicHost} checks them.
 */
export function publicOnlyLookup(resolve: Resolve = systemResolve): LookupFunction {
  return (hostname, options, callback) => {
    resolve(hostname, options).then(
      (addresses) => {
        const first = addresses[0];
        if (!first) callback(new Error(`${hostname} has no address.`), '', 0);
        else if (addresses.some((a) => !isPublicAddress(a.address)))
          callback(new PrivateAddressError(hostname), '', 0);
        else if (options.all) callback(null, [...addresses]);
        else callback(null, first.address, first.family);
      },
      (error: NodeJS.ErrnoException) => callback(error, '', 0),
    );
  };
}

/** Refuses a URL host that is an IP literal and not public (names are checked at connect). */
export function assertPublicHost(url: URL): void {
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (isIP(host) !== 0 && !isPublicAddress(host)) throw new PrivateAddressError(url.hostname);
}
