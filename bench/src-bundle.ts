import { mkdirSync } from "node:fs";
import { build } from "esbuild";
import { ROOT } from "./config.ts";

/*
 * The relay's per-event code, bundled for Node: src/ uses extensionless imports (bundler
 * resolution) that Node's loader does not resolve. esbuild is wrangler's own bundler, so this is
 * the same transform the Worker gets.
 */

/** The parts of src/ the micro-benchmarks call; typed here so Node-side code need not load src types. */
export interface RelayInternals {
	classifyElement: (raw: unknown) => { kind: "event" | "invalid" } & Record<string, unknown>;
	normalizeEvent: (input: {
		id: string;
		element: unknown;
		raw: unknown;
		info: unknown;
		receivedAt: string;
	}) => { time: string } & Record<string, unknown>;
	eventRecordOf: (event: unknown, eventTime: string) => { normalized_json: string };
	eventIdOf: (parts: {
		type: string;
		messageId: string;
		to: string | undefined;
		time: string | undefined;
	}) => Promise<string>;
	prepareElement: (raw: unknown, receivedAt: string) => Promise<{ kind: "event" | "invalid" }>;
}

const ENTRY = `
export { classifyElement } from "./src/bandwidth/classify";
export { normalizeEvent } from "./src/bandwidth/normalize";
export { eventIdOf } from "./src/bandwidth/event-id";
export { eventRecordOf } from "./src/db/events.repository";
export { prepareElement } from "./src/ingest/prepare-element";
`;

export async function loadRelayInternals(): Promise<RelayInternals> {
	const outdir = new URL("./out/", import.meta.url);
	mkdirSync(outdir, { recursive: true });
	const outfile = new URL("relay-internals.mjs", outdir);
	await build({
		stdin: { contents: ENTRY, resolveDir: ROOT, loader: "ts", sourcefile: "bench-entry.ts" },
		bundle: true,
		format: "esm",
		platform: "node",
		target: "es2022",
		outfile: outfile.pathname,
		logLevel: "error",
	});
	return (await import(outfile.href)) as RelayInternals;
}
