import { copyFileSync, existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";

/*
 * Local settings for the Node-side scripts: the project's .dev.vars (the file wrangler dev reads
 * secrets from), with the process environment winning over it so a one-off run needs no edit.
 */

export const PROJECT_ROOT = fileURLToPath(new URL("../..", import.meta.url));
export const DEV_VARS_EXAMPLE = resolve(PROJECT_ROOT, ".dev.vars.example");

/** DEV_VARS_FILE points the scripts (and, through `--env-file`, wrangler) at another file. */
export function devVarsPath(): string {
	return resolve(PROJECT_ROOT, process.env.DEV_VARS_FILE || ".dev.vars");
}

/** The dotenv subset .dev.vars uses: KEY=value lines, # comments, optional surrounding quotes. */
export function parseDevVars(text: string): Record<string, string> {
	const vars: Record<string, string> = {};
	for (const rawLine of text.split(/\r?\n/)) {
		const line = rawLine.trim();
		if (line === "" || line.startsWith("#")) continue;
		const equals = line.indexOf("=");
		if (equals <= 0) continue;
		const key = line.slice(0, equals).trim();
		let value = line.slice(equals + 1).trim();
		const quote = value[0];
		if ((quote === '"' || quote === "'") && value.endsWith(quote) && value.length >= 2) value = value.slice(1, -1);
		vars[key] = value;
	}
	return vars;
}

export function readDevVars(path: string = devVarsPath()): Record<string, string> {
	return existsSync(path) ? parseDevVars(readFileSync(path, "utf8")) : {};
}

/** Creates the file from .dev.vars.example when it is missing; never overwrites. True if created. */
export function ensureDevVars(path: string = devVarsPath()): boolean {
	if (existsSync(path)) return false;
	copyFileSync(DEV_VARS_EXAMPLE, path);
	return true;
}

/** A setting from the environment, else from the vars file; empty counts as unset. */
export function setting(vars: Record<string, string>, name: string): string | undefined {
	const value = process.env[name] || vars[name];
	return value === "" ? undefined : value;
}

export function signingSecrets(value: string | undefined): string[] {
	return (value ?? "").split(/\s+/).filter((secret) => secret !== "");
}
