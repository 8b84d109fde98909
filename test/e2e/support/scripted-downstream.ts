import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";

/*
 * A downstream whose answers the test scripts per attempt, in front of the recording sink: `answer`
 * sees each forwarded event (its webhook-id and message id, and how many times it came before) and
 * returns a status to answer in the sink's place, or undefined to pass the request to the sink
 * unchanged (which verifies the signature and answers 204).
 */

export interface DownstreamAttempt {
	webhookId: string;
	messageId: string | undefined;
	/** 1 for the event's first attempt here. */
	attempt: number;
	/** When it arrived (ms since the epoch). */
	at: number;
	/** What the relay got back: the scripted status, or the sink's answer. */
	status: number;
}

export type AnswerRule = (attempt: Omit<DownstreamAttempt, "status" | "at">) => number | undefined;

export interface ScriptedDownstream {
	url: string;
	attempts: DownstreamAttempt[];
	/** Replaces the rule for the attempts still to come. */
	answerWith(rule: AnswerRule): void;
	close(): Promise<void>;
}

async function readBody(request: IncomingMessage): Promise<Buffer> {
	const parts: Buffer[] = [];
	for await (const part of request) parts.push(part as Buffer);
	return Buffer.concat(parts);
}

function messageIdOf(body: Buffer): string | undefined {
	try {
		return (JSON.parse(body.toString("utf8")) as { data?: { messageId?: string } }).data?.messageId;
	} catch {
		return undefined;
	}
}

export async function startScriptedDownstream(target: string): Promise<ScriptedDownstream> {
	const attempts: DownstreamAttempt[] = [];
	let rule: AnswerRule = () => undefined;

	const server = createServer(async (request, response) => {
		const body = await readBody(request);
		const webhookId = String(request.headers["webhook-id"] ?? "");
		const seen = attempts.filter((attempt) => attempt.webhookId === webhookId).length;
		const attempt = { webhookId, messageId: messageIdOf(body), attempt: seen + 1 };
		const at = Date.now();
		const scripted = rule(attempt);
		if (scripted !== undefined) {
			attempts.push({ ...attempt, at, status: scripted });
			response.writeHead(scripted, { "content-type": "application/json" });
			response.end(`{"error":"scripted ${scripted}"}`);
			return;
		}
		const headers = Object.fromEntries(
			Object.entries(request.headers).filter(([name]) => !["host", "connection", "content-length"].includes(name)),
		) as Record<string, string>;
		const passed = await fetch(target, { method: request.method ?? "POST", headers, body });
		attempts.push({ ...attempt, at, status: passed.status });
		response.writeHead(passed.status);
		response.end(Buffer.from(await passed.arrayBuffer()));
	});

	await new Promise<void>((resolve, reject) => {
		server.once("error", reject);
		server.listen(0, "127.0.0.1", resolve);
	});
	const { port } = server.address() as AddressInfo;
	return {
		url: `http://127.0.0.1:${port}/events`,
		attempts,
		answerWith(next) {
			rule = next;
		},
		close: () =>
			new Promise<void>((resolve) => {
				server.closeAllConnections();
				server.close(() => resolve());
			}),
	};
}
