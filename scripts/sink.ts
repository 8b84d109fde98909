/*
 * The downstream for local development: receives the relay's signed CloudEvents, verifies each
 * Standard Webhooks signature the way a customer would (the `standardwebhooks` library), prints one
 * line per event, answers 204 — or 401 with a ✗ line when the signature is missing or wrong.
 *
 *   npm run sink
 *
 * Settings (environment, else .dev.vars):
 *   SINK_PORT               port to listen on (default 8788)
 *   SINK_HOST               address to listen on (default 127.0.0.1)
 *   FORWARD_SIGNING_SECRET  whsec_… secret(s), space-separated; any one verifying is enough
 *   FORWARD_TIMEOUT_MS      the relay's timeout (default 10000): a simulated timeout waits a second longer
 *   DEV_VARS_FILE           the vars file to read instead of .dev.vars
 *
 * Events that `npm run simulate -- --failures` marked are answered with the failure they ask for
 * (scripts/sink/simulated-failures.ts); POSTs to /alerts are the relay's alerts (ALERT_URL, which
 * `npm start` points here), printed as ⚑ lines.
 *
 * As a module: `startSink({ port, secrets, onEvent })`, used by `npm start`, the tests and the simulator.
 */
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { Webhook } from "standardwebhooks";
import { readDevVars, setting, signingSecrets } from "./lib/dev-vars.ts";
import {
	type AlertEvent,
	acceptedLine,
	alertLine,
	type ForwardedEvent,
	rejectedLine,
	simulatedLine,
} from "./sink/event-line.ts";
import { SimulatedFailures } from "./sink/simulated-failures.ts";

export const DEFAULT_SINK_PORT = 8788;
export const SINK_PATH = "/events";
/** Where `npm start` points ALERT_URL. */
export const ALERTS_PATH = "/alerts";

export interface SinkDelivery {
	/** The webhook-id header: the relay's event id, the same on every attempt. */
	webhookId: string | undefined;
	verified: boolean;
	/** The parsed CloudEvent; null when the signature failed or the body is not JSON. */
	event: ForwardedEvent | null;
	body: string;
	headers: Record<string, string>;
	status: number;
	line: string;
}

export interface SinkOptions {
	secrets: readonly string[];
	/** 0 (default) picks a free port. */
	port?: number;
	host?: string;
	onEvent?: (delivery: SinkDelivery) => void;
	/** Where the lines go; default stdout. */
	print?: (line: string) => void;
	/** The failures marked events ask for (default: answered as they ask, with a 10 s relay timeout). */
	failures?: SimulatedFailures;
}

export interface Sink {
	port: number;
	/** The URL to set as FORWARD_URL. */
	url: string;
	close(): Promise<void>;
}

async function readBody(request: IncomingMessage): Promise<string> {
	const chunks: Buffer[] = [];
	for await (const chunk of request) chunks.push(chunk as Buffer);
	return Buffer.concat(chunks).toString("utf8");
}

function flatHeaders(request: IncomingMessage): Record<string, string> {
	return Object.fromEntries(
		Object.entries(request.headers).map(([name, value]) => [
			name,
			Array.isArray(value) ? value.join(", ") : (value ?? ""),
		]),
	);
}

function verifies(verifiers: readonly Webhook[], body: string, headers: Record<string, string>): boolean {
	return verifiers.some((verifier) => {
		try {
			verifier.verify(body, headers);
			return true;
		} catch {
			return false;
		}
	});
}

function judge(verifiers: readonly Webhook[], body: string, headers: Record<string, string>, at: Date) {
	const webhookId = headers["webhook-id"];
	if (!headers["webhook-signature"] || !headers["webhook-timestamp"] || !webhookId) {
		return {
			status: 401,
			verified: false,
			event: null,
			line: rejectedLine("missing signature headers", webhookId, 401, at),
		};
	}
	if (!verifies(verifiers, body, headers)) {
		return { status: 401, verified: false, event: null, line: rejectedLine("bad signature", webhookId, 401, at) };
	}
	try {
		const event = JSON.parse(body) as ForwardedEvent;
		return { status: 204, verified: true, event, line: acceptedLine(event, webhookId, at) };
	} catch {
		return { status: 400, verified: true, event: null, line: rejectedLine("signed, but not JSON", webhookId, 400, at) };
	}
}

export async function startSink(options: SinkOptions): Promise<Sink> {
	if (options.secrets.length === 0)
		throw new Error("the sink needs at least one FORWARD_SIGNING_SECRET to verify with");
	const verifiers = options.secrets.map((secret) => new Webhook(secret));
	const print = options.print ?? ((line: string) => console.log(line));
	const failures = options.failures ?? new SimulatedFailures();

	const server = createServer(async (request, response) => {
		if (request.method !== "POST") {
			response.writeHead(request.method === "GET" ? 200 : 405, { "content-type": "text/plain", allow: "GET, POST" });
			response.end("bandwidth-relay sink: POST signed CloudEvents here\n");
			return;
		}
		const body = await readBody(request);
		const headers = flatHeaders(request);
		const verdict = judge(verifiers, body, headers, new Date());
		const path = request.url ?? SINK_PATH;
		if (path === ALERTS_PATH) {
			print(verdict.event === null ? verdict.line : alertLine(verdict.event as AlertEvent, new Date()));
			response.writeHead(verdict.status);
			response.end();
			return;
		}
		const simulated =
			verdict.event === null ? null : failures.answer(headers["webhook-id"] ?? "", verdict.event.data?.tag);
		const answered =
			simulated === null || verdict.event === null
				? verdict
				: {
						...verdict,
						status: simulated.status,
						line: simulatedLine(
							verdict.event,
							headers["webhook-id"] ?? "",
							simulated.status,
							simulated.reason,
							new Date(),
						),
					};
		// Another path is another destination (npm start runs two on this one sink): say which.
		print(path === SINK_PATH ? answered.line : `${path.slice(1)} ← ${answered.line}`);
		options.onEvent?.({ webhookId: headers["webhook-id"], body, headers, ...answered });
		if (simulated !== null && simulated.delayMs > 0)
			await new Promise((resolve) => setTimeout(resolve, simulated.delayMs));
		if (!response.destroyed) {
			response.writeHead(answered.status);
			response.end();
		}
	});

	const host = options.host ?? "127.0.0.1";
	await new Promise<void>((resolve, reject) => {
		server.once("error", reject);
		server.listen(options.port ?? 0, host, resolve);
	});
	const port = (server.address() as AddressInfo).port;
	return {
		port,
		url: `http://${host}:${port}${SINK_PATH}`,
		close: () =>
			new Promise<void>((resolve) => {
				server.closeAllConnections();
				server.close(() => resolve());
			}),
	};
}

async function main(): Promise<void> {
	const vars = readDevVars();
	const secrets = signingSecrets(setting(vars, "FORWARD_SIGNING_SECRET"));
	if (secrets.length === 0) {
		console.error("sink: FORWARD_SIGNING_SECRET is not set in .dev.vars or the environment; nothing to verify with");
		process.exit(1);
	}
	const sink = await startSink({
		secrets,
		port: Number(process.env.SINK_PORT || DEFAULT_SINK_PORT),
		host: process.env.SINK_HOST || "127.0.0.1",
		failures: new SimulatedFailures(Number(setting(vars, "FORWARD_TIMEOUT_MS") || 10_000)),
	});
	// Handlers before the "listening" line: whoever waits for that line may signal right away.
	const stop = () => void sink.close().then(() => process.exit(0));
	for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.once(signal, stop);
	console.log(
		`sink listening on ${sink.url} (verifying with ${secrets.length} secret${secrets.length > 1 ? "s" : ""})`,
	);
}

if (import.meta.main) {
	await main().catch((error: Error) => {
		console.error(`sink: ${error.message}`);
		process.exit(1);
	});
}
