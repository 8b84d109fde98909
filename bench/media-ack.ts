import { Agent, request } from "node:http";
import { parseArgs } from "node:util";
import { readDevVars, setting } from "../scripts/lib/dev-vars.ts";
import { percentile } from "./stats.ts";

/*
 * `node bench/media-ack.ts`: does an inbound MMS's 2xx wait for its media? Against a running relay
 * (`npm start`, whose stand-in media host serves `?delayMs=`), it posts, one at a time, inbound SMS
 * and inbound MMS whose two files each take --media-delay ms to download, and compares the
 * callbacks' answer times. The copy runs after the answer, so both should match; a relay that
 * copied before answering would add the delay to every MMS. Then it waits for the copies and
 * reports how long they took, through GET /v1/media/:messageId.
 */

const { values } = parseArgs({
	options: {
		url: { type: "string", default: "http://127.0.0.1:8787" },
		count: { type: "string", default: "40" },
		"media-delay": { type: "string", default: "2000" },
	},
});
const vars = readDevVars();
const base = values.url.replace(/\/+$/, "");
const count = Number(values.count);
const mediaDelay = Number(values["media-delay"]);
const hosts = setting(vars, "BANDWIDTH_MEDIA_HOSTS") ?? "127.0.0.1:8790";
const mediaBase = `http://${hosts.split(/[\s,]+/)[0]}`;
const authorization = `Basic ${btoa(`${setting(vars, "BANDWIDTH_USERNAME")}:${setting(vars, "BANDWIDTH_PASSWORD")}`)}`;
const adminToken = setting(vars, "ADMIN_TOKEN") ?? "";
const agent = new Agent({ keepAlive: true });

function messageId(i: number): string {
	return `${Date.now()}${`bench${i}${Math.random().toString(36).slice(2)}`.slice(0, 16).padEnd(16, "0")}`;
}

function inbound(id: string, media: string[] | null): string {
	const now = new Date().toISOString();
	const message = {
		id,
		owner: "+19195550100",
		applicationId: "93de2206-9669-4e07-948d-329f4b722ee2",
		time: now,
		segmentCount: 1,
		direction: "in",
		to: ["+19195550100"],
		from: "+14155550123",
		text: "bench",
		...(media === null ? {} : { media }),
	};
	return JSON.stringify([{ type: "message-received", time: now, description: "", to: "+19195550100", message }]);
}

function post(body: string): Promise<number> {
	const started = performance.now();
	return new Promise((resolve, reject) => {
		const req = request(
			`${base}/bandwidth/messaging`,
			{ method: "POST", agent, headers: { authorization, "content-type": "application/json" } },
			(response) => {
				response.resume();
				response.on("end", () =>
					response.statusCode === 200
						? resolve(performance.now() - started)
						: reject(new Error(`HTTP ${response.statusCode}`)),
				);
			},
		);
		req.on("error", reject);
		req.end(body);
	});
}

async function copiedWithin(id: string, since: number, timeoutMs: number): Promise<number | null> {
	while (performance.now() - since < timeoutMs) {
		const response = await fetch(`${base}/v1/media/${id}`, { headers: { authorization: `Bearer ${adminToken}` } });
		if (response.ok) {
			const { items } = (await response.json()) as { items: Array<{ status: string }> };
			if (items.every((item) => item.status === "copied")) return performance.now() - since;
		}
		await new Promise((resolve) => setTimeout(resolve, 100));
	}
	return null;
}

const sms: number[] = [];
const mms: number[] = [];
const copies: Array<{ id: string; at: number }> = [];
for (let i = 0; i < count; i++) {
	sms.push(await post(inbound(messageId(i), null)));
	const id = messageId(i);
	const media = [0, 1].map((n) => `${mediaBase}/api/v2/users/1/media/${id}/${n}/f${n}.png?delayMs=${mediaDelay}`);
	const at = performance.now();
	mms.push(await post(inbound(id, media)));
	copies.push({ id, at });
}
const copyTimes = await Promise.all(copies.map(({ id, at }) => copiedWithin(id, at, mediaDelay * 2 + 30_000)));
const done = copyTimes.filter((ms): ms is number => ms !== null);
const ms = (value: number) => `${value.toFixed(1)} ms`;
const line = (name: string, values: number[]) =>
	`${name.padEnd(34)} p50 ${ms(percentile(values, 50))}  p99 ${ms(percentile(values, 99))}  max ${ms(Math.max(...values))}`;
console.log(
	`${count} inbound SMS and ${count} inbound MMS (2 files, each ${mediaDelay} ms to download), one at a time`,
);
console.log(line("callback 2xx, SMS", sms));
console.log(line("callback 2xx, MMS", mms));
console.log(
	`${done.length}/${count} MMS copied; ${done.length > 0 ? line("callback sent → both files copied", done) : ""}`,
);
agent.destroy();
