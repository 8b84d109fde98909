/*
 * The first (and every later) deploy of the relay, as wrangler commands. Everything here goes
 * through an injected runner, so the sequence is tested against a fake wrangler
 * (test/e2e/deploy-script.test.ts); scripts/deploy.ts gives it the real one.
 *
 * What creates what, so that a second run creates nothing:
 * - the two queues: this script, after `wrangler queues list` says they are missing (wrangler
 *   deploy would provision the producer's queue, never the dead-letter one, and refuses to deploy
 *   a consumer of a queue that does not exist);
 * - D1 and R2: `wrangler deploy` itself (automatic provisioning: the bindings have no id, so it
 *   looks them up by name and creates them only when absent);
 * - the D1 schema: `wrangler d1 migrations apply DB --remote`, which applies only what is new;
 *   before the deploy when the database exists (new code may need the new schema), after it on the
 *   first run (the deploy is what creates the database);
 * - secrets: never. They are listed, and the missing ones printed as `wrangler secret put` lines.
 */

/** Names as wrangler.toml has them (a test checks that they agree). */
export const WORKER_NAME = "bandwidth-relay";
export const DATABASE_BINDING = "DB";
export const DATABASE_NAME = "bandwidth-relay";
export const QUEUES = ["bandwidth-relay-forward", "bandwidth-relay-forward-dlq"] as const;
export const CALLBACK_PATH = "/bandwidth/messaging";

export interface Secret {
	name: string;
	required: boolean;
	hint: string;
	/** Another secret that does this one's job: when that one is set, this one is not missing. */
	orInstead?: string;
}

export const SECRETS: readonly Secret[] = [
	{ name: "BANDWIDTH_USERNAME", required: true, hint: "any username you choose" },
	{ name: "BANDWIDTH_PASSWORD", required: true, hint: "a long random password: openssl rand -base64 24" },
	{
		name: "FORWARD_SIGNING_SECRET",
		required: true,
		hint: 'whsec_ + base64 of 32 random bytes: echo "whsec_$(openssl rand -base64 32)"',
	},
	{ name: "ADMIN_TOKEN", required: false, hint: "optional: enables the admin API (/v1/*)" },
	// Media copying needs an API credential; a deployment on the legacy API user has one already.
	{
		name: "BANDWIDTH_CLIENT_ID",
		required: false,
		hint: "optional: copies inbound MMS media (OAuth2 client id)",
		orInstead: "BANDWIDTH_API_USERNAME",
	},
	{
		name: "BANDWIDTH_CLIENT_SECRET",
		required: false,
		hint: "optional: its client secret",
		orInstead: "BANDWIDTH_API_PASSWORD",
	},
];

export interface CommandResult {
	/** null when the process was killed by a signal. */
	code: number | null;
	output: string;
}

/** Runs `wrangler <args>` to completion; `stream` also shows its output as it comes. */
export type WranglerRunner = (args: readonly string[], options?: { stream?: boolean }) => Promise<CommandResult>;

export class DeployStepError extends Error {
	readonly step: string;
	readonly args: readonly string[];
	readonly result: CommandResult;

	constructor(step: string, args: readonly string[], result: CommandResult, hint: string | null) {
		const said = lastLines(result.output, 15);
		super(
			[
				`Deploy stopped: ${step} failed (wrangler ${args.join(" ")} ${result.code === 0 ? "answered something unreadable" : `exited with ${result.code ?? "a signal"}`}).`,
				...(hint === null ? [] : [hint]),
				...(said === "" ? [] : ["wrangler said:", said]),
				"Nothing after this step was run. Fix the cause and run `npm run deploy` again: it skips what already exists.",
			].join("\n"),
		);
		this.name = "DeployStepError";
		this.step = step;
		this.args = args;
		this.result = result;
	}
}

export interface DeployReport {
	createdQueues: string[];
	/** Whether the database existed before this run (migrations then ran before the deploy). */
	databaseExisted: boolean;
	workerUrl: string | null;
	callbackUrl: string | null;
	missingSecrets: Secret[];
	/** FORWARD_URL as deployed, when wrangler listed it: "" means events are stored, not forwarded. */
	forwardUrl: string | null;
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI escape sequences start with ESC.
const ANSI = /\u001b\[[0-9;]*[A-Za-z]/g;

function lastLines(text: string, count: number): string {
	return text.replace(ANSI, "").trimEnd().split("\n").slice(-count).join("\n");
}

function hintFor(output: string): string | null {
	if (/not authenticated|wrangler login|CLOUDFLARE_API_TOKEN|Authentication error/i.test(output)) {
		return "Log in first: `npx wrangler login` (or set CLOUDFLARE_API_TOKEN and CLOUDFLARE_ACCOUNT_ID).";
	}
	if (/paid plan|workers paid|subscription/i.test(output)) {
		return "Cloudflare Queues need the Workers Paid plan on this account.";
	}
	return null;
}

async function step(
	run: WranglerRunner,
	name: string,
	args: readonly string[],
	options: { stream?: boolean } = {},
): Promise<string> {
	const result = await run(args, options);
	if (result.code !== 0) throw new DeployStepError(name, args, result, hintFor(result.output));
	return result.output.replace(ANSI, "");
}

/**
 * The cells of the `name` column of a table as wrangler prints it (cli-table3: `│ id │ name │ …`).
 * Reading the header rather than a position keeps it right when wrangler adds a column.
 */
export function tableColumn(output: string, column: string): string[] {
	const rows = output
		.split("\n")
		.filter((line) => line.trimStart().startsWith("│"))
		.map((line) =>
			line
				.trim()
				.replace(/^│|│$/g, "")
				.split("│")
				.map((cell) => cell.trim()),
		);
	const [header, ...body] = rows;
	const index = header?.indexOf(column) ?? -1;
	if (index < 0) return [];
	return body.map((cells) => cells[index] ?? "").filter((cell) => cell !== "");
}

/** The JSON array in an output that may carry a banner or warnings around it. */
export function jsonArray(output: string): unknown[] | null {
	const start = output.indexOf("[");
	const end = output.lastIndexOf("]");
	if (start < 0 || end < start) return null;
	try {
		const value: unknown = JSON.parse(output.slice(start, end + 1));
		return Array.isArray(value) ? value : null;
	} catch {
		return null;
	}
}

function namesIn(items: unknown[], key: string): Set<string> {
	const names = new Set<string>();
	for (const item of items) {
		const name = (item as Record<string, unknown> | null)?.[key];
		if (typeof name === "string") names.add(name);
	}
	return names;
}

/** `wrangler queues list` is paged; it stops at the first page without a queue (or a repeat). */
const MAX_QUEUE_PAGES = 50;

async function existingQueues(run: WranglerRunner): Promise<Set<string>> {
	const found = new Set<string>();
	for (let page = 1; page <= MAX_QUEUE_PAGES; page += 1) {
		const output = await step(run, "listing the queues", ["queues", "list", "--page", String(page)]);
		const names = tableColumn(output, "name");
		const fresh = names.filter((name) => !found.has(name));
		for (const name of fresh) found.add(name);
		if (fresh.length === 0 || QUEUES.every((queue) => found.has(queue))) break;
	}
	return found;
}

async function databaseExists(run: WranglerRunner): Promise<boolean> {
	const output = await step(run, "listing the D1 databases", ["d1", "list", "--json"]);
	const databases = jsonArray(output);
	if (databases === null) {
		const result = { code: 0, output };
		throw new DeployStepError(
			"listing the D1 databases",
			["d1", "list", "--json"],
			result,
			"Its output was not a JSON list.",
		);
	}
	return namesIn(databases, "name").has(DATABASE_NAME);
}

/** The Worker's address from `wrangler deploy`'s output: its workers.dev URL, else the first https URL. */
export function workerUrlIn(output: string): string | null {
	const urls = output.match(/https:\/\/[^\s"'`)]+/g) ?? [];
	const url = urls.find((candidate) => /\.workers\.dev\/?$/.test(candidate)) ?? null;
	return url?.replace(/\/$/, "") ?? null;
}

/** FORWARD_URL from the bindings wrangler lists on deploy (`env.FORWARD_URL ("…")`), if listed. */
export function forwardUrlIn(output: string): string | null {
	return /env\.FORWARD_URL \("([^"]*)"\)/.exec(output)?.[1] ?? null;
}

async function missingSecrets(run: WranglerRunner): Promise<Secret[]> {
	const args = ["secret", "list", "--format", "json"];
	const output = await step(run, "listing the Worker's secrets", args);
	const secrets = jsonArray(output);
	if (secrets === null)
		throw new DeployStepError(
			"listing the Worker's secrets",
			args,
			{ code: 0, output },
			"Its output was not a JSON list.",
		);
	const present = namesIn(secrets, "name");
	return SECRETS.filter(
		(secret) => !present.has(secret.name) && !(secret.orInstead !== undefined && present.has(secret.orInstead)),
	);
}

export async function deployRelay(run: WranglerRunner, say: (line: string) => void): Promise<DeployReport> {
	say("1/5 Queues");
	const queues = await existingQueues(run);
	const createdQueues: string[] = [];
	for (const queue of QUEUES) {
		if (queues.has(queue)) {
			say(`    ${queue}: exists`);
			continue;
		}
		await step(run, `creating the queue ${queue}`, ["queues", "create", queue]);
		createdQueues.push(queue);
		say(`    ${queue}: created`);
	}

	say("2/5 D1 database");
	const databaseExisted = await databaseExists(run);
	const migrate = () =>
		step(run, "applying the D1 migrations", ["d1", "migrations", "apply", DATABASE_BINDING, "--remote"], {
			stream: true,
		});
	if (databaseExisted) {
		say(`    ${DATABASE_NAME}: exists; applying new migrations before the deploy`);
		await migrate();
	} else say(`    ${DATABASE_NAME}: missing; the deploy creates it, migrations follow`);

	say("3/5 Deploy (wrangler creates the D1 database and the R2 bucket if they are missing)");
	const deployOutput = await step(run, "the deploy", ["deploy"], { stream: true });

	say("4/5 D1 migrations");
	if (databaseExisted) say("    applied before the deploy");
	else await migrate();

	say("5/5 Secrets");
	const missing = await missingSecrets(run);
	const workerUrl = workerUrlIn(deployOutput);
	return {
		createdQueues,
		databaseExisted,
		workerUrl,
		callbackUrl: workerUrl === null ? null : `${workerUrl}${CALLBACK_PATH}`,
		missingSecrets: missing,
		forwardUrl: forwardUrlIn(deployOutput),
	};
}

/** What to paste into Bandwidth, and what is left to do. */
export function summary(report: DeployReport): string {
	const callback = report.callbackUrl ?? `https://<the Worker's URL, printed by wrangler above>${CALLBACK_PATH}`;
	const lines = [
		"",
		`Deployed. Callback URL: ${callback}`,
		"",
		"On the Bandwidth side (Dashboard → Applications → your messaging application, or the Applications API):",
		`  Inbound callback URL:  ${callback}`,
		`  Status callback URL:   ${callback}`,
		'  Callback credentials ("Use a username/password for callbacks"; InboundCallbackCreds and',
		"  OutboundCallbackCreds in the API): the BANDWIDTH_USERNAME and BANDWIDTH_PASSWORD secrets",
		"  Status callback types: message-sending, message-delivered, message-failed (those you want)",
	];
	const required = report.missingSecrets.filter((secret) => secret.required);
	const optional = report.missingSecrets.filter((secret) => !secret.required);
	if (report.missingSecrets.length > 0) {
		lines.push("", "Secrets not set yet (each takes effect at once, no redeploy needed):");
		for (const secret of [...required, ...optional]) {
			lines.push(`  npx wrangler secret put ${secret.name.padEnd(24)} # ${secret.hint}`);
		}
		if (required.length > 0) {
			lines.push("Until BANDWIDTH_USERNAME and BANDWIDTH_PASSWORD are set, the callback answers 503 not_configured.");
		}
	} else lines.push("", "Secrets: all set.");
	if (report.forwardUrl === "") {
		lines.push(
			"",
			"FORWARD_URL is empty: events are stored, not forwarded. Set it in wrangler.toml [vars] and run `npm run deploy` again.",
		);
	}
	const health = report.workerUrl === null ? "https://<the Worker's URL>/health" : `${report.workerUrl}/health`;
	lines.push("", `Check it: curl ${health}, send a message, and watch \`npx wrangler tail\`.`);
	return lines.join("\n");
}
