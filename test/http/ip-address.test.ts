import { describe, expect, it } from "vitest";
import {
	inRange,
	isLoopback,
	isLoopbackRequest,
	parseIp,
	parseIpRange,
	rateLimitKeyOf,
} from "../../src/http/ip-address";

const ip = (text: string) => {
	const address = parseIp(text);
	if (address === null) throw new Error(`${text} did not parse`);
	return address;
};
const range = (text: string) => {
	const parsed = parseIpRange(text);
	if (parsed === null) throw new Error(`${text} did not parse`);
	return parsed;
};

describe("addresses and ranges", () => {
	it.each([
		["192.0.2.7", "192.0.2.0/24", true],
		["192.0.3.7", "192.0.2.0/24", false],
		["192.0.2.7", "192.0.2.7", true],
		["192.0.2.8", "192.0.2.7", false],
		["10.1.2.3", "0.0.0.0/0", true],
		["2001:db8::1", "2001:db8::/32", true],
		["2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::/32", true],
		["2001:db9::1", "2001:db8::/32", false],
		["::1", "::1/128", true],
		["::ffff:192.0.2.7", "192.0.2.0/24", true],
		["192.0.2.7", "::ffff:192.0.2.0/120", true],
		["192.0.2.7", "2001:db8::/32", false],
		["2001:db8::1", "0.0.0.0/0", false],
		// Host bits in a range are cleared, as most firewalls read them.
		["192.0.2.200", "192.0.2.1/24", true],
	])("%s in %s: %s", (address, cidr, expected) => {
		expect(inRange(ip(address), range(cidr))).toBe(expected);
	});

	it.each([
		"",
		"192.0.2",
		"192.0.2.256",
		"192.0.2.07",
		"192.0.2.1/33",
		"192.0.2.1/",
		"192.0.2.1/-1",
		"2001:db8::/129",
		"2001:db8:::1",
		"2001:db8::1::2",
		"1:2:3:4:5:6:7:8:9",
		"1:2:3:4:5:6:7",
		"fe80::1%eth0",
		"12345::",
		"example.com",
		"::ffff:192.0.2.0/95",
	])("rejects %j", (text) => {
		expect(parseIpRange(text)).toBeNull();
	});

	it("knows loopback clients", () => {
		expect(isLoopback(ip("127.0.0.1"))).toBe(true);
		expect(isLoopback(ip("127.200.0.9"))).toBe(true);
		expect(isLoopback(ip("::1"))).toBe(true);
		expect(isLoopback(ip("::ffff:127.0.0.1"))).toBe(true);
		expect(isLoopback(ip("192.0.2.1"))).toBe(false);
		expect(isLoopback(ip("::2"))).toBe(false);
	});

	it("counts an IPv6 client by its /64 and an IPv4 client by its address", () => {
		expect(rateLimitKeyOf(ip("2001:db8:1:2::a"))).toBe(rateLimitKeyOf(ip("2001:db8:1:2:ffff::b")));
		expect(rateLimitKeyOf(ip("2001:db8:1:2::a"))).not.toBe(rateLimitKeyOf(ip("2001:db8:1:3::a")));
		expect(rateLimitKeyOf(ip("192.0.2.1"))).not.toBe(rateLimitKeyOf(ip("192.0.2.2")));
	});
});

describe("isLoopbackRequest", () => {
	const request = (url: string, clientIp?: string) =>
		new Request(url, { headers: clientIp === undefined ? {} : { "cf-connecting-ip": clientIp } });

	it.each([
		["http://127.0.0.1:8787/bandwidth/messaging", undefined],
		["http://localhost:8787/bandwidth/messaging", "127.0.0.1"],
		["http://[::1]:8787/bandwidth/messaging", "::1"],
	])("accepts %s from %s", (url, clientIp) => {
		expect(isLoopbackRequest(request(url, clientIp))).toBe(true);
	});

	it.each([
		["https://relay.example.com/bandwidth/messaging", undefined],
		["https://bandwidth-relay.acme.workers.dev/bandwidth/messaging", "203.0.113.9"],
		["http://127.0.0.1:8787/bandwidth/messaging", "203.0.113.9"],
		["http://127.0.0.1:8787/bandwidth/messaging", "not an address"],
		["http://127.0.0.2:8787/bandwidth/messaging", undefined],
	])("refuses %s from %s", (url, clientIp) => {
		expect(isLoopbackRequest(request(url, clientIp))).toBe(false);
	});
});
