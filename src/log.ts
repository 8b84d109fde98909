/**
 * One JSON object per line: Workers Logs and `wrangler tail` index the fields, so a rejection or
 * a failed drain can be searched by code or message id.
 */
import { meter } from "./meter/meter";

type Fields = Record<string, unknown>;

function write(level: "info" | "warn" | "error", event: string, fields: Fields): void {
	const line = JSON.stringify({ level, event, ...fields });
	// Each line is one more Workers Logs event, billed like the invocation log.
	meter.add("logLines");
	if (level === "error") console.error(line);
	else if (level === "warn") console.warn(line);
	else console.log(line);
}

export const log = {
	info: (event: string, fields: Fields = {}) => write("info", event, fields),
	warn: (event: string, fields: Fields = {}) => write("warn", event, fields),
	error: (event: string, fields: Fields = {}) => write("error", event, fields),
};

export function errorMessage(error: unknown): string {
	return error instanceof Error ? error.message : String(error);
}
