import { parseArgs } from "node:util";
import { readDevVars, setting } from "../lib/dev-vars.ts";
import { BANDWIDTH_MEDIA_BASE } from "./bandwidth-payloads.ts";

export const USAGE = `usage: npm run simulate -- [options]

Sends realistic Bandwidth messaging callbacks to a running relay (npm start), then checks through
the admin API that the relay stored what was sent. Exit code 0 only if everything matched.

  --url <url>            the relay (default http://127.0.0.1:$RELAY_PORT, port 8787)
  --count <n>            Bandwidth message ids to simulate (default 20)
  --rate <n>             POSTs per second, 0 = unpaced (default 50)
  --concurrency <n>      messages in flight at once (default 8)
  --duplicates <ratio>   share of callbacks sent twice, 0..1 (default 0.1)
  --challenge <ratio>    share of callbacks preceded by the unauthenticated attempt Bandwidth
                         makes to get the 401 challenge, 0..1 (default 0.25; the first always is)
  --seed <n>             plan the same traffic again (default: random, printed)
  --failures             have the local sink (npm start's) fail some deliveries: a 503 and a
                         timeout (retried, then delivered), a 410 (dead: replay it from the
                         console), and a 45 s outage at the end (the breaker opens, probes, closes)
  --no-check             skip the admin API check
  --check-timeout <s>    how long the check waits for events to reach D1 (default 30)
  --username, --password Basic credentials (default BANDWIDTH_USERNAME/PASSWORD, env or .dev.vars)
  --admin-token <token>  bearer token for the check (default ADMIN_TOKEN, env or .dev.vars)
  --json                 print the summary as JSON on stdout (the readable one goes to stderr)
`;

export interface SimulateOptions {
	baseUrl: string;
	count: number;
	rate: number;
	concurrency: number;
	duplicates: number;
	challenge: number;
	seed: number;
	check: boolean;
	checkTimeoutMs: number;
	username: string | undefined;
	password: string | undefined;
	adminToken: string | undefined;
	json: boolean;
	/** Inbound media URLs point here: the first BANDWIDTH_MEDIA_HOSTS entry, the local stand-in by default. */
	mediaBase: string;
	/** Mark events for the local sink to fail (scripts/sink/simulated-failures.ts). */
	failures: boolean;
}

export class UsageError extends Error {}

function number(name: string, raw: string | undefined, fallback: number, valid: (value: number) => boolean): number {
	if (raw === undefined) return fallback;
	const value = Number(raw);
	if (raw.trim() === "" || !Number.isFinite(value) || !valid(value))
		throw new UsageError(`--${name}: ${JSON.stringify(raw)} is out of range`);
	return value;
}

const whole = (min: number) => (value: number) => Number.isInteger(value) && value >= min;
const ratio = (value: number) => value >= 0 && value <= 1;

/** A loopback host is the local stand-in (plain http); any other host is Bandwidth's (https). */
function mediaBaseOf(hosts: string | undefined): string {
	const first = hosts?.split(/[\s,]+/).find((entry) => entry !== "");
	if (first === undefined) return BANDWIDTH_MEDIA_BASE;
	return /^(127\.0\.0\.1|localhost|\[::1\]):\d+$/.test(first) ? `http://${first}` : `https://${first}`;
}

export function parseOptions(argv: readonly string[]): SimulateOptions | "help" {
	const { values } = parseArgs({
		args: [...argv],
		strict: true,
		options: {
			url: { type: "string" },
			count: { type: "string" },
			rate: { type: "string" },
			concurrency: { type: "string" },
			duplicates: { type: "string" },
			challenge: { type: "string" },
			seed: { type: "string" },
			"no-check": { type: "boolean" },
			"check-timeout": { type: "string" },
			username: { type: "string" },
			password: { type: "string" },
			"admin-token": { type: "string" },
			json: { type: "boolean" },
			failures: { type: "boolean" },
			help: { type: "boolean", short: "h" },
		},
	});
	if (values.help) return "help";
	const vars = readDevVars();
	const host = process.env.RELAY_HOST || "127.0.0.1";
	const port = process.env.RELAY_PORT || "8787";
	return {
		// The callback URL itself is accepted too: it is what people copy from npm start's banner.
		baseUrl: (values.url ?? `http://${host}:${port}`).replace(/\/+$/, "").replace(/\/bandwidth\/messaging$/, ""),
		count: number("count", values.count, 20, whole(1)),
		rate: number("rate", values.rate, 50, (value) => value >= 0),
		concurrency: number("concurrency", values.concurrency, 8, whole(1)),
		duplicates: number("duplicates", values.duplicates, 0.1, ratio),
		challenge: number("challenge", values.challenge, 0.25, ratio),
		seed: number("seed", values.seed, Math.floor(Math.random() * 2 ** 31), whole(0)),
		check: values["no-check"] !== true,
		checkTimeoutMs: number("check-timeout", values["check-timeout"], 30, (value) => value > 0) * 1000,
		username: values.username ?? setting(vars, "BANDWIDTH_USERNAME"),
		password: values.password ?? setting(vars, "BANDWIDTH_PASSWORD"),
		adminToken: values["admin-token"] ?? setting(vars, "ADMIN_TOKEN"),
		json: values.json === true,
		mediaBase: mediaBaseOf(setting(vars, "BANDWIDTH_MEDIA_HOSTS")),
		failures: values.failures === true,
	};
}
