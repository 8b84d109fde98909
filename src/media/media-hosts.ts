import * as v from "valibot";
import { OptionalString } from "../env-vars";

/*
 * Where Bandwidth credentials may go. An entry is a host (`messaging.bandwidth.com`) or host:port,
 * compared with a URL's `host` exactly: no suffix match, so `messaging.bandwidth.com.evil.test`
 * and `evil.test/messaging.bandwidth.com` never qualify. Only https qualifies, except a loopback
 * entry with an explicit port (`127.0.0.1:8790`, `localhost:8790`, `[::1]:8790`): that is a local
 * stand-in on the operator's own machine, and a loopback address cannot be reached from anywhere
 * else, so plain http to it leaks nothing.
 */

const LOOPBACK_HOSTNAMES = new Set(["127.0.0.1", "localhost", "[::1]"]);
const HOST_ENTRY = /^(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*|\[::1\])(?::\d{1,5})?$/;

export interface MediaHost {
	/** As URL.host spells it: lowercase hostname, `:port` only when not the scheme's default. */
	host: string;
	/** A loopback entry with a port: reachable over plain http too. */
	loopback: boolean;
}

function hostnameOf(host: string): string {
	return host.startsWith("[") ? host.slice(0, host.indexOf("]") + 1) : (host.split(":")[0] ?? "");
}

function isLoopbackWithPort(host: string): boolean {
	return LOOPBACK_HOSTNAMES.has(hostnameOf(host)) && /:\d{1,5}$/.test(host);
}

export const MediaHostsSchema = v.pipe(
	OptionalString,
	v.optional(v.string(), "messaging.bandwidth.com"),
	v.string(),
	v.transform((value) =>
		value
			.split(/[\s,]+/)
			.map((entry) => entry.toLowerCase())
			.filter((entry) => entry !== ""),
	),
	v.array(
		v.pipe(
			v.string(),
			v.regex(HOST_ENTRY, "BANDWIDTH_MEDIA_HOSTS entries are host names or host:port, without a scheme or path"),
			v.transform((host): MediaHost => ({ host: host.replace(/:443$/, ""), loopback: isLoopbackWithPort(host) })),
		),
	),
);

/**
 * The URL if Bandwidth credentials may be sent to it, else null. Userinfo is refused: a URL that
 * carries its own credentials is not one Bandwidth would send.
 */
export function allowedMediaUrl(raw: string, hosts: readonly MediaHost[]): URL | null {
	let url: URL;
	try {
		url = new URL(raw);
	} catch {
		return null;
	}
	if (url.username !== "" || url.password !== "") return null;
	const entry = hosts.find((candidate) => candidate.host === url.host);
	if (entry === undefined) return null;
	if (url.protocol === "https:") return url;
	return url.protocol === "http:" && entry.loopback ? url : null;
}

/** The token endpoint gets the client secret: https, or http to a loopback host:port only. */
export function isSafeTokenUrl(raw: string): boolean {
	try {
		const url = new URL(raw);
		if (url.username !== "" || url.password !== "") return false;
		return url.protocol === "https:" || (url.protocol === "http:" && isLoopbackWithPort(url.host));
	} catch {
		return false;
	}
}
