import { type Context, Hono } from "hono";
import * as v from "valibot";
import { DESTINATION_NAME } from "../../destinations/destination-schema";
import { alertOperatorChange, forgetClear, gateOf } from "../../destinations/gate-client";
import type { GateStatus } from "../../destinations/gate-rpc";
import { type Destination, readDestinations } from "../../destinations/read-destinations";
import type { AppEnv } from "../../http/app-env";
import { ConflictError, MethodNotAllowedError, NotFoundError, ServiceUnavailableError } from "../../http/errors";
import { errorMessage, log } from "../../log";
import type { DestinationStatusSchema, DestinationsResponseSchema } from "../responses";
import { parseInput } from "./params";

export const DestinationParamsSchema = v.object({
	name: v.pipe(v.string(), v.regex(DESTINATION_NAME, "must be a destination's name")),
});

type DestinationStatus = v.InferOutput<typeof DestinationStatusSchema>;

const listOf = (values: ReadonlySet<string> | null) => (values === null ? null : [...values]);

function statusOf(destination: Destination, gate: GateStatus | null): DestinationStatus {
	return {
		name: destination.name,
		url: destination.url,
		filters: {
			applicationIds: listOf(destination.applicationIds),
			owners: listOf(destination.owners),
			types: listOf(destination.types),
			directions: listOf(destination.directions),
		},
		maxPerSecond: destination.maxPerSecond,
		maxConcurrency: destination.maxConcurrency,
		timeoutMs: destination.timeoutMs,
		breaker: gate?.breaker ?? null,
		paused: gate?.paused ?? null,
		pausedBy: gate?.pausedBy ?? null,
		pausedAt: gate?.pausedAt ?? null,
		consecutiveFailures: gate?.consecutiveFailures ?? null,
		nextProbeAt: gate?.nextProbeAt ?? null,
		lastSuccessAt: gate?.lastSuccessAt ?? null,
		lastFailureAt: gate?.lastFailureAt ?? null,
		lastError: gate?.lastError ?? null,
		backlog: gate?.backlog ?? null,
		backlogSince: gate?.backlogSince ?? null,
		recentAttempts: gate?.recent.attempts ?? null,
		recentFailureRate: gate?.recent.failureRate ?? null,
		currentRate: gate?.recent.ratePerSecond ?? null,
		hourly: gate?.hourly ?? null,
	};
}

function destinationsOf(env: object): readonly Destination[] {
	const config = readDestinations(env);
	if (!config.ok) throw new ServiceUnavailableError("config_invalid", `forwarding is misconfigured: ${config.message}`);
	return config.value.list;
}

function destinationNamed(env: object, raw: Record<string, string>): Destination {
	const { name } = parseInput(DestinationParamsSchema, raw, "path");
	const destination = destinationsOf(env).find((candidate) => candidate.name === name);
	if (destination === undefined) throw new NotFoundError(`no destination is named ${name}`);
	return destination;
}

async function gateStatus(env: Env, name: string): Promise<GateStatus | null> {
	try {
		return await gateOf(env, name).status();
	} catch (error) {
		log.error("gate_status_failed", { destination: name, error: errorMessage(error) });
		return null;
	}
}

/** A paused destination keeps every event and drains them once resumed (src/destinations/gate-policy.ts). */
function pauseRoute(action: "pause" | "resume") {
	return async (c: Context<AppEnv>) => {
		const destination = destinationNamed(c.env, c.req.param());
		const { changed, status: after } = await gateOf(c.env, destination.name).setPaused(action === "pause");
		forgetClear(destination.name);
		if (changed) {
			log.warn(`destination_${action}d`, { destination: destination.name, backlog: after.backlog });
			await alertOperatorChange(c.env, destination.name, after);
		}
		return c.json(statusOf(destination, after));
	};
}

/**
 * Sends an open breaker's probe now instead of at its backoff's end: a parked event goes out as
 * the probe (or the next to arrive does). 409 while the breaker is closed: there is nothing to probe.
 */
async function probeRoute(c: Context<AppEnv>) {
	const destination = destinationNamed(c.env, c.req.param());
	const { changed, status } = await gateOf(c.env, destination.name).probe();
	if (!changed)
		throw new ConflictError("breaker_closed", `the breaker of ${destination.name} is closed: nothing to probe`);
	log.warn("destination_probe_requested", { destination: destination.name, backlog: status.backlog });
	return c.json(statusOf(destination, status));
}

export const destinationsRoute = new Hono<AppEnv>()
	.get("/destinations", async (c) => {
		const list = destinationsOf(c.env);
		const gates = await Promise.all(list.map((destination) => gateStatus(c.env, destination.name)));
		const body: v.InferOutput<typeof DestinationsResponseSchema> = {
			items: list.map((destination, index) => statusOf(destination, gates[index] ?? null)),
		};
		return c.json(body);
	})
	.post("/destinations/:name/pause", pauseRoute("pause"))
	.post("/destinations/:name/resume", pauseRoute("resume"))
	.post("/destinations/:name/probe", probeRoute)
	.all("/destinations", () => {
		throw new MethodNotAllowedError(["GET", "HEAD"]);
	})
	.all("/destinations/:name/pause", () => {
		throw new MethodNotAllowedError(["POST"]);
	})
	.all("/destinations/:name/resume", () => {
		throw new MethodNotAllowedError(["POST"]);
	})
	.all("/destinations/:name/probe", () => {
		throw new MethodNotAllowedError(["POST"]);
	});
