import { DurableObject } from "cloudflare:workers";
import { DEFAULT_RETENTION_CONFIG } from "../config";
import { errorMessage, log } from "../log";
import { meter } from "../meter/meter";
import { meteredEnv } from "../meter/metered-env";
import { CopierStore } from "./copier-store";
import { BANDWIDTH_MEDIA_WINDOW_MS, decidedState, eventTimeMs, NO_CREDENTIALS, pastWindow } from "./copy-decided";
import { copyFile } from "./copy-file";
import { readMediaConfig } from "./media-config";
import { type MediaItem, type MediaRequest, type MediaState, mediaKey, uncopiedItem } from "./media-state";
import { checkMediaUrl } from "./media-url";

/*
 * One object per inbound MMS (getByName(messageId)): the state of its media copies, and the alarm
 * that copies them, retries them within Bandwidth's 48 hours, and finally purges them. A Durable
 * Object rather than D1 because the forward consumer reads it, and a delivery never needs D1. Per
 * message rather than per ledger bucket: copies take seconds each, and a bucket's thread is shared
 * by every event of its messages.
 */

const HOUR_MS = 60 * 60 * 1000;
const DAY_MS = 24 * HOUR_MS;
/** Seconds between tries of a file, by attempt; the last repeats until the window closes. */
const RETRY_SECONDS = [30, 120, 600, 1800, 3600, 7200];
const FETCH_TIMEOUT_MS = 30_000;
/** An erased message's tombstone outlives the window, so a late forward cannot copy it again. */
const TOMBSTONE_MS = BANDWIDTH_MEDIA_WINDOW_MS + DAY_MS;

/** RETENTION_DAYS' default, for a purge while the settings are invalid (the error is logged elsewhere). */
const FALLBACK_RETENTION_DAYS = DEFAULT_RETENTION_CONFIG.retentionDays;

const STATE = "state";
const ERASED_UNTIL = "erasedUntil"; // the keys src/media/copier-store.ts moves from an older object

export class MediaCopier extends DurableObject<Env> {
	/** Resolvers of callers waiting in copies() for a change. */
	#waiters = new Set<() => void>();
	/** Its state, through the cost meter (rows as the runtime counts them). */
	#storage: CopierStore;

	constructor(ctx: DurableObjectState, env: Env) {
		super(ctx, meteredEnv(env));
		this.#storage = new CopierStore(ctx.storage);
	}

	/** Records the message's media and schedules the copy; a second call only adds a missing origin. */
	async start(request: MediaRequest): Promise<MediaState | null> {
		meter.add("doRequests");
		return this.#start(request);
	}

	async #start(request: MediaRequest): Promise<MediaState | null> {
		if ((await this.#storage.get<number>(ERASED_UNTIL)) !== undefined) return null;
		const existing = await this.#storage.get<MediaState>(STATE);
		if (existing !== undefined) {
			if (existing.origin === null && request.origin !== null) {
				existing.origin = request.origin;
				await this.#storage.put(STATE, existing);
			}
			return existing;
		}
		const now = Date.now();
		const eventTime = eventTimeMs(request.eventTime, now);
		// Too old to copy and never copied: answered, not stored (no object, row or alarm for it).
		const tooOld = pastWindow(eventTime, now);
		if (tooOld !== null) return decidedState(request, eventTime, tooOld, now);
		const config = readMediaConfig(this.env);
		// Its callers ask only with valid settings, credentials and a bucket; a deploy between their
		// check and this one is the only way here without them.
		const noCopy = !config.ok
			? `media settings are invalid: ${config.message}`
			: config.value.credentials === null
				? NO_CREDENTIALS
				: this.env.MEDIA === undefined
					? "no MEDIA bucket is bound"
					: null;
		const items = request.media.map((originalUrl, index): MediaItem => {
			if (noCopy !== null) return uncopiedItem(index, originalUrl, "skipped", noCopy);
			const checked = config.ok ? checkMediaUrl(originalUrl, config.value.hosts, request.messageId) : null;
			if (checked?.ok === false) return uncopiedItem(index, originalUrl, checked.status, checked.reason);
			return uncopiedItem(index, originalUrl, "pending", null);
		});
		const state: MediaState = {
			messageId: request.messageId,
			eventTime,
			startedAt: now,
			origin: request.origin,
			items,
		};
		await this.#storage.put(STATE, state);
		await this.#schedule(state, now);
		return state;
	}

	/**
	 * The copies' state, waiting while any is pending, but never past `waitMs` after the copy
	 * started: a forward waits for its first copy at most that long, and its retries not at all.
	 */
	async copies(request: MediaRequest, waitMs: number): Promise<MediaState | null> {
		meter.add("doRequests");
		let state = await this.#start(request);
		const deadline = (state?.startedAt ?? 0) + waitMs;
		while (state?.items.some((item) => item.status === "pending") && Date.now() < deadline) {
			await new Promise<void>((resolve) => {
				const timer = setTimeout(done, deadline - Date.now());
				const waiters = this.#waiters;
				function done() {
					clearTimeout(timer);
					waiters.delete(done);
					resolve();
				}
				waiters.add(done);
			});
			state = (await this.#storage.get<MediaState>(STATE)) ?? null;
		}
		return state;
	}

	async view(): Promise<MediaState | null> {
		meter.add("doRequests");
		return (await this.#storage.get<MediaState>(STATE)) ?? null;
	}

	/**
	 * Deletes the copies and the state; a tombstone keeps a late forward from copying them again.
	 * A message that never had media (most of an erasure's) gets no tombstone, and so no storage.
	 */
	async erase(): Promise<number> {
		meter.add("doRequests");
		const state = await this.#storage.get<MediaState>(STATE);
		if (state === undefined) return 0;
		const removed = await this.#deleteObjects(state);
		await this.#storage.deleteAll();
		const until = Date.now() + TOMBSTONE_MS;
		await this.#storage.put(ERASED_UNTIL, until);
		await this.#storage.setAlarm(until);
		this.#notify();
		return removed;
	}

	override async alarm(): Promise<void> {
		meter.add("doRequests");
		const now = Date.now();
		const erasedUntil = await this.#storage.get<number>(ERASED_UNTIL);
		if (erasedUntil !== undefined) {
			if (erasedUntil <= now) await this.#storage.deleteAll();
			else await this.#storage.setAlarm(erasedUntil);
			return;
		}
		const state = await this.#storage.get<MediaState>(STATE);
		if (state === undefined) return;
		const config = readMediaConfig(this.env);
		const retentionDays = config.ok ? config.value.retentionDays : FALLBACK_RETENTION_DAYS;
		if (now >= state.eventTime + retentionDays * DAY_MS) {
			// Routine, once per inbound MMS: no log line (Workers Logs bills each one).
			await this.#deleteObjects(state);
			await this.#storage.deleteAll();
			return;
		}
		await this.#copyPending(state, now);
		if ((await this.#storage.get<number>(ERASED_UNTIL)) !== undefined) return;
		await this.#schedule(state, Date.now());
	}

	/** One file at a time: each is held in memory whole while it is hashed. */
	async #copyPending(state: MediaState, now: number): Promise<void> {
		const config = readMediaConfig(this.env);
		const expired = now >= state.eventTime + BANDWIDTH_MEDIA_WINDOW_MS;
		for (const item of state.items) {
			if (item.status !== "pending" || (item.attempts > 0 && this.#dueAt(item) > now && !expired)) continue;
			if (expired) {
				const last = item.reason === null ? "" : `; last: ${item.reason}`;
				Object.assign(item, { status: "expired", reason: `not copied within 48 hours of the event${last}` });
			} else if (!config.ok || config.value.credentials === null || this.env.MEDIA === undefined) {
				Object.assign(item, { status: "skipped", reason: "media copies are not configured" });
			} else {
				const key = mediaKey(state.messageId, item.index);
				const outcome = await copyFile({
					url: item.originalUrl,
					messageId: state.messageId,
					key,
					hosts: config.value.hosts,
					credentials: config.value.credentials,
					maxBytes: config.value.maxBytes,
					bucket: this.env.MEDIA,
					timeoutMs: FETCH_TIMEOUT_MS,
				}).catch((error) => ({ status: "retry" as const, reason: errorMessage(error) }));
				item.attempts += 1;
				item.lastTriedAt = Date.now();
				if (outcome.status === "copied") {
					Object.assign(item, { ...outcome, key, reason: null });
				} else {
					Object.assign(item, {
						status: outcome.status === "retry" ? "pending" : outcome.status,
						reason: outcome.reason,
					});
					log.warn("media_copy_failed", { messageId: state.messageId, index: item.index, ...outcome });
				}
			}
			if (!(await this.#save(state))) {
				// Erased while this file was downloading: what it stored goes too, and nothing more is copied.
				if (item.key !== null && this.env.MEDIA !== undefined) await this.env.MEDIA.delete(item.key);
				return;
			}
		}
	}

	/**
	 * Stores the alarm's copy of the state, unless the message was erased meanwhile (false). A copy
	 * runs while other calls are served: start() may have recorded the origin since it was read.
	 */
	async #save(state: MediaState): Promise<boolean> {
		if ((await this.#storage.get<number>(ERASED_UNTIL)) !== undefined) return false;
		const stored = await this.#storage.get<MediaState>(STATE);
		if (stored === undefined) return false;
		state.origin ??= stored.origin;
		await this.#storage.put(STATE, state);
		this.#notify();
		return true;
	}

	#dueAt(item: MediaItem): number {
		const delay = RETRY_SECONDS[Math.min(item.attempts - 1, RETRY_SECONDS.length - 1)] ?? 0;
		return (item.lastTriedAt ?? 0) + delay * 1000;
	}

	/** The next alarm: the earliest retry (or the window's end), else the purge. */
	async #schedule(state: MediaState, now: number): Promise<void> {
		const pending = state.items.filter((item) => item.status === "pending");
		const windowEnd = state.eventTime + BANDWIDTH_MEDIA_WINDOW_MS;
		let next: number;
		if (pending.length > 0) {
			const due = Math.min(...pending.map((item) => (item.attempts === 0 ? now : this.#dueAt(item))));
			next = Math.min(due, windowEnd);
		} else {
			const config = readMediaConfig(this.env);
			next = state.eventTime + (config.ok ? config.value.retentionDays : FALLBACK_RETENTION_DAYS) * DAY_MS;
		}
		await this.#storage.setAlarm(Math.max(next, now));
	}

	async #deleteObjects(state: MediaState | undefined): Promise<number> {
		const keys = (state?.items ?? []).flatMap((item) => (item.key === null ? [] : [item.key]));
		if (keys.length > 0 && this.env.MEDIA !== undefined) await this.env.MEDIA.delete(keys);
		return keys.length;
	}

	#notify(): void {
		for (const waiter of [...this.#waiters]) waiter();
	}
}
