import { admin } from "./api";
import type { EventDeliveries } from "./types";

/** GET /v1/deliveries/status takes up to this many event ids (and message ids) a call. */
const PER_CALL = 100;

/** An event asked about, with its message when the page knows it: D1 then finds the event by key. */
export type Asked = string | { id: string; messageId: string };

/** Where each delivery of these events stands, by event id (events D1 no longer holds are absent). */
export async function deliveryStatus(events: readonly Asked[]): Promise<Map<string, EventDeliveries>> {
	const messageOf = new Map<string, string | null>();
	for (const event of events) {
		if (typeof event === "string") messageOf.set(event, messageOf.get(event) ?? null);
		else messageOf.set(event.id, event.messageId);
	}
	const unique = [...messageOf.keys()];
	const found = new Map<string, EventDeliveries>();
	for (let start = 0; start < unique.length; start += PER_CALL) {
		const ids = unique.slice(start, start + PER_CALL);
		const messages = [...new Set(ids.map((id) => messageOf.get(id)))].filter((id) => typeof id === "string");
		// Message ids only when every event's is known: one left out would not be found by key.
		const known = messages.length > 0 && ids.every((id) => messageOf.get(id) !== null);
		const params = new URLSearchParams({ eventIds: ids.join(",") });
		if (known) params.set("messageIds", messages.join(","));
		const page = await admin<{ items: EventDeliveries[] }>(`/deliveries/status?${params.toString()}`);
		for (const item of page.items) found.set(item.eventId, item);
	}
	return found;
}
