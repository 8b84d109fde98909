import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { answerTo } from "./support/corpus/answer.ts";
import { type CorpusCase, callbackRequest, rejected } from "./support/corpus/model.ts";

/*
 * Which lost answers the malformed corpus sends again, against a server that answers as the local
 * runtime's entry worker does when it loses the Worker, or as the relay does.
 */

type Answer = "runtime-500" | "relay-500" | "relay-413";

const ANSWERS: Record<Answer, { status: number; type: string; body: string }> = {
	// What wrangler dev's entry worker sends: the caught error's stack, as text.
	"runtime-500": {
		status: 500,
		type: "text/plain;charset=UTF-8",
		body: "Error: Network connection lost.\n    at async Object.fetch (file:///…/miniflare/dist/src/workers/core/entry.worker.js:5495:22)",
	},
	"relay-500": {
		status: 500,
		type: "application/json",
		body: JSON.stringify({ error: { code: "storage_unavailable", message: "the events could not be stored" } }),
	},
	"relay-413": {
		status: 413,
		type: "application/json",
		body: JSON.stringify({ error: { code: "payload_too_large", message: "the body is larger than 1 bytes" } }),
	},
};

let server: Server;
let baseUrl: string;
/** The answers still to give, in order; then 404. */
let script: Answer[] = [];
let requests = 0;

beforeAll(async () => {
	server = createServer((request, response) => {
		request.resume();
		request.on("end", () => {
			requests += 1;
			const answer = script.shift();
			if (answer === undefined) return void response.writeHead(404).end();
			const { status, type, body } = ANSWERS[answer];
			response.writeHead(status, { "content-type": type }).end(body);
		});
	});
	await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
	baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
	await new Promise((resolve) => server.close(resolve));
});

function corpusCase(status: 400 | 413): CorpusCase {
	return {
		name: `a case expecting ${status}`,
		request: callbackRequest("[]"),
		expect: status === 413 ? rejected(413, "payload_too_large") : rejected(400, "invalid_json"),
		notStored: [],
	};
}

async function answered(status: 400 | 413, answers: Answer[]) {
	script = [...answers];
	requests = 0;
	const resent: string[] = [];
	const response = await answerTo(baseUrl, corpusCase(status), resent);
	return { status: response.status, requests, resent: resent.length };
}

describe("a case expecting 413", () => {
	it("is sent again, at most twice, when the local runtime answered 500 itself", async () => {
		expect(await answered(413, ["runtime-500", "runtime-500", "relay-413"])).toEqual({
			status: 413,
			requests: 3,
			resent: 2,
		});
	});

	it("keeps the runtime's 500 after the third try, so a runtime that always fails is seen", async () => {
		expect(await answered(413, ["runtime-500", "runtime-500", "runtime-500", "relay-413"])).toEqual({
			status: 500,
			requests: 3,
			resent: 2,
		});
	});

	it("is never sent again after a 5xx of the relay's own", async () => {
		expect(await answered(413, ["relay-500", "relay-413"])).toEqual({ status: 500, requests: 1, resent: 0 });
	});
});

it("a case expecting anything else is never sent again", async () => {
	expect(await answered(400, ["runtime-500", "relay-413"])).toEqual({ status: 500, requests: 1, resent: 0 });
});
