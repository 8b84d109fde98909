/*
 * Client addresses as Cloudflare reports them (CF-Connecting-IP), and the CIDR ranges an operator
 * lists in BANDWIDTH_ALLOWED_IPS. Addresses are compared as numbers, never as text: "::1",
 * "0:0:0:0:0:0:0:1" and "::ffff:127.0.0.1"-style spellings must all mean what they say.
 */

export interface IpAddress {
	family: 4 | 6;
	value: bigint;
}

export interface IpRange {
	family: 4 | 6;
	/** The network's first address: the value with the host bits cleared. */
	network: bigint;
	prefix: number;
}

const BITS = { 4: 32, 6: 128 } as const;
const IPV4_MAPPED_PREFIX = 0xffffn << 32n;

function parseIpv4(text: string): bigint | null {
	const parts = text.split(".");
	if (parts.length !== 4) return null;
	let value = 0n;
	for (const part of parts) {
		// No leading zeros: "010" is octal to some parsers and decimal to others.
		if (!/^(?:0|[1-9]\d{0,2})$/.test(part)) return null;
		const octet = Number(part);
		if (octet > 255) return null;
		value = (value << 8n) | BigInt(octet);
	}
	return value;
}

function parseIpv6(text: string): bigint | null {
	let body = text;
	// A dotted IPv4 tail ("::ffff:192.0.2.1") stands for the last two groups.
	const lastColon = body.lastIndexOf(":");
	const tail = body.slice(lastColon + 1);
	if (tail.includes(".")) {
		const ipv4 = parseIpv4(tail);
		if (ipv4 === null) return null;
		body = `${body.slice(0, lastColon + 1)}${(ipv4 >> 16n).toString(16)}:${(ipv4 & 0xffffn).toString(16)}`;
	}
	const halves = body.split("::");
	if (halves.length > 2) return null;
	const groupsOf = (half: string) => (half === "" ? [] : half.split(":"));
	const left = groupsOf(halves[0] ?? "");
	const right = halves.length === 2 ? groupsOf(halves[1] ?? "") : [];
	const missing = 8 - left.length - right.length;
	if (halves.length === 1 ? missing !== 0 : missing < 1) return null;
	let value = 0n;
	for (const group of [...left, ...Array<string>(halves.length === 2 ? missing : 0).fill("0"), ...right]) {
		if (!/^[0-9a-fA-F]{1,4}$/.test(group)) return null;
		value = (value << 16n) | BigInt(Number.parseInt(group, 16));
	}
	return value;
}

/** An IPv4 or IPv6 address; an IPv4-mapped IPv6 address is read as the IPv4 address it carries. */
export function parseIp(text: string): IpAddress | null {
	if (text.includes(":")) {
		const value = parseIpv6(text);
		if (value === null) return null;
		if (value >> 32n === IPV4_MAPPED_PREFIX >> 32n) return { family: 4, value: value & 0xffffffffn };
		return { family: 6, value };
	}
	const value = parseIpv4(text);
	return value === null ? null : { family: 4, value };
}

/** "192.0.2.0/24", "2001:db8::/32", or a single address (a /32 or /128). */
export function parseIpRange(text: string): IpRange | null {
	const slash = text.indexOf("/");
	const address = parseIp(slash === -1 ? text : text.slice(0, slash));
	if (address === null) return null;
	const bits: number = BITS[address.family];
	let prefix = bits;
	if (slash !== -1) {
		const digits = text.slice(slash + 1);
		if (!/^\d{1,3}$/.test(digits)) return null;
		prefix = Number(digits);
		// A mapped address ("::ffff:192.0.2.0/120") counts its prefix over all 128 bits.
		if (address.family === 4 && text.slice(0, slash).includes(":")) prefix -= 96;
		if (prefix < 0 || prefix > bits) return null;
	}
	return { family: address.family, network: address.value & maskOf(address.family, prefix), prefix };
}

function maskOf(family: 4 | 6, prefix: number): bigint {
	const bits = BigInt(BITS[family]);
	return ((1n << bits) - 1n) ^ ((1n << (bits - BigInt(prefix))) - 1n);
}

export function inRange(address: IpAddress, range: IpRange): boolean {
	return address.family === range.family && (address.value & maskOf(range.family, range.prefix)) === range.network;
}

export function isLoopback(address: IpAddress): boolean {
	return address.family === 4 ? address.value >> 24n === 127n : address.value === 1n;
}

/**
 * What a rate limit counts by: the address, or for IPv6 its /64 — one subscriber usually holds a
 * whole /64 and could otherwise take a fresh address for every request.
 */
export function rateLimitKeyOf(address: IpAddress): string {
	return address.family === 4 ? `ip4:${address.value.toString(16)}` : `ip6:${(address.value >> 64n).toString(16)}/64`;
}

/** Cloudflare sets this on every request from the internet, replacing whatever the client sent. */
export const CLIENT_IP_HEADER = "cf-connecting-ip";
const LOCAL_HOSTS: ReadonlySet<string> = new Set(["localhost", "127.0.0.1", "[::1]"]);

/**
 * A request made on this machine: addressed to a loopback host, and from a loopback client (or
 * from no reported client at all, as in `wrangler dev` and tests). Behind Cloudflare neither holds.
 */
export function isLoopbackRequest(request: Request): boolean {
	const reported = request.headers.get(CLIENT_IP_HEADER);
	if (reported !== null) {
		const address = parseIp(reported.trim());
		if (address === null || !isLoopback(address)) return false;
	}
	return LOCAL_HOSTS.has(new URL(request.url).hostname);
}
