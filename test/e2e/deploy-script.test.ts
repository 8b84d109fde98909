import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import {
	type CommandResult,
	DATABASE_BINDING,
	DATABASE_NAME,
	DeployStepError,
	deployRelay,
	forwardUrlIn,
	QUEUES,
	SECRETS,
	summary,
	tableColumn,
	WORKER_NAME,
	type WranglerRunner,
	workerUrlIn,
} from "../../scripts/lib/deploy-steps.ts";

/*
 * `npm run deploy` without a Cloudflare account: a fake wrangler that keeps an account's state
 * (queues, databases, applied migrations, the Worker and its secrets), answers each command as
 * wrangler 4 prints it, and refuses what the real one would (a second queue of one name, a deploy
 * consuming a queue that does not exist, a secret list before the Worker exists).
 */

const ROOT = resolve(import.meta.dirname, "../..");
const BANNER = " ⛅️ wrangler 4.164.0\n───────────────────\n";
const MIGRATIONS = ["0001_initial.sql", "0002_more.sql"];
const WORKER_URL = "https://bandwidth-relay.example-team.workers.dev";

interface Account {
	queues: string[];
	databases: string[];
	applied: string[];
	deployed: boolean;
	secrets: string[];
	forwardUrl: string;
	/** Queues per page of `queues list` (Cloudflare pages them). */
	pageSize: number;
}

function newAccount(overrides: Partial<Account> = {}): Account {
	return {
		queues: [],
		databases: [],
		applied: [],
		deployed: false,
		secrets: [],
		forwardUrl: "",
		pageSize: 20,
		...overrides,
	};
}

/** A cli-table3 table as `wrangler queues list` prints it. */
function table(head: string[], rows: string[][]): string {
	if (rows.length === 0) return "";
	const widths = head.map((cell, i) => Math.max(cell.length, ...rows.map((row) => row[i]?.length ?? 0)));
	const line = (cells: string[]) => `│ ${cells.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join(" │ ")} │`;
	const rule = (l: string, m: string, r: string) => `${l}${widths.map((w) => "─".repeat(w + 2)).join(m)}${r}`;
	return [rule("┌", "┬", "┐"), line(head), rule("├", "┼", "┤"), ...rows.map(line), rule("└", "┴", "┘")].join("\n");
}

type Failure = (args: readonly string[]) => CommandResult | null;

function fakeWrangler(account: Account, fail: Failure = () => null) {
	const calls: string[] = [];
	const ok = (output: string): CommandResult => ({ code: 0, output });
	const error = (output: string): CommandResult => ({ code: 1, output: `${BANNER}\n✘ [ERROR] ${output}\n` });

	const run: WranglerRunner = async (args) => {
		calls.push(args.join(" "));
		const injected = fail(args);
		if (injected !== null) return injected;
		const command = args.join(" ");
		if (command.startsWith("queues list")) {
			const page = Number(args[args.indexOf("--page") + 1] ?? 1);
			const rows = account.queues
				.slice((page - 1) * account.pageSize, page * account.pageSize)
				.map((name, i) => [`q${page}${i}`, name, "2026-11-30T10:00:00Z", "2026-11-30T10:00:00Z", "0", "0"]);
			return ok(`${BANNER}${table(["id", "name", "created_on", "modified_on", "producers", "consumers"], rows)}\n`);
		}
		if (args[0] === "queues" && args[1] === "create") {
			const name = args[2] as string;
			if (account.queues.includes(name)) return error(`A queue with name "${name}" already exists. [code: 11009]`);
			account.queues.push(name);
			return ok(`${BANNER}🌀 Creating queue '${name}'\n✅ Created queue '${name}'\n`);
		}
		if (command === "d1 list --json") {
			return ok(
				JSON.stringify(
					account.databases.map((name, i) => ({ uuid: `uuid-${i}`, name })),
					null,
					2,
				),
			);
		}
		if (command === `d1 migrations apply ${DATABASE_BINDING} --remote`) {
			if (!account.databases.includes(DATABASE_NAME)) {
				return error(
					`Couldn't find a D1 DB with the name or binding '${DATABASE_BINDING}' in your wrangler.toml file.`,
				);
			}
			const pending = MIGRATIONS.filter((name) => !account.applied.includes(name));
			account.applied.push(...pending);
			return ok(
				pending.length === 0 ? "✅ No migrations to apply!" : `Migrations to be applied:\n${pending.join("\n")}\n`,
			);
		}
		if (command === "deploy") {
			for (const queue of QUEUES) {
				if (!account.queues.includes(queue)) return error(`Queue "${queue}" does not exist.`);
			}
			let provisioned = "";
			if (!account.databases.includes(DATABASE_NAME)) {
				account.databases.push(DATABASE_NAME);
				provisioned = `Provisioning DB (D1 Database)...\n🌀 Creating new D1 Database "${DATABASE_NAME}"...\n✨ DB provisioned 🎉\n`;
			}
			account.deployed = true;
			return ok(
				`${BANNER}Total Upload: 290.28 KiB / gzip: 74.30 KiB\n${provisioned}` +
					`Your Worker has access to the following bindings:\nenv.FORWARD_URL ("${account.forwardUrl}")   Environment Variable\n` +
					`Uploaded ${WORKER_NAME} (3.2 sec)\nDeployed ${WORKER_NAME} triggers (0.8 sec)\n  ${WORKER_URL}\n` +
					`  schedule: */10 * * * *\n  Producer for bandwidth-relay-forward\nCurrent Version ID: 0a1b2c\n`,
			);
		}
		if (command === "secret list --format json") {
			if (!account.deployed) return error(`Worker "${WORKER_NAME}" not found.`);
			return ok(
				JSON.stringify(
					account.secrets.map((name) => ({ name, type: "secret_text" })),
					null,
					"  ",
				),
			);
		}
		return error(`the fake does not know \`wrangler ${command}\``);
	};
	return { run, calls };
}

const quiet = () => {};

describe("npm run deploy", () => {
	it("on a new account creates both queues, deploys (which creates D1 and R2), then applies the migrations", async () => {
		const account = newAccount();
		const { run, calls } = fakeWrangler(account);
		const report = await deployRelay(run, quiet);

		expect(calls).toEqual([
			"queues list --page 1",
			"queues create bandwidth-relay-forward",
			"queues create bandwidth-relay-forward-dlq",
			"d1 list --json",
			"deploy",
			"d1 migrations apply DB --remote",
			"secret list --format json",
		]);
		expect(account).toMatchObject({ queues: [...QUEUES], databases: [DATABASE_NAME], applied: MIGRATIONS });
		expect(report).toMatchObject({
			createdQueues: [...QUEUES],
			databaseExisted: false,
			workerUrl: WORKER_URL,
			callbackUrl: `${WORKER_URL}/bandwidth/messaging`,
			forwardUrl: "",
		});
		expect(report.missingSecrets.map((secret) => secret.name)).toEqual([
			"BANDWIDTH_USERNAME",
			"BANDWIDTH_PASSWORD",
			"FORWARD_SIGNING_SECRET",
			"ADMIN_TOKEN",
			"BANDWIDTH_CLIENT_ID",
			"BANDWIDTH_CLIENT_SECRET",
		]);
	});

	it("run again creates nothing, and applies migrations before the deploy", async () => {
		const account = newAccount();
		await deployRelay(fakeWrangler(account).run, quiet);
		account.secrets.push(...SECRETS.map((secret) => secret.name));
		MIGRATIONS.push("0003_newer.sql");
		try {
			const { run, calls } = fakeWrangler(account);
			const report = await deployRelay(run, quiet);
			expect(calls).toEqual([
				"queues list --page 1",
				"d1 list --json",
				"d1 migrations apply DB --remote",
				"deploy",
				"secret list --format json",
			]);
			expect(calls.filter((call) => call.includes("create"))).toEqual([]);
			expect(report).toMatchObject({ createdQueues: [], databaseExisted: true, missingSecrets: [] });
			expect(account.queues).toEqual([...QUEUES]);
			expect(account.databases).toEqual([DATABASE_NAME]);
			expect(account.applied).toEqual(MIGRATIONS);
			expect(summary(report)).toContain("Secrets: all set.");
		} finally {
			MIGRATIONS.pop();
		}
	});

	it("creates only the queue that is missing, finding the other on a later page", async () => {
		const others = Array.from({ length: 25 }, (_, i) => `other-queue-${i}`);
		const account = newAccount({ queues: [...others, "bandwidth-relay-forward"], databases: [DATABASE_NAME] });
		const { run, calls } = fakeWrangler(account);
		const report = await deployRelay(run, quiet);
		expect(calls.slice(0, 4)).toEqual([
			"queues list --page 1",
			"queues list --page 2",
			"queues list --page 3",
			"queues create bandwidth-relay-forward-dlq",
		]);
		expect(report.createdQueues).toEqual(["bandwidth-relay-forward-dlq"]);
	});

	it("lists the missing secrets as wrangler secret put lines, with the Bandwidth settings to paste", async () => {
		const account = newAccount({
			// The legacy API user copies media, so the OAuth2 pair is not asked for.
			secrets: ["BANDWIDTH_USERNAME", "ADMIN_TOKEN", "BANDWIDTH_API_USERNAME", "BANDWIDTH_API_PASSWORD"],
			forwardUrl: "https://example.com/hook",
		});
		const report = await deployRelay(fakeWrangler(account).run, quiet);
		expect(report.missingSecrets.map((secret) => secret.name)).toEqual([
			"BANDWIDTH_PASSWORD",
			"FORWARD_SIGNING_SECRET",
		]);
		const text = summary(report);
		expect(text).toContain(`Inbound callback URL:  ${WORKER_URL}/bandwidth/messaging`);
		expect(text).toContain(`Status callback URL:   ${WORKER_URL}/bandwidth/messaging`);
		expect(text).toContain("BANDWIDTH_USERNAME and BANDWIDTH_PASSWORD");
		expect(text).toMatch(/npx wrangler secret put BANDWIDTH_PASSWORD\s+#/);
		expect(text).toMatch(/npx wrangler secret put FORWARD_SIGNING_SECRET\s+#/);
		expect(text).not.toMatch(/secret put (BANDWIDTH_USERNAME|ADMIN_TOKEN|BANDWIDTH_CLIENT_)/);
		expect(text).toContain("503 not_configured");
		expect(text).not.toContain("FORWARD_URL is empty");
	});

	it("says when FORWARD_URL is empty: events would be stored, not forwarded", async () => {
		const report = await deployRelay(fakeWrangler(newAccount()).run, quiet);
		expect(summary(report)).toContain("FORWARD_URL is empty");
	});

	it("stops at a failing step with a clear message, and runs nothing after it", async () => {
		const account = newAccount();
		const { run, calls } = fakeWrangler(account, (args) =>
			args.join(" ") === "queues create bandwidth-relay-forward-dlq"
				? { code: 1, output: "✘ [ERROR] A request to the Cloudflare API failed: Queues require a Workers Paid plan." }
				: null,
		);
		const failure = await deployRelay(run, quiet).catch((error: unknown) => error);
		expect(failure).toBeInstanceOf(DeployStepError);
		const message = (failure as DeployStepError).message;
		expect(message).toContain("Deploy stopped: creating the queue bandwidth-relay-forward-dlq failed");
		expect(message).toContain("wrangler queues create bandwidth-relay-forward-dlq exited with 1");
		expect(message).toContain("Cloudflare Queues need the Workers Paid plan");
		expect(message).toContain("Queues require a Workers Paid plan.");
		expect(message).toContain("run `npm run deploy` again");
		expect(calls.at(-1)).toBe("queues create bandwidth-relay-forward-dlq");
		expect(account.deployed).toBe(false);

		// Fixed, the next run picks up where it stopped: the first queue is not created again.
		const again = fakeWrangler(account);
		const report = await deployRelay(again.run, quiet);
		expect(report.createdQueues).toEqual(["bandwidth-relay-forward-dlq"]);
	});

	it("tells a user who is not logged in to log in", async () => {
		const { run, calls } = fakeWrangler(newAccount(), () => ({
			code: 1,
			output:
				"✘ [ERROR] In a non-interactive environment, it's necessary to set a CLOUDFLARE_API_TOKEN environment variable for wrangler to work.",
		}));
		await expect(deployRelay(run, quiet)).rejects.toThrow(/Log in first: `npx wrangler login`/);
		expect(calls).toEqual(["queues list --page 1"]);
	});

	it("stops when the migrations fail after a first deploy, and the next run applies them first", async () => {
		const account = newAccount();
		let broken = true;
		const { run } = fakeWrangler(account, (args) =>
			broken && args[0] === "d1" && args[1] === "migrations"
				? { code: 1, output: "✘ [ERROR] D1 is unavailable" }
				: null,
		);
		await expect(deployRelay(run, quiet)).rejects.toThrow(/applying the D1 migrations failed/);
		expect(account).toMatchObject({ deployed: true, applied: [] });
		broken = false;
		const next = fakeWrangler(account);
		await deployRelay(next.run, quiet);
		expect(next.calls.indexOf("d1 migrations apply DB --remote")).toBeLessThan(next.calls.indexOf("deploy"));
		expect(account.applied).toEqual(MIGRATIONS);
	});
});

describe("reading wrangler's output", () => {
	it("takes the name column by its header, whatever columns come before it", () => {
		const output = `${BANNER}${table(
			["id", "name", "jurisdiction"],
			[
				["1", "a", "eu"],
				["2", "b", ""],
			],
		)}`;
		expect(tableColumn(output, "name")).toEqual(["a", "b"]);
		expect(tableColumn("", "name")).toEqual([]);
	});

	it("finds the workers.dev URL and FORWARD_URL in the deploy output", () => {
		const output = `Deployed x triggers\n  ${WORKER_URL}\nenv.FORWARD_URL ("https://example.com/h")  Environment Variable`;
		expect(workerUrlIn(output)).toBe(WORKER_URL);
		expect(forwardUrlIn(output)).toBe("https://example.com/h");
		expect(workerUrlIn("Deployed x triggers\n  bandwidth.example.com (custom domain)")).toBeNull();
		expect(summary({ ...emptyReport(), callbackUrl: null, workerUrl: null })).toContain("<the Worker's URL");
	});
});

function emptyReport(): Parameters<typeof summary>[0] {
	return {
		createdQueues: [],
		databaseExisted: true,
		workerUrl: null,
		callbackUrl: null,
		missingSecrets: [],
		forwardUrl: null,
	};
}

describe("the names the script uses", () => {
	const toml = readFileSync(resolve(ROOT, "wrangler.toml"), "utf8");

	it("are wrangler.toml's", () => {
		expect(toml).toMatch(new RegExp(`^name = "${WORKER_NAME}"$`, "m"));
		expect(toml).toMatch(
			new RegExp(`\\[\\[d1_databases\\]\\]\\nbinding = "${DATABASE_BINDING}"\\ndatabase_name = "${DATABASE_NAME}"\\n`),
		);
		expect(toml).toMatch(/^dead_letter_queue = "bandwidth-relay-forward-dlq"$/m);
		for (const queue of QUEUES) expect(toml).toMatch(new RegExp(`^queue = "${queue}"$`, "m"));
	});

	it("leave D1 without a database_id, so that the deploy provisions and finds it by name", () => {
		expect(toml).not.toMatch(/^\s*database_id\s*=/m);
	});

	it("are run by npm run deploy", () => {
		const scripts = JSON.parse(readFileSync(resolve(ROOT, "package.json"), "utf8")).scripts;
		expect(scripts.deploy).toBe("node scripts/deploy.ts");
	});
});

it("stops when wrangler answers something it cannot read, rather than guess", async () => {
	const { run, calls } = fakeWrangler(newAccount(), (args) =>
		args[0] === "d1" && args[1] === "list" ? { code: 0, output: "Something changed in wrangler's output" } : null,
	);
	await expect(deployRelay(run, quiet)).rejects.toThrow(
		/listing the D1 databases failed \(wrangler d1 list --json answered something unreadable\)/,
	);
	expect(calls).not.toContain("deploy");
});
